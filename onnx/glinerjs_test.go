package onnx

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/infer"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/models"
	"github.com/gliner-go/gliner/models/encoder"
)

// permutedFixture loads fixture with the tokens first moved to vocabulary
// ids 1, 2, ... in that order, in the tokenizer files and in the word
// embedding rows: the same model under other ids. The tokens they displace
// (among ids 1 up to the largest old id of first) follow them in their old
// order. Clients that hard-code special token ids need this: GLiNER.js
// 0.0.19 starts every sequence with id 1 (Processor.encodeInputs: `let
// inputIds = [1]`) and gline-rs with 1 and ends it with 2
// (src/model/input/encoded.rs, EncodedInput::from), the [CLS] and [SEP] of
// DeBERTa-v3, the encoder of the released GLiNER models, whatever the
// tokenizer says; the fixtures' vocabulary has [UNK] 1, [CLS] 2, [SEP] 3.
//
// maxTokens > 0 lifts a DeBERTa fixture's 64-token limit to maxTokens
// (model_max_length and max_position_embeddings, which gliner predict caps
// sequences at) without changing the model: it has no absolute position
// table (position_biased_input false) and keeps its relative-position
// span (max_relative_positions set to the old max_position_embeddings).
func permutedFixture(t *testing.T, fixture string, maxTokens int, first ...string) (*models.Model, tokenizer.Tokenizer) {
	t.Helper()
	dir := testutil.Fixture(t, fixture)
	m, err := models.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c := m.EncCfg; maxTokens > 0 {
		if c.Type() != encoder.DeBERTaV2 || c.PositionBiasedInput {
			t.Fatalf("%s: only a DeBERTa encoder without absolute positions runs past max_position_embeddings", fixture)
		}
		if c.MaxRelativePositions < 1 {
			c.MaxRelativePositions = c.MaxPositionEmbeddings
		}
		c.MaxPositionEmbeddings = maxTokens
	}
	src := filepath.Join(dir, "tokenizer")
	b, err := os.ReadFile(filepath.Join(src, "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	vocab := strings.Split(string(b), "\n")
	hi := 0
	isFirst := map[string]bool{}
	for _, tok := range first {
		i := slices.Index(vocab, tok)
		if i < 1 {
			t.Fatalf("%s: token %q is not in vocab.txt after id 0", fixture, tok)
		}
		hi = max(hi, i)
		isFirst[tok] = true
	}
	// oldID[n] is the old id of the token that gets id n.
	oldID := make([]int, 0, hi)
	for _, tok := range first {
		oldID = append(oldID, slices.Index(vocab, tok))
	}
	for i := 1; i <= hi; i++ {
		if !isFirst[vocab[i]] {
			oldID = append(oldID, i)
		}
	}
	newVocab := slices.Clone(vocab)
	p, ok := m.Store.Get(models.TextEncoderPrefix + ".embeddings.word_embeddings.weight")
	if !ok {
		t.Fatal("no word embeddings")
	}
	D := p.Shape[1]
	rows := slices.Clone(p.Data[:(hi+1)*D])
	for n, o := range oldID {
		newVocab[n+1] = vocab[o]
		copy(p.Data[(n+1)*D:(n+2)*D], rows[o*D:(o+1)*D])
	}
	tokDir := filepath.Join(t.TempDir(), "tokenizer")
	if err := os.Mkdir(tokDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		switch e.Name() {
		case "vocab.txt":
			b = []byte(strings.Join(newVocab, "\n"))
		case "tokenizer_config.json":
			var cfg map[string]any
			if err := json.Unmarshal(b, &cfg); err != nil {
				t.Fatal(err)
			}
			dec, _ := cfg["added_tokens_decoder"].(map[string]any)
			for i := 1; i <= hi; i++ {
				entry, ok := dec[strconv.Itoa(i)].(map[string]any)
				if !ok || entry["content"] != vocab[i] {
					t.Fatalf("%s: tokenizer_config.json has no added token %d %q", fixture, i, vocab[i])
				}
				entry["content"] = newVocab[i]
			}
			if maxTokens > 0 {
				cfg["model_max_length"] = maxTokens
			}
			if b, err = json.MarshalIndent(cfg, "", "  "); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(tokDir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := tokenizer.Load(tokDir)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range first {
		if id, _ := tok.TokenToID(want); id != i+1 {
			t.Fatalf("%s: %s has id %d after the permutation, want %d", fixture, want, id, i+1)
		}
	}
	return m, tok
}

// corpusLines are the non-empty lines of testdata/sample/corpus.txt.
func corpusLines(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "testdata", "sample", "corpus.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) != "" {
			out = append(out, line)
		}
	}
	return out
}

// oneWindow keeps the texts that gliner predict runs in one window with
// labels: it cuts a text into windows when prompt and text exceed the
// fixture encoder's 64 positions, which GLiNER.js and gline-rs never do.
func oneWindow(t *testing.T, p *infer.Pipeline, m *models.Model, tok tokenizer.Tokenizer, texts, labels []string) []string {
	t.Helper()
	cc := data.DefaultCollatorConfig(m.Arch)
	cc.MaxWidth, cc.MaxTypes, cc.MaxLen = m.Cfg.MaxWidth, m.Cfg.MaxTypes, m.Cfg.MaxLen
	col, err := data.NewCollator(cc, tok, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var fit []string
	for _, text := range texts {
		var words []string
		for _, w := range data.SplitWords(text) {
			words = append(words, w.Text)
		}
		b, err := col.Inference([]data.Example{{Words: words}}, labels, nil)
		if err != nil {
			t.Fatal(err)
		}
		if b.InputIDs.Shape[1] <= p.MaxTokens() {
			fit = append(fit, text)
		}
	}
	return fit
}

type jsEntity struct {
	SpanText string  `json:"spanText"`
	Start    int     `json:"start"`
	End      int     `json:"end"`
	Label    string  `json:"label"`
	Score    float64 `json:"score"`
}

// TestGLiNERJS runs GLiNER.js (npm gliner 0.0.19 on onnxruntime-node, no
// network) on the exported UniEncoderSpan folder over the lines of
// testdata/sample/corpus.txt and requires that every entity gliner-go's
// prediction pipeline (what gliner predict runs) finds is among GLiNER.js's
// scored spans with the same text offsets and label, its score within 1e-4.
//
// GLiNER.js's own final selection is switched off ("raw"): it differs from
// the reference's greedy_search. It tests overlap on character offsets
// with the inclusive word-index rule (hasOverlapping), so spans that touch
// without a space ("2015" and ".") overlap, and its word splitter's \w is
// ASCII-only, so "Chloé" is two words; lines with non-ASCII letters are left
// out for that reason, and so are lines that gliner predict would cut into
// windows (see below).
func TestGLiNERJS(t *testing.T) {
	js := jsDir(t)
	m, tok := permutedFixture(t, "uni_span_deberta", 0, "[CLS]")
	out := filepath.Join(t.TempDir(), "model")
	if err := Export(m, tok, nil, out, Options{}, false); err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, line := range corpusLines(t) {
		ascii := true
		for _, r := range line {
			ascii = ascii && r < 128
		}
		if ascii {
			texts = append(texts, line)
		}
	}
	labels := []string{"person", "organization", "location", "date"}
	p, err := infer.New(m, tok)
	if err != nil {
		t.Fatal(err)
	}
	texts = oneWindow(t, p, m, tok, texts, labels)
	want, err := p.Predict(texts, labels, infer.Options{Threshold: 0.5, FlatNER: true})
	if err != nil {
		t.Fatal(err)
	}

	tmp := t.TempDir()
	write := func(name string, v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(tmp, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	res := filepath.Join(tmp, "out.json")
	cmd := exec.Command("node", filepath.Join(js, "gliner_js.mjs"), out, write("texts.json", texts), write("labels.json", labels),
		"4", "0.5", res, "raw")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GLiNER.js: %v\n%s", err, b)
	}
	var got [][]jsEntity
	testutil.ReadJSON(t, res, &got)
	if len(got) != len(texts) {
		t.Fatalf("GLiNER.js returned %d results for %d texts", len(got), len(texts))
	}
	n, worst := 0, 0.0
	for i := range texts {
		for _, w := range want[i] {
			found, d := 0, 0.0
			for _, g := range got[i] {
				if g.Start == w.Start && g.End == w.End && g.Label == w.Label {
					found++
					if g.SpanText != w.Text {
						t.Errorf("text %d: GLiNER.js span text %q, gliner-go %q", i, g.SpanText, w.Text)
					}
					d = math.Abs(g.Score - w.Score)
					if d > 1e-4 {
						t.Errorf("text %d %q: entity %+v: GLiNER.js score %v", i, texts[i], w, g.Score)
					}
				}
			}
			if found > 1 {
				t.Errorf("text %d: GLiNER.js scored %+v %d times", i, w, found)
			}
			worst = math.Max(worst, d)
			if found == 0 {
				t.Errorf("text %d %q: gliner-go entity %+v is not among GLiNER.js's spans", i, texts[i], w)
			}
			n++
		}
	}
	t.Logf("%d texts, %d gliner-go entities all scored by GLiNER.js; max score difference %.3g", len(texts), n, worst)
	if n == 0 {
		t.Fatal("no entity to compare")
	}
	if worst > 1e-4 {
		t.Errorf("scores differ by %g (> 1e-4)", worst)
	}
}
