package bench

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/models"
	"github.com/gliner-go/gliner/train"
)

// The configuration of /work/shared/reference/bench_reference.py: a
// UniEncoderSpan model over a DeBERTa-v2 encoder (hidden 256, 4 layers, 4
// heads, intermediate 1024, vocabulary 8000 plus the two prompt markers),
// GLiNER hidden 256, max_width 12, dropout 0.4; a batch of 8 texts of 100
// words, 28 of which split into two WordPieces, with all 25 entity types in
// the prompt (sequence length 181).
const (
	benchVocab    = 8000
	benchWords    = 100
	benchSplit    = 28
	benchTypes    = 25
	benchBatch    = 8
	benchMaxWidth = 12
)

// benchSize is the shape of a benchmark model and batch: the encoder's
// hidden size, layers, heads, FFN width and vocabulary, the batch's texts,
// words per text (split of them into two WordPieces), entity types and
// max_width. smallBench is bench_reference.py's.
type benchSize struct {
	Hidden, Layers, Heads, FFN, Vocab int
	Batch, Words, Split, Types        int
	MaxWidth                          int
	Dropout                           float64 // the encoder's hidden and attention dropout
}

var smallBench = benchSize{Hidden: 256, Layers: 4, Heads: 4, FFN: 1024, Vocab: benchVocab,
	Batch: benchBatch, Words: benchWords, Split: benchSplit, Types: benchTypes, MaxWidth: benchMaxWidth, Dropout: 0.1}

// seqLen is the collated sequence length: [CLS], the prompt (<<ENT>> and
// the label per type, <<SEP>>), the text's pieces and [SEP].
func (z benchSize) seqLen() int { return 2 + 2*z.Types + 1 + z.Words + z.Split }

const benchEncoderConfig = `{"model_type":"deberta-v2","vocab_size":%d,"hidden_size":%d,"num_hidden_layers":%d,
"num_attention_heads":%d,"intermediate_size":%d,"hidden_act":"gelu","hidden_dropout_prob":%g,
"attention_probs_dropout_prob":%g,"max_position_embeddings":512,"type_vocab_size":0,"relative_attention":true,
"max_relative_positions":-1,"position_buckets":256,"pos_att_type":["p2c","c2p"],"norm_rel_ebd":"layer_norm",
"share_att_key":true,"position_biased_input":false,"pad_token_id":0,"layer_norm_eps":1e-7}`

// benchWordList is the reference script's vocabulary body: w0 … w7954 and
// the continuation piece ##x.
func benchWordList(vocab int) []string {
	words := make([]string, 0, vocab-5-40+1)
	for i := range vocab - 5 - 40 {
		words = append(words, fmt.Sprintf("w%d", i))
	}
	return append(words, "##x")
}

func benchLabels(types int) []string {
	labels := make([]string, types)
	for i := range labels {
		labels[i] = fmt.Sprintf("type%d", i)
	}
	return labels
}

// benchTokenizer writes the reference script's vocab.txt and
// tokenizer_config.json to a temporary folder, loads it and adds [FLERT] and
// the prompt markers, as GLiNER does on load (gliner/model.py
// resize_embeddings: vocabulary 8003, <<ENT>> = 8001).
func benchTokenizer(tb testing.TB, vocabSize int, words, labels []string) tokenizer.Tokenizer {
	dir := tb.TempDir()
	vocab := append([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}, words...)
	vocab = append(vocab, labels...)
	for i := 0; len(vocab) < vocabSize; i++ {
		vocab = append(vocab, fmt.Sprintf("[unused%d]", i))
	}
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(strings.Join(vocab, "\n")+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	cfg := `{"do_lower_case": true, "tokenizer_class": "BertTokenizer", "model_max_length": 512}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644); err != nil {
		tb.Fatal(err)
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		tb.Fatal(err)
	}
	tok.AddSpecialTokens("[FLERT]", "<<ENT>>", "<<SEP>>")
	return tok
}

// encoderConfig is the DeBERTa-v2 config.json of size z with the given
// vocabulary size.
func (z benchSize) encoderConfig(vocab int) string {
	return fmt.Sprintf(benchEncoderConfig, vocab, z.Hidden, z.Layers, z.Heads, z.FFN, z.Dropout, z.Dropout)
}

// benchBatchAndModel collates the benchmark batch and builds the randomly
// initialised model (training mode, dropout as configured).
func benchBatchAndModel(tb testing.TB) (*data.Batch, *models.Model) {
	b, m := benchBatchAndModelSized(tb, smallBench)
	if got := b.InputIDs.Shape; len(got) != 2 || got[0] != benchBatch || got[1] != 181 {
		tb.Fatalf("input_ids shape %v, want [8 181] as in bench_reference.py", got)
	}
	return b, m
}

// benchBatchAndModelSized is benchBatchAndModel at size z.
func benchBatchAndModelSized(tb testing.TB, z benchSize) (*data.Batch, *models.Model) {
	words, labels := benchWordList(z.Vocab), benchLabels(z.Types)
	tok := benchTokenizer(tb, z.Vocab, words, labels)
	rng := rand.New(rand.NewPCG(0, 0))
	exs := make([]data.Example, z.Batch)
	for i := range exs {
		ws := make([]string, z.Words)
		for j := range ws {
			ws[j] = words[rng.IntN(len(words)-1)]
		}
		for _, j := range rng.Perm(z.Words)[:z.Split] {
			ws[j] += "x"
		}
		var ents []data.Entity
		for s := 0; s < z.Words-5; s += 10 {
			ents = append(ents, data.Entity{Start: s, End: s + rng.IntN(4), Label: labels[rng.IntN(len(labels))]})
		}
		exs[i] = data.Example{Words: ws, Entities: ents, Source: fmt.Sprintf("bench example %d", i)}
	}
	ccfg := data.DefaultCollatorConfig(data.UniEncoderSpan)
	ccfg.MaxWidth = z.MaxWidth
	ccfg.MaxNegTypeRatio = 0
	coll, err := data.NewCollator(ccfg, tok, nil, 0)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := coll.Collate(exs, data.CollateOptions{Labels: [][]string{labels}, Targets: true})
	if err != nil {
		tb.Fatal(err)
	}
	if got := b.InputIDs.Shape; len(got) != 2 || got[0] != z.Batch || got[1] != z.seqLen() {
		tb.Fatalf("input_ids shape %v, want [%d %d]", got, z.Batch, z.seqLen())
	}

	cfg := models.DefaultConfig()
	cfg.ModelName = "bench"
	cfg.HiddenSize = z.Hidden
	cfg.MaxWidth = z.MaxWidth
	cfg.Dropout = 0.4
	cfg.MaxLen = max(384, z.Words)
	cfg.MaxTypes = z.Types
	cfg.MaxNegTypeRatio = 0
	cfg.SpanMode = "markerV0"
	cfg.NumRNNLayers = 1
	cfg.VocabSize = tok.VocabSize()
	ent, ok := tok.TokenToID(cfg.EntToken)
	if !ok {
		tb.Fatalf("tokenizer has no %q", cfg.EntToken)
	}
	cfg.ClassTokenIndex = ent
	cfg.EncoderConfig = json.RawMessage(z.encoderConfig(tok.VocabSize()))
	m, err := models.New(&cfg)
	if err != nil {
		tb.Fatal(err)
	}
	m.Initialize(1)
	return b, m
}

// BenchmarkUniEncoderSpanTrainStep times one training step of the
// bench_reference.py model and batch, as that script times it: zero the
// gradients, forward+backward, AdamW (lr 1e-5, weight decay 0.01).
func BenchmarkUniEncoderSpanTrainStep(b *testing.B) {
	benchTrainStep(b, true)
}

// BenchmarkUniEncoderSpanFwdBwd is the same step without the optimizer.
func BenchmarkUniEncoderSpanFwdBwd(b *testing.B) {
	benchTrainStep(b, false)
}

func benchTrainStep(b *testing.B, withOptimizer bool) {
	batch, m := benchBatchAndModel(b)
	n := 0
	for _, p := range m.Store.Params() {
		n += len(p.Data)
	}
	opt, err := train.NewAdamW([]*train.Group{{Name: "all", BaseLR: 1e-5, LR: 1e-5, WeightDecay: 0.01, Params: m.Store.Params()}},
		train.AdamWOptions{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
	if err != nil {
		b.Fatal(err)
	}
	// The first step compiles the graph for this batch shape.
	if _, err := m.Step(batch); err != nil {
		b.Fatal(err)
	}
	trained := map[*autograd.Param]bool{}
	for _, p := range m.TrainedParams(batch) {
		trained[p] = true
	}
	if withOptimizer {
		// The first AdamW step allocates the moments (once per run, not
		// per step); take it here so that B/op is the steady state.
		opt.Step(func(p *autograd.Param) bool { return trained[p] })
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		m.Store.ZeroGrad()
		// StepLoss, as the trainer (finetune) calls it: no outputs are
		// copied out of the arena.
		loss, err := m.StepLoss(batch)
		if err != nil {
			b.Fatal(err)
		}
		if !(loss > 0) {
			b.Fatalf("loss %v", loss)
		}
		if withOptimizer {
			opt.Step(func(p *autograd.Param) bool { return trained[p] })
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n), "params")
}
