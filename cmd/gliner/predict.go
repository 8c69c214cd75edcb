package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/gliner-go/gliner/autograd/cuda"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/infer"
	"github.com/gliner-go/gliner/internal/fileio"
	"github.com/gliner-go/gliner/models/encoder"
)

func init() {
	registerCommand(newPredictCmd)
	registerCommand(newEvaluateCmd)
	registerCommand(newExportCmd)
}

// modelFlags are the flags every model command shares.
type modelFlags struct {
	model, tokenizer, labelsTokenizer, decoderTokenizer string
	// device is --device (addDevice): cpu, cuda or cuda:N.
	device string
}

// addDevice registers --device on the commands that run the model
// (predict, evaluate, labels embed).
func (m *modelFlags) addDevice(cmd *cobra.Command) {
	cmd.Flags().StringVar(&m.device, "device", "cpu", "where the model runs: cpu, cuda or cuda:N (CUDA needs a binary built with -tags glcuda)")
}

func (m *modelFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&m.model, "model", "", "GLiNER model folder (gliner_config.json, model.safetensors or pytorch_model.bin, tokenizer files) (required)")
	cmd.Flags().StringVar(&m.tokenizer, "tokenizer", "", "tokenizer folder (default: <model>/tokenizer if it exists, else <model>)")
	cmd.Flags().StringVar(&m.labelsTokenizer, "labels-tokenizer", "", "bi-encoders: the labels encoder's tokenizer folder (default: <model>/labels_tokenizer)")
	cmd.Flags().StringVar(&m.decoderTokenizer, "decoder-tokenizer", "", "span decoders: the labels decoder's tokenizer folder (default: <model>/decoder_tokenizer)")
	_ = cmd.MarkFlagRequired("model")
}

// checkDevice refuses a --device the model cannot run on. Only the CPU
// runs models today: any other device is refused with the reason (build
// tag, missing GPU, or not wired yet), before any file is read.
func (m *modelFlags) checkDevice() error {
	_, err := cuda.Select("--device", m.device)
	return err
}

func (m *modelFlags) load() (*infer.Pipeline, error) {
	if err := m.checkDevice(); err != nil {
		return nil, err
	}
	return infer.LoadWith(m.model, infer.LoadOptions{TokenizerDir: m.tokenizer, LabelsTokenizerDir: m.labelsTokenizer, DecoderTokenizerDir: m.decoderTokenizer})
}

// predictFlags are the decoding and batching flags of predict and evaluate.
type predictFlags struct {
	threshold             float64
	flatNER, multiLabel   bool
	batch, window, stride int
	buckets               bool
	labels                []string
	relations             []string
	relThreshold          float64
	labelMode             string
	maxNewTokens          int
	constrainLabels       bool
	referenceCompat       bool
	numBeams              int
	lengthPenalty         float64
	earlyStopping         bool
	sample                bool
	temperature           float64
	topK                  int
	topP                  float64
	seed                  uint64
}

// add registers the decoding flags. evaluating gives evaluate's default of
// exact batch shapes (--buckets=false): training's dev evaluation
// (finetune.Evaluate) batches exact shapes, and a padded batch rounds its
// logits differently (~1e-6), enough to move a score across the threshold
// on some BLAS kernels, so evaluate scores bit for bit the F1 a run printed.
func (p *predictFlags) add(cmd *cobra.Command, evaluating bool) {
	f := cmd.Flags()
	f.Float64Var(&p.threshold, "threshold", 0.5, "a span's probability must be strictly greater")
	f.BoolVar(&p.flatNER, "flat-ner", true, "forbid overlapping entities (false: allow nested ones)")
	f.BoolVar(&p.multiLabel, "multi-label", false, "let one span carry several labels")
	f.IntVar(&p.batch, "batch-size", 8, "windows per forward pass")
	f.IntVar(&p.window, "window", 0, "most words per window (default: the model's max_len)")
	f.IntVar(&p.stride, "stride", 0, "words between window starts for long texts (default: half a window)")
	f.BoolVar(&p.buckets, "buckets", !evaluating, "pad batches to shape buckets so compiled graphs are reused (logits agree to ~1e-6)")
	f.StringSliceVar(&p.labels, "labels", nil, "entity labels, comma-separated (order = class ids)")
	f.StringSliceVar(&p.relations, "relations", nil, "relation-extraction models: relation types, comma-separated (order = relation class ids)")
	f.Float64Var(&p.relThreshold, "relation-threshold", 0, "relation-extraction models: a relation's probability must be strictly greater (default: --threshold)")
	f.StringVar(&p.labelMode, "label-mode", "", "span decoders: what generated labels do: enrich (entities keep their label and gain generated_labels), replace (the generated label becomes the label) or off (default: the model's, replace for decoder_mode prompt, else enrich; evaluate: off)")
	f.IntVar(&p.maxNewTokens, "max-new-tokens", 0, "span decoders: most tokens of a generated label (default: 15, the reference's)")
	f.BoolVar(&p.constrainLabels, "constrain-labels", false, "span decoders: generate only labels from --labels (the reference's label trie)")
	f.IntVar(&p.numBeams, "num-beams", 1, "decoders: beam search with this many beams (1: greedy search), as Hugging Face's generate")
	f.Float64Var(&p.lengthPenalty, "length-penalty", 1, "decoders, beam search: a finished label's score is its log-probability / length^this")
	f.BoolVar(&p.earlyStopping, "early-stopping", false, "decoders, beam search: stop a span once --num-beams labels are finished")
	f.BoolVar(&p.sample, "sample", false, "decoders: sample labels instead of greedy search (see --temperature, --top-k, --top-p, --seed)")
	f.Float64Var(&p.temperature, "temperature", 1, "decoders, --sample: divide the scores by this")
	f.IntVar(&p.topK, "top-k", 50, "decoders, --sample: keep the k best tokens (0: all)")
	f.Float64Var(&p.topP, "top-p", 1, "decoders, --sample: keep the most probable tokens whose probability sums to this")
	f.Uint64Var(&p.seed, "seed", 0, "decoders, --sample: random seed (the same seed draws the same labels)")
	f.BoolVar(&p.referenceCompat, "reference-compat", false, "reproduce the reference's quirks (span decoders: its generation prefix layout and padding attention; see docs/reference_differences.md)")
}

// checkRelations says clearly when --relations does not fit the model:
// a relex model needs it (evaluate: unless the data has relations), the
// other models refuse it.
func (p *predictFlags) checkRelations(pl *infer.Pipeline, cmd string, dataHasRelations bool) error {
	relex := pl.Model.Relex() != nil
	switch {
	case relex && len(p.relations) == 0 && !dataHasRelations:
		return fmt.Errorf("%s: %s is a relation-extraction model (%v): it needs the relation types, give them with --relations a,b,c", cmd, pl.Dir, pl.Model.Arch)
	case !relex && len(p.relations) > 0:
		return fmt.Errorf("%s: --relations is for relation-extraction models; %s is a %v model, which predicts no relations", cmd, pl.Dir, pl.Model.Arch)
	}
	return nil
}

func (p *predictFlags) options(stderr io.Writer) infer.Options {
	return infer.Options{Threshold: p.threshold, FlatNER: p.flatNER, MultiLabel: p.multiLabel, BatchSize: p.batch,
		WindowWords: p.window, Stride: p.stride, Buckets: p.buckets, Progress: progress(stderr),
		Relations: p.relations, RelationThreshold: p.relThreshold,
		LabelMode: p.labelMode, MaxNewTokens: p.maxNewTokens, ConstrainLabels: p.constrainLabels, Search: p.search()}
}

// search is the decoders' generation strategy of the flags.
func (p *predictFlags) search() encoder.GPT2Generation {
	lp := p.lengthPenalty
	topK := p.topK
	if topK == 0 {
		topK = -1 // the flag's 0 means no top-k filter
	}
	return encoder.GPT2Generation{NumBeams: p.numBeams, LengthPenalty: &lp, EarlyStopping: p.earlyStopping,
		DoSample: p.sample, Temperature: p.temperature, TopK: topK, TopP: p.topP, Seed: p.seed}
}

// checkGeneration says clearly when the label-generation flags do not fit
// the model (only span decoders generate labels) and applies
// --reference-compat.
func (p *predictFlags) checkGeneration(cmd *cobra.Command, pl *infer.Pipeline) error {
	if pl.Model.Decoder() == nil {
		for _, f := range []string{"label-mode", "max-new-tokens", "constrain-labels", "num-beams", "length-penalty", "early-stopping", "sample", "temperature", "top-k", "top-p", "seed"} {
			if cmd.Flags().Changed(f) {
				return fmt.Errorf("%s: --%s is for span-decoder models (%v); %s is a %v model, which generates no labels",
					cmd.Name(), f, data.ArchitecturesThat(data.Architecture.Decoder), pl.Dir, pl.Model.Arch)
			}
		}
	}
	if p.referenceCompat {
		pl.Model.Loss.ReferenceCompat = true
	}
	if p.numBeams < 1 {
		return fmt.Errorf("%s: --num-beams %d must be ≥ 1", cmd.Name(), p.numBeams)
	}
	if p.sample && p.numBeams > 1 {
		return fmt.Errorf("%s: --sample with --num-beams %d (beam sampling) is not supported", cmd.Name(), p.numBeams)
	}
	if !(p.temperature > 0) || p.topK < 0 || !(p.topP > 0 && p.topP <= 1) {
		return fmt.Errorf("%s: --temperature %v must be > 0, --top-k %d ≥ 0 and --top-p %v in (0, 1]", cmd.Name(), p.temperature, p.topK, p.topP)
	}
	return nil
}

// progress returns a progress line (windows done, rate, ETA) rewritten in
// place on stderr when it is a terminal, else nil.
func progress(w io.Writer) func(done, total int) {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	start := time.Now()
	return func(done, total int) {
		el := time.Since(start).Seconds()
		rate := float64(done) / max(el, 1e-9)
		eta := time.Duration(float64(total-done)/max(rate, 1e-9)) * time.Second
		fmt.Fprintf(f, "\r%d/%d windows  %.1f/s  ETA %s   ", done, total, rate, eta.Round(time.Second))
		if done == total {
			fmt.Fprintln(f)
		}
	}
}

func newPredictCmd() *cobra.Command {
	var mf modelFlags
	var pf predictFlags
	var input, from, output, logits, labelEmb string
	cmd := &cobra.Command{
		Use:   "predict",
		Short: "Find entities in texts or a dataset and write them as JSONL",
		Long: `Predict entities with a GLiNER model.

Input (--input): plain text (.txt, or --from text), one document per line,
split into words with the reference's splitter; or any dataset format the
"data" commands read: records of pre-split words get character offsets into
the words joined by single spaces; raw-text records ({"text", "entities"} in
JSONL) get offsets into their text. Gold entities are ignored.

Output (--output): one JSON object per input line (.txt: blank lines give
empty lists) or per dataset record, {"entities": [{"start", "end", "text",
"label", "score", "start_word", "end_word"}]}: start/end are Unicode code
point offsets (end exclusive), start_word/end_word inclusive word indices.
The file is written atomically: on any error no output file is left.

Texts longer than the model accepts (max_len words, model_max_length
sub-tokens with the label prompt) are cut into overlapping windows, never
truncated; entities found by several windows are kept once (highest score)
and the union is selected again under --flat-ner/--multi-label.

Relation-extraction models (UniEncoderSpanRelex, UniEncoderTokenRelex) need --relations (the
relation types); each output line then also has "relations": [{"head",
"tail", "label", "score"}], head and tail being indices into that line's
"entities". --relation-threshold defaults to --threshold (the reference's
default, also used for the entity pairs). Relations are predicted within
a window; after merging windows, a relation is kept when both its
entities survive.

Decoder models (UniEncoderSpanDecoder, UniEncoderTokenDecoder) also name
every span they keep (best class probability above --threshold; the token
decoder's spans are proposed from its token scores) with their GPT-2
labels decoder, as Hugging Face's generate does it: greedy search, beam
search with --num-beams (and --length-penalty, --early-stopping), or
sampling with --sample (--temperature, --top-k, --top-p, --seed: the same
seed draws the same labels); at most --max-new-tokens tokens (default 15),
only labels from --labels with --constrain-labels. Each entity then has "generated_labels":
[label] (the decoded text, with the tokenizer's leading space); a token
decoder's entity comes from its token scores, and one whose span no decoder
row took (best span-class probability not above the keep threshold) has no
"generated_labels". With
--label-mode enrich the entity keeps its class label; with replace its
"label" is the generated label (spaces trimmed; the class label stays when
that is empty); off generates nothing. The default is the model's:
replace for decoder_mode "prompt", else enrich. Windows: an entity found by
several windows keeps the generated label of its best-scoring window.
Generation masks the prefix padding (a span's label does not depend on its
batch); --reference-compat lays out and attends the prefix as the reference
does (as its labels are), and then batches are not padded to --buckets.

--logits FILE.safetensors writes the raw logits: one batch as tensor
"logits" in the reference's shape (B, W, K, C), several batches as
"logits.0", "logits.1", ... (their W and C may differ); metadata "labels"
and "rows"/"rows.N" ([input, first word, words] per row) say what each row is.
For span decoders these are the entity (span × class) logits, exactly as
for span models; the decoder's token scores are not written.

"-" is standard input (--input; name its format with --from) or standard
output (--output, --logits). A regular output file is written atomically
(a temporary file renamed into place); a device or pipe (/dev/stdout) is
written directly; a directory is refused. No output may be the input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := mf.checkDevice(); err != nil {
				return err
			}
			if input == "" || output == "" {
				return fmt.Errorf("predict: --input and --output are required")
			}
			if err := distinctPaths(1, [][2]string{{"--input", input}, {"--output", output}, {"--logits", logits}}); err != nil {
				return fmt.Errorf("predict: %w", err)
			}
			if len(pf.labels) == 0 && labelEmb == "" {
				return fmt.Errorf("predict: --labels is empty: give the entity labels, comma-separated")
			}
			exs, err := readPredictInput(input, from, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			p, err := mf.load()
			if err != nil {
				return err
			}
			if err := pf.checkRelations(p, "predict", false); err != nil {
				return err
			}
			if err := pf.checkGeneration(cmd, p); err != nil {
				return err
			}
			if labelEmb != "" {
				le, err := loadLabelEmbeddings(labelEmb)
				if err != nil {
					return err
				}
				if err := p.UseLabelEmbeddings(le); err != nil {
					return fmt.Errorf("%s: %w", labelEmb, err)
				}
			}
			o := pf.options(cmd.ErrOrStderr())
			o.KeepLogits = logits != ""
			res, err := p.PredictExamples(exs, pf.labels, o)
			if err != nil {
				return fmt.Errorf("%s: %w", input, err)
			}
			if logits != "" {
				if err := infer.WriteLogits(logits, res.Logits); err != nil {
					return err
				}
			}
			var buf bytes.Buffer
			for i, ents := range res.Entities {
				var rels *[]infer.Relation // relex models only, [] when none
				if res.Relations != nil {
					rels = &res.Relations[i]
				}
				b, err := json.Marshal(struct {
					Entities  []infer.Entity    `json:"entities"`
					Relations *[]infer.Relation `json:"relations,omitempty"`
				}{ents, rels})
				if err != nil {
					return err
				}
				buf.Write(b)
				buf.WriteByte('\n')
			}
			out, err := fileio.CreateWith(output, cmd.OutOrStdout())
			if err != nil {
				return fmt.Errorf("predict: %w", err)
			}
			if _, err := out.Write(buf.Bytes()); err != nil {
				out.Abort()
				return fmt.Errorf("write %s: %w", output, err)
			}
			if err := out.Commit(); err != nil {
				return err
			}
			n := 0
			for _, e := range res.Entities {
				n += len(e)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d inputs, %d windows (%d inputs split), %d entities%s\n",
				output, len(exs), res.Windows, res.Split, n, relationCount(res))
			return nil
		},
	}
	mf.add(cmd)
	mf.addDevice(cmd)
	pf.add(cmd, false)
	f := cmd.Flags()
	f.StringVar(&input, "input", "", "input file: .txt (one document per line) or a dataset (required)")
	f.StringVar(&from, "from", "", "input format (default: from the extension)")
	f.StringVar(&output, "output", "", "output JSONL file (required)")
	f.StringVar(&logits, "logits", "", "also write the raw logits to this .safetensors file")
	f.StringVar(&labelEmb, "label-embeddings", "", "bi-encoders: label embeddings `FILE` written by gliner labels embed (the labels encoder is not run; --labels may name a subset, default all)")
	return cmd
}

// distinctPaths refuses two of a command's files (flag name, path; an
// empty path is not given) that are the same file, or two outputs both "-"
// (standard output). The first nIn files are inputs: an input "-" is
// standard input and does not clash with an output "-".
func distinctPaths(nIn int, files [][2]string) error {
	for i, a := range files {
		for j := i + 1; j < len(files); j++ {
			b := files[j]
			if a[1] == "" || b[1] == "" {
				continue
			}
			if a[1] == fileio.Stdio && b[1] == fileio.Stdio && i >= nIn {
				return fmt.Errorf("%s and %s are both - (standard output): give one of them a file", a[0], b[0])
			}
			if fileio.SameFile(a[1], b[1]) {
				return fmt.Errorf("%s %s and %s %s are the same file: name another one", a[0], a[1], b[0], b[1])
			}
		}
	}
	return nil
}

// readDataset reads a whole dataset, failing on the first bad example, and
// writes the readers' warnings (an unknown key, ...) to warn.
func readDataset(path string, opts data.ReadOptions, warn io.Writer) ([]data.Example, error) {
	rep := &data.Report{}
	exs, err := data.ReadFile(path, opts, data.FailFast, rep)
	printWarnings(warn, rep)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return exs, nil
}

// printWarnings writes a report's warnings, one a line.
func printWarnings(w io.Writer, rep *data.Report) {
	for _, wn := range rep.Warnings {
		fmt.Fprintln(w, wn)
	}
}

// readPredictInput reads the documents to predict on. Plain text keeps
// every line (blank lines become empty documents) so output lines match
// input lines; other formats are read with the data readers, failing on
// the first bad record.
func readPredictInput(path, from string, warn io.Writer) ([]data.Example, error) {
	f, err := data.ParseFormat(from)
	if err != nil {
		return nil, err
	}
	if f == data.FormatAuto {
		if f, err = data.FormatFromPath(path); err != nil {
			return nil, err
		}
	}
	if f != data.FormatText {
		return readDataset(path, data.ReadOptions{Format: f}, warn)
	}
	fh, err := fileio.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer fh.Close()
	name := fileio.DisplayName(path)
	var exs []data.Example
	br := bufio.NewReaderSize(fh, 1<<16)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("read %s:%d: %w", path, line, err)
		}
		if len(b) == 0 && err == io.EOF {
			break
		}
		b = bytes.TrimRight(b, "\r\n")
		if !utf8.Valid(b) {
			return nil, fmt.Errorf("read %s:%d: invalid UTF-8", path, line)
		}
		ex := data.ExampleFromText(string(b))
		ex.Source = fmt.Sprintf("%s:%d", name, line)
		exs = append(exs, ex)
		if err == io.EOF {
			break
		}
	}
	return exs, nil
}

func newEvaluateCmd() *cobra.Command {
	var mf modelFlags
	var pf predictFlags
	var dataPath, from string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "evaluate",
		Short: "Score a model on an annotated dataset: micro and per-label precision, recall, F1",
		Long: `Evaluate as the reference's model.evaluate does: predictions and gold
entities are (label, start word, end word, document) sets; micro and
per-label P/R/F1 at threshold 0.5. Decoding is flat (--flat-ner=true), as
in training's dev evaluation (cmd/train, finetune.Evaluate), so a model
scores here the F1 its training run printed (batches keep their exact
shapes, as there: --buckets=false is evaluate's default); --flat-ner=false decodes
nested entities, the default of the reference's model.evaluate. Labels
default to every label in the data, sorted. --json prints the scores as
one JSON object instead of tables.

A relation-extraction model also gets its relations scored as the
reference's relex evaluator does: (type, head words, tail words,
document) sets, strict (both entity spans and the type must match), micro
and per-type P/R/F1. Relation types come from --relations, else every
relation type in the data, sorted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := mf.checkDevice(); err != nil {
				return err
			}
			if dataPath == "" {
				return fmt.Errorf("evaluate: --data is required")
			}
			if cmd.Flags().Changed("labels") && len(pf.labels) == 0 {
				return fmt.Errorf("evaluate: --labels is empty")
			}
			f, err := data.ParseFormat(from)
			if err != nil {
				return err
			}
			exs, err := readDataset(dataPath, data.ReadOptions{Format: f}, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			p, err := mf.load()
			if err != nil {
				return err
			}
			if err := pf.checkRelations(p, "evaluate", len(infer.DataRelationLabels(exs)) > 0); err != nil {
				return err
			}
			if err := pf.checkGeneration(cmd, p); err != nil {
				return err
			}
			labels := pf.labels
			if labels == nil {
				labels = infer.DataLabels(exs)
				if len(labels) == 0 {
					return fmt.Errorf("evaluate: %s has no entities: give --labels", dataPath)
				}
			} else if err := checkLabelsInData(labels, exs, dataPath, cmd.ErrOrStderr()); err != nil {
				return err
			}
			m, rm, err := p.EvaluateRelations(exs, labels, pf.options(cmd.ErrOrStderr()))
			if err != nil {
				return fmt.Errorf("%s: %w", dataPath, err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeEvaluationJSON(out, dataPath, labels, m, rm, pf, exs)
			}
			fmt.Fprintf(out, "%s: %d documents, labels %s, threshold %v, flat_ner %v\n", dataPath, m.Docs(),
				strings.Join(labels, ","), pf.threshold, pf.flatNER)
			if err := m.WriteTable(out); err != nil {
				return err
			}
			return writeRelationTable(out, rm, pf, exs)
		},
	}
	mf.add(cmd)
	mf.addDevice(cmd)
	pf.add(cmd, true)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the scores as one JSON object (micro, per label, relations) instead of tables")
	cmd.Flags().StringVar(&dataPath, "data", "", "annotated dataset (any format the data commands read) (required)")
	cmd.Flags().StringVar(&from, "from", "", "data format (default: from the extension)")
	return cmd
}
