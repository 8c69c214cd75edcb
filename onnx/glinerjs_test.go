package onnx

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/infer"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/models"
)

// clsFirstFixture is uni_span_deberta with the vocabulary ids of [UNK] (1)
// and [CLS] (2) swapped, in the tokenizer files and in the word embedding
// rows: the same model, but with [CLS] at id 1. GLiNER.js 0.0.19 starts
// every sequence with id 1 (the [CLS] of DeBERTa-v3, the encoder of the
// released GLiNER models) whatever the tokenizer says
// (Processor.encodeInputs: `let inputIds = [1]`), so only such a model can
// give GLiNER.js and gliner-go the same input ids.
func clsFirstFixture(t *testing.T) (*models.Model, tokenizer.Tokenizer) {
	t.Helper()
	dir := testutil.Fixture(t, "uni_span_deberta")
	m, err := models.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := m.Store.Get(models.TextEncoderPrefix + ".embeddings.word_embeddings.weight")
	if !ok {
		t.Fatal("no word embeddings")
	}
	D := p.Shape[1]
	for j := 0; j < D; j++ {
		p.Data[D+j], p.Data[2*D+j] = p.Data[2*D+j], p.Data[D+j]
	}
	tokDir := filepath.Join(t.TempDir(), "tokenizer")
	if err := os.Mkdir(tokDir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "tokenizer")
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		switch e.Name() {
		case "vocab.txt":
			lines := strings.Split(s, "\n")
			if lines[1] != "[UNK]" || lines[2] != "[CLS]" {
				t.Fatalf("vocab.txt starts %q", lines[:3])
			}
			lines[1], lines[2] = lines[2], lines[1]
			s = strings.Join(lines, "\n")
		case "tokenizer_config.json":
			s = strings.NewReplacer(`"content": "[UNK]"`, `"content": "[CLS]"`, `"content": "[CLS]"`, `"content": "[UNK]"`).Replace(s)
		}
		if err := os.WriteFile(filepath.Join(tokDir, e.Name()), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := tokenizer.Load(tokDir)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := tok.TokenToID("[CLS]"); id != 1 {
		t.Fatalf("[CLS] has id %d after the swap", id)
	}
	return m, tok
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
	m, tok := clsFirstFixture(t)
	out := filepath.Join(t.TempDir(), "model")
	if err := Export(m, tok, nil, out, Options{}, false); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(testutil.RepoRoot(t), "testdata", "sample", "corpus.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var texts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		ascii := true
		for _, r := range line {
			ascii = ascii && r < 128
		}
		if strings.TrimSpace(line) != "" && ascii {
			texts = append(texts, line)
		}
	}
	labels := []string{"person", "organization", "location", "date"}
	p, err := infer.New(m, tok)
	if err != nil {
		t.Fatal(err)
	}
	// gliner predict cuts a text into windows when prompt and text exceed
	// the fixture encoder's 64 positions; GLiNER.js never does. Keep the
	// lines that fit in one window.
	cc := data.DefaultCollatorConfig(data.UniEncoderSpan)
	cc.MaxWidth, cc.MaxTypes, cc.MaxLen = m.Cfg.MaxWidth, m.Cfg.MaxTypes, m.Cfg.MaxLen
	col, err := data.NewCollator(cc, tok, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	fit := texts[:0]
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
	texts = fit
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
