package infer

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/models"
)

var spanFixtures = []string{"uni_span_bert", "uni_span_deberta"}

// uniFixtures are the uni-encoder fixtures, span and token models.
var uniFixtures = []string{"uni_span_bert", "uni_span_deberta", "uni_token_bert", "uni_token_deberta"}

// modelFixtures are the fixtures the pipeline runs: uni- and bi-encoders.
var modelFixtures = append(uniFixtures[:len(uniFixtures):len(uniFixtures)], "bi_span_deberta", "bi_token_deberta", "uni_span_decoder_deberta")

type fixtureBatch struct {
	Examples []struct {
		Words []string `json:"tokenized_text"`
	} `json:"examples"`
	EntityTypes []string `json:"entity_types"`
}

type decodedEntity struct {
	Start      int     `json:"start"`
	End        int     `json:"end"`
	EntityType string  `json:"entity_type"`
	Score      float64 `json:"score"`
}

type fixtureExpected struct {
	Logits  testutil.JSONTensor `json:"logits"`
	Decoded map[string]struct {
		Threshold  float64           `json:"threshold"`
		FlatNER    bool              `json:"flat_ner"`
		MultiLabel bool              `json:"multi_label"`
		Entities   [][]decodedEntity `json:"entities"`
	} `json:"decoded"`
}

func loadFixture(t *testing.T, name string) (*Pipeline, []data.Example, []string, *fixtureExpected) {
	t.Helper()
	dir := testutil.Fixture(t, name)
	// The bi-encoder fixtures' labels encoder uses the base WordPiece
	// vocabulary at the fixture's top level (320 ids, its embedding rows;
	// tokenizer/ adds GLiNER's tokens, which the labels encoder lacks).
	p, err := LoadWith(dir, LoadOptions{LabelsTokenizerDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var b fixtureBatch
	testutil.ReadJSON(t, filepath.Join(dir, "batch.json"), &b)
	var exp fixtureExpected
	testutil.ReadJSON(t, filepath.Join(dir, "expected.json"), &exp)
	exs := make([]data.Example, len(b.Examples))
	for i, e := range b.Examples {
		exs[i] = data.Example{Words: e.Words}
	}
	return p, exs, b.EntityTypes, &exp
}

// TestPredictMatchesReferenceDecoding checks every decoding setting of the
// fixtures (threshold 0.5 and the low threshold, flat and nested, multi-label)
// against the reference decoder's output: same entities in the same order,
// scores within 1e-4.
func TestPredictMatchesReferenceDecoding(t *testing.T) {
	compared := map[string]int{}
	for _, name := range modelFixtures {
		t.Run(name, func(t *testing.T) {
			p, exs, labels, exp := loadFixture(t, name)
			if len(exp.Decoded) < 4 {
				t.Fatalf("%d decoded settings in expected.json, want at least 4", len(exp.Decoded))
			}
			for setting, want := range exp.Decoded {
				o := DefaultOptions()
				o.Threshold, o.FlatNER, o.MultiLabel = want.Threshold, want.FlatNER, want.MultiLabel
				o.KeepLogits = true
				res, err := p.PredictExamples(exs, labels, o)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Entities) != len(want.Entities) {
					t.Fatalf("%s: %d texts, want %d", setting, len(res.Entities), len(want.Entities))
				}
				n := 0
				for i := range want.Entities {
					got, w := res.Entities[i], want.Entities[i]
					if p.arch.TokenLevel() {
						// The reference's token decoder runs over the padded
						// width and can emit entities on padding words (text 1
						// has 7 words, the batch 8); decode does not (see
						// decode.Tokens). Where it did, those entities also
						// blocked others in the greedy selection, so there we
						// check that every reference entity inside the text is
						// found (same span, label, score), not the exact list.
						if in := withinText(w, len(exs[i].Words)); len(in) < len(w) {
							for _, r := range in {
								if !containsEntity(got, r) {
									t.Errorf("%s text %d: reference entity %+v not found in %v", setting, i, r, got)
								}
								n++
							}
							continue
						}
					}
					if len(got) != len(w) {
						t.Errorf("%s text %d: %d entities %v, want %d %v", setting, i, len(got), got, len(w), w)
						continue
					}
					for j := range w {
						g := got[j]
						if g.StartWord != w[j].Start || g.EndWord != w[j].End || g.Label != w[j].EntityType || !testutil.CloseScalar(g.Score, w[j].Score, testutil.Prob) {
							t.Errorf("%s text %d entity %d: %+v, want %+v", setting, i, j, g, w[j])
						}
						// Words joined by single spaces: the text is the words.
						if want := strings.Join(exs[i].Words[g.StartWord:g.EndWord+1], " "); g.Text != want {
							t.Errorf("%s: text %q, want %q", setting, g.Text, want)
						}
						n++
					}
				}
				compared[name] += n
				// Raw logits: one batch, the reference's (B, W, K, C) or (B, W, C, 3).
				if len(res.Logits) != 1 {
					t.Fatalf("%d logits batches, want 1", len(res.Logits))
				}
				lg := res.Logits[0]
				if fmtShape(lg.Shape) != fmtShape(exp.Logits.Shape) {
					t.Fatalf("logits shape %v, want %v", lg.Shape, exp.Logits.Shape)
				}
				if !testutil.AssertCloseJSON(t, "logits", lg.Data, exp.Logits, testutil.Forward) {
					t.FailNow()
				}
			}
		})
	}
	for _, name := range modelFixtures {
		if compared[name] < 10 {
			t.Errorf("%s: only %d entities compared over all settings", name, compared[name])
		}
	}
}

// genSpans wraps decoded spans without generated labels.
func genSpans(spans []decode.Span) []models.GenSpan {
	out := make([]models.GenSpan, len(spans))
	for i, s := range spans {
		out[i].Span = s
	}
	return out
}

func containsEntity(got []Entity, r decodedEntity) bool {
	for _, g := range got {
		if g.StartWord == r.Start && g.EndWord == r.End && g.Label == r.EntityType && testutil.CloseScalar(g.Score, r.Score, testutil.Prob) {
			return true
		}
	}
	return false
}

func withinText(ents []decodedEntity, words int) []decodedEntity {
	var out []decodedEntity
	for _, e := range ents {
		if e.End < words {
			out = append(out, e)
		}
	}
	return out
}

func fmtShape(s []int) string { b, _ := json.Marshal(s); return string(b) }

// TestBucketsDoNotChangeResults pads batches to the shape buckets and
// checks logits and entities are those of the unpadded run.
func TestBucketsDoNotChangeResults(t *testing.T) {
	p, exs, labels, _ := loadFixture(t, "uni_span_deberta")
	o := DefaultOptions()
	o.KeepLogits = true
	plain, err := p.PredictExamples(exs, labels, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Buckets = true
	padded, err := p.PredictExamples(exs, labels, o)
	if err != nil {
		t.Fatal(err)
	}
	a, b := plain.Logits[0], padded.Logits[0]
	if fmtShape(a.Shape) != fmtShape(b.Shape) {
		t.Fatalf("padded logits shape %v, want %v", b.Shape, a.Shape)
	}
	for i := range a.Data {
		if math.Abs(float64(a.Data[i]-b.Data[i])) > 1e-5 {
			t.Fatalf("logits[%d]: padded %v, plain %v", i, b.Data[i], a.Data[i])
		}
	}
	for i := range plain.Entities {
		a, b := plain.Entities[i], padded.Entities[i]
		if len(a) != len(b) {
			t.Fatalf("text %d: %d entities padded, %d plain", i, len(b), len(a))
		}
		for j := range a {
			x, y := a[j], b[j]
			if x.Start != y.Start || x.End != y.End || x.Label != y.Label || x.Text != y.Text || math.Abs(x.Score-y.Score) > 1e-5 {
				t.Errorf("text %d entity %d: padded %+v, plain %+v", i, j, y, x)
			}
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCharacterOffsets checks the word → character mapping on texts with
// accents, CJK and emoji (offsets in code points, as Python's str).
func TestCharacterOffsets(t *testing.T) {
	text := "Zoë  visited 東京 🙂 and São-Paulo."
	ex := data.ExampleFromText(text)
	wantWords := []string{"Zoë", "visited", "東京", "🙂", "and", "São-Paulo", "."}
	if strings.Join(ex.Words, "|") != strings.Join(wantWords, "|") {
		t.Fatalf("words %q, want %q", ex.Words, wantWords)
	}
	spans := []decode.Span{{Start: 0, End: 0, Label: "person", Score: 0.9},
		{Start: 2, End: 3, Label: "city", Score: 0.8}, {Start: 5, End: 6, Label: "city", Score: 0.7}}
	got, err := toEntities(&ex, genSpans(spans), false)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entity{
		{Start: 0, End: 3, Text: "Zoë", Label: "person", Score: float64(float32(0.9)), StartWord: 0, EndWord: 0},
		{Start: 13, End: 17, Text: "東京 🙂", Label: "city", Score: float64(float32(0.8)), StartWord: 2, EndWord: 3},
		{Start: 22, End: 32, Text: "São-Paulo.", Label: "city", Score: float64(float32(0.7)), StartWord: 5, EndWord: 6},
	}
	if mustJSON(t, got) != mustJSON(t, want) {
		t.Errorf("got  %s\nwant %s", mustJSON(t, got), mustJSON(t, want))
	}
	// Pre-split words: offsets into the words joined by single spaces.
	words := data.Example{Words: []string{"東京", "is", "big"}}
	got, err = toEntities(&words, genSpans([]decode.Span{{Start: 1, End: 2, Label: "x", Score: 0.5}}), false)
	if err != nil {
		t.Fatal(err)
	}
	if g := got[0]; g.Start != 3 || g.End != 9 || g.Text != "is big" {
		t.Errorf("pre-split: %+v, want [3, 9) \"is big\"", g)
	}
}

// TestPredictRawTextMapsToCharacters runs the fixture model on raw text
// and checks every entity's offsets cut exactly its text from the input.
func TestPredictRawTextMapsToCharacters(t *testing.T) {
	p, _, labels, _ := loadFixture(t, "uni_span_bert")
	texts := []string{"Alice Brown joined Microsoft in London yesterday.", "", "   ", "Berlin is the capital of Germany."}
	o := DefaultOptions()
	o.Threshold = 0.3
	res, err := p.PredictExamples(examplesOf(texts), labels, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entities[1]) != 0 || len(res.Entities[2]) != 0 || res.Entities[1] == nil {
		t.Errorf("empty texts: %v %v, want empty lists", res.Entities[1], res.Entities[2])
	}
	total := 0
	for i, ents := range res.Entities {
		r := []rune(texts[i])
		for _, e := range ents {
			if string(r[e.Start:e.End]) != e.Text || e.Score <= 0.3 {
				t.Errorf("text %d: %+v does not cut its text", i, e)
			}
			total++
		}
	}
	if total == 0 {
		t.Errorf("no entity found at threshold 0.3")
	}
	// Predict on strings gives the same entities.
	ents, err := p.Predict(texts, labels, o)
	if err != nil {
		t.Fatal(err)
	}
	if mustJSON(t, ents) != mustJSON(t, res.Entities) {
		t.Errorf("Predict and PredictExamples differ")
	}
}

func examplesOf(texts []string) []data.Example {
	exs := make([]data.Example, len(texts))
	for i, s := range texts {
		exs[i] = data.ExampleFromText(s)
	}
	return exs
}

// TestWindowsOfLongText: a text longer than max_len words is cut into
// overlapping windows covering every word, each within the sub-token
// limit, and its entities in the first window are those of the first
// window predicted alone.
func TestWindowsOfLongText(t *testing.T) {
	p, exs, labels, _ := loadFixture(t, "uni_span_bert")
	if p.MaxWords() != 64 || p.MaxTokens() != 64 {
		t.Fatalf("fixture limits %d words, %d tokens; want 64, 64", p.MaxWords(), p.MaxTokens())
	}
	// 10 copies of the first example: 80 words.
	var words []string
	for range 10 {
		words = append(words, exs[0].Words...)
	}
	long := data.Example{Words: words}
	prompt, _, err := p.Tokenizer.EncodeWords(p.prompt(labels, nil))
	if err != nil {
		t.Fatal(err)
	}
	wins, err := p.windows(&long, len(prompt), 64, 32)
	if err != nil {
		t.Fatal(err)
	}
	if len(wins) < 2 || wins[0][0] != 0 || wins[len(wins)-1][1] != len(words) {
		t.Fatalf("windows %v do not cover %d words", wins, len(words))
	}
	for k, w := range wins {
		ids, _, err := p.Tokenizer.EncodeWords(append(p.prompt(labels, nil), words[w[0]:w[1]]...))
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) > 64 {
			t.Errorf("window %d %v has %d sub-tokens > 64", k, w, len(ids))
		}
		if k > 0 && w[0] > wins[k-1][1] {
			t.Errorf("gap between windows %v and %v", wins[k-1], w)
		}
	}
	o := DefaultOptions()
	o.Stride = 32
	o.KeepLogits = true
	res, err := p.PredictExamples([]data.Example{long}, labels, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Split != 1 || res.Windows != len(wins) || len(res.Logits[0].Rows) != len(wins) {
		t.Fatalf("split %d windows %d, want 1 and %d", res.Split, res.Windows, len(wins))
	}
	ents := res.Entities[0]
	if len(ents) == 0 {
		t.Fatal("no entities in the long text")
	}
	for i, e := range ents {
		if i > 0 && e.StartWord <= ents[i-1].EndWord {
			t.Errorf("flat result overlaps: %+v after %+v", e, ents[i-1])
		}
		if e.Text != strings.Join(words[e.StartWord:e.EndWord+1], " ") {
			t.Errorf("entity %+v text mismatch", e)
		}
	}
	// Entities past the last window start are found, not truncated away.
	if last := ents[len(ents)-1]; last.EndWord < wins[len(wins)-1][0] {
		t.Errorf("no entity in the last window %v (last entity %+v)", wins[len(wins)-1], last)
	}
	// Merge rule: same span from two windows is kept once with the best
	// score, then greedy selection again.
	// A span decoder's generated label comes with the winning window.
	gen := func(s decode.Span, l string) models.GenSpan { return models.GenSpan{Span: s, Generated: []string{l}} }
	merged := mergeWindows([]models.GenSpan{gen(decode.Span{Start: 3, End: 4, Label: "b", Score: 0.6}, " w1"),
		gen(decode.Span{Start: 3, End: 4, Label: "b", Score: 0.8}, " w2"), gen(decode.Span{Start: 4, End: 5, Label: "a", Score: 0.7}, " w2"),
		gen(decode.Span{Start: 0, End: 0, Label: "a", Score: 0.55}, " w1")}, []string{"a", "b"}, true, false)
	if want := []models.GenSpan{gen(decode.Span{Start: 0, End: 0, Label: "a", Score: 0.55}, " w1"),
		gen(decode.Span{Start: 3, End: 4, Label: "b", Score: 0.8}, " w2")}; mustJSON(t, merged) != mustJSON(t, want) {
		t.Errorf("merged %s, want %s", mustJSON(t, merged), mustJSON(t, want))
	}
}

func TestPredictErrors(t *testing.T) {
	p, exs, labels, _ := loadFixture(t, "uni_span_bert")
	for name, c := range map[string]struct {
		labels []string
		o      func(*Options)
		want   string
	}{
		"no labels":    {nil, nil, "no labels"},
		"empty label":  {[]string{"a", " "}, nil, "labels"},
		"threshold":    {labels, func(o *Options) { o.Threshold = 1.5 }, "threshold 1.5"},
		"window":       {labels, func(o *Options) { o.WindowWords = 65 }, "max_len"},
		"stride":       {labels, func(o *Options) { o.Stride = 100 }, "stride 100"},
		"huge prompts": {manyLabels(40), nil, "leaving none"},
	} {
		o := DefaultOptions()
		if c.o != nil {
			c.o(&o)
		}
		_, err := p.PredictExamples(exs, c.labels, o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
	}
}

func manyLabels(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "label" + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	return out
}
