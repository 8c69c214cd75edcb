package decode

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/internal/testutil"
)

type refEntity struct {
	Start      int     `json:"start"`
	End        int     `json:"end"`
	EntityType string  `json:"entity_type"`
	Score      float64 `json:"score"`
}

type refDecoded struct {
	Threshold  float64       `json:"threshold"`
	FlatNER    bool          `json:"flat_ner"`
	MultiLabel bool          `json:"multi_label"`
	Entities   [][]refEntity `json:"entities"`
}

type fixture struct {
	probs    []float32
	shape    []int
	numWords []int
	labels   [][]string
	decoded  map[string]refDecoded
}

func loadFixture(t *testing.T, name string) fixture {
	t.Helper()
	dir := testutil.Fixture(t, name)
	var e struct {
		Probs   testutil.JSONTensor   `json:"probs"`
		Decoded map[string]refDecoded `json:"decoded"`
	}
	var b struct {
		Inference struct {
			Tokens      [][]string          `json:"tokens"`
			IDToClasses []map[string]string `json:"id_to_classes"`
		} `json:"collated_inference"`
	}
	testutil.ReadJSON(t, filepath.Join(dir, "expected.json"), &e)
	testutil.ReadJSON(t, filepath.Join(dir, "batch.json"), &b)
	probs, err := e.Probs.Float32s()
	if err != nil {
		t.Fatalf("%s probs: %v", name, err)
	}
	f := fixture{probs: probs, shape: e.Probs.Shape, decoded: e.Decoded}
	if len(f.decoded) == 0 {
		t.Fatalf("%s: no decoded entries", name)
	}
	for i, toks := range b.Inference.Tokens {
		f.numWords = append(f.numWords, len(toks))
		m := b.Inference.IDToClasses[i]
		labels := make([]string, len(m))
		for k, v := range m {
			id, err := strconv.Atoi(k)
			if err != nil || id < 1 || id > len(m) {
				t.Fatalf("%s: id_to_classes key %q", name, k)
			}
			labels[id-1] = v
		}
		f.labels = append(f.labels, labels)
	}
	return f
}

func fmtSpans(s []Span) string {
	var b strings.Builder
	for _, x := range s {
		fmt.Fprintf(&b, "(%d,%d,%s,%.5f) ", x.Start, x.End, x.Label, x.Score)
	}
	return b.String()
}

func compareDecoded(t *testing.T, key string, doc int, got []Span, want []refEntity) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		w := want[i]
		ok = got[i].Start == w.Start && got[i].End == w.End && got[i].Label == w.EntityType &&
			testutil.CloseScalar(float64(got[i].Score), w.Score, testutil.Prob)
	}
	if !ok {
		var ws []Span
		for _, w := range want {
			ws = append(ws, Span{w.Start, w.End, w.EntityType, float32(w.Score)})
		}
		t.Errorf("%s doc %d:\n got  %s\n want %s", key, doc, fmtSpans(got), fmtSpans(ws))
	}
}

func TestFixtureSpanDecoding(t *testing.T) {
	for _, name := range []string{"uni_span_bert", "uni_span_deberta", "bi_span_deberta", "uni_span_relex_deberta", "uni_span_decoder_deberta"} {
		t.Run(name, func(t *testing.T) {
			f := loadFixture(t, name)
			sh := f.shape
			for key, d := range f.decoded {
				o := Options{Threshold: d.Threshold, FlatNER: d.FlatNER, MultiLabel: d.MultiLabel}
				got, err := SpanBatch(f.probs, sh[0], sh[1], sh[2], sh[3], f.numWords, f.labels, o)
				if err != nil {
					t.Fatal(err)
				}
				if len(d.Entities) != sh[0] {
					t.Fatalf("%s: %d entity lists for %d texts", key, len(d.Entities), sh[0])
				}
				for i := range got {
					compareDecoded(t, key, i, got[i], d.Entities[i])
				}
			}
		})
	}
}

// The reference decodes token models over the padded width W, so it may emit
// spans that reach padding words. Decoding over the full width (numWords = W)
// must reproduce its output exactly; decoding inside each text's length must
// give the reference's in-text entities, plus only those that a reference
// span over padding blocked.
func TestFixtureTokenDecoding(t *testing.T) {
	for _, name := range []string{"uni_token_bert", "uni_token_deberta", "bi_token_deberta"} {
		t.Run(name, func(t *testing.T) {
			f := loadFixture(t, name)
			sh := f.shape
			full := make([]int, sh[0])
			for i := range full {
				full[i] = sh[1]
			}
			extras := 0
			for key, d := range f.decoded {
				o := Options{Threshold: d.Threshold, FlatNER: d.FlatNER, MultiLabel: d.MultiLabel}
				gotFull, err := TokenBatch(f.probs, sh[0], sh[1], sh[2], full, f.labels, o)
				if err != nil {
					t.Fatal(err)
				}
				got, err := TokenBatch(f.probs, sh[0], sh[1], sh[2], f.numWords, f.labels, o)
				if err != nil {
					t.Fatal(err)
				}
				for i := range got {
					compareDecoded(t, key+" full width", i, gotFull[i], d.Entities[i])
					var want []refEntity
					var padding []Span
					for _, w := range d.Entities[i] {
						if w.End < f.numWords[i] {
							want = append(want, w)
						} else {
							padding = append(padding, Span{w.Start, w.End, w.EntityType, float32(w.Score)})
						}
					}
					// Drop from ours the spans a reference padding span blocked.
					var kept []Span
					for _, g := range got[i] {
						blocked := false
						for _, p := range padding {
							if conflicts(g, p, o.FlatNER, o.MultiLabel) && p.Score >= g.Score {
								blocked = true
							}
						}
						if blocked {
							extras++
						} else {
							kept = append(kept, g)
						}
					}
					compareDecoded(t, key+" in text", i, kept, want)
				}
			}
			t.Logf("%s: %d in-text entities the reference lost to padding spans", name, extras)
		})
	}
}

func TestGreedyModes(t *testing.T) {
	cands := []Span{
		{0, 3, "a", 0.9},
		{1, 2, "b", 0.8}, // nested in (0,3)
		{2, 5, "c", 0.7}, // partial overlap with (0,3)
		{0, 3, "d", 0.6}, // same span, other label
		{6, 6, "e", 0.5},
		{4, 4, "f", 0.5}, // tie with (6,6): keeps its later order
	}
	cases := []struct {
		flat, multi bool
		want        []Span
	}{
		{true, false, []Span{{0, 3, "a", 0.9}, {4, 4, "f", 0.5}, {6, 6, "e", 0.5}}},
		{false, false, []Span{{0, 3, "a", 0.9}, {1, 2, "b", 0.8}, {4, 4, "f", 0.5}, {6, 6, "e", 0.5}}},
		{false, true, []Span{{0, 3, "a", 0.9}, {0, 3, "d", 0.6}, {1, 2, "b", 0.8}, {4, 4, "f", 0.5}, {6, 6, "e", 0.5}}},
		{true, true, []Span{{0, 3, "a", 0.9}, {0, 3, "d", 0.6}, {4, 4, "f", 0.5}, {6, 6, "e", 0.5}}},
	}
	for _, c := range cases {
		got := Greedy(cands, c.flat, c.multi)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("flat %v multi %v:\n got  %s\n want %s", c.flat, c.multi, fmtSpans(got), fmtSpans(c.want))
		}
	}
	// Ties in score keep candidate order: the first of two equal-score
	// overlapping spans wins.
	got := Greedy([]Span{{0, 1, "x", 0.5}, {1, 2, "y", 0.5}}, true, false)
	if len(got) != 1 || got[0].Label != "x" {
		t.Errorf("tie: %s, want x", fmtSpans(got))
	}
}

func TestTokensRule(t *testing.T) {
	// 4 words, 1 class: start at 0, end at 2, inside 0..2 above threshold,
	// word 3 has a start/end but its inside is below.
	p := []float32{
		0.9, 0.1, 0.8, // w0 start, end, inside
		0.2, 0.1, 0.7,
		0.1, 0.6, 0.65,
		0.9, 0.9, 0.3,
	}
	got, err := Tokens(p, 4, 1, 4, []string{"x"}, Options{Threshold: 0.5, FlatNER: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []Span{{0, 2, "x", 0.6}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %s, want %s", fmtSpans(got), fmtSpans(want))
	}
	// Words beyond the text length are not decoded.
	got, _ = Tokens(p, 4, 1, 2, []string{"x"}, Options{Threshold: 0.5, FlatNER: true})
	if len(got) != 0 {
		t.Errorf("text of 2 words decoded %s", fmtSpans(got))
	}
	if _, err := Tokens(p[:5], 4, 1, 4, []string{"x"}, Options{Threshold: 0.5}); err == nil {
		t.Error("short probs accepted")
	}
}

func TestSpansBounds(t *testing.T) {
	// W=3, K=2, C=1: span (2, k=1) runs past a 3-word text.
	p := []float32{0.6, 0.1, 0.1, 0.7, 0.1, 0.9}
	got, err := Spans(p, 3, 2, 1, 3, []string{"x"}, Options{Threshold: 0.5, FlatNER: false})
	if err != nil {
		t.Fatal(err)
	}
	want := []Span{{0, 0, "x", 0.6}, {1, 2, "x", 0.7}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %s, want %s", fmtSpans(got), fmtSpans(want))
	}
	// Strict threshold: 0.6 itself is not a candidate.
	got, _ = Spans(p, 3, 2, 1, 3, []string{"x"}, Options{Threshold: 0.6})
	if want := []Span{{1, 2, "x", 0.7}}; !reflect.DeepEqual(got, want) {
		t.Errorf("threshold 0.6 (strict): got %s, want %s", fmtSpans(got), fmtSpans(want))
	}
	if _, err := Spans(p, 3, 2, 1, 4, []string{"x"}, Options{Threshold: 0.5}); err == nil {
		t.Error("more words than the probs cover accepted")
	}
}

func TestSpanList(t *testing.T) {
	probs := []float32{0.9, 0.2, 0.6, 0.7, 0.95, 0.1}
	idx := [][2]int{{0, 1}, {1, 2}, {3, 3}}
	got, err := SpanList(probs, idx, []bool{true, true, false}, 2, []string{"a", "b"}, Options{Threshold: 0.5, FlatNER: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []Span{{0, 1, "a", 0.9}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %s, want %s", fmtSpans(got), fmtSpans(want))
	}
}
