package infer

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/models"
)

const decoderFixture = "uni_span_decoder_deberta"

// decoderReference is the reference's flat decoding at threshold 0.5 with
// its generated labels (max_new_tokens 8).
type decoderReference struct {
	Threshold  float64 `json:"threshold"`
	FlatNER    bool    `json:"flat_ner"`
	Generation struct {
		MaxNewTokens int `json:"max_new_tokens"`
	} `json:"generation"`
	Entities [][]struct {
		decodedEntity
		Generated []string `json:"generated_labels"`
	} `json:"entities"`
}

func loadDecoderFixture(t *testing.T) (*Pipeline, []data.Example, []string, *decoderReference) {
	t.Helper()
	p, exs, labels, _ := loadFixture(t, decoderFixture)
	var exp struct {
		Decoded map[string]decoderReference `json:"decoded"`
	}
	testutil.ReadJSON(t, filepath.Join(testutil.Fixture(t, decoderFixture), "expected.json"), &exp)
	ref, ok := exp.Decoded["thr=0.500000,flat_ner=True"]
	if !ok || ref.Threshold != 0.5 || !ref.FlatNER || ref.Generation.MaxNewTokens != 8 || len(ref.Entities) != len(exs) {
		t.Fatalf("fixture %s: no flat threshold-0.5 decoding with 8 new tokens for %d texts", decoderFixture, len(exs))
	}
	return p, exs, labels, &ref
}

// decoderOptions are the reference run's settings.
func decoderOptions(mode string) Options {
	o := DefaultOptions()
	o.MaxNewTokens = 8
	o.LabelMode = mode
	return o
}

// nearTie is the top-2 score gap below which the reference's sampling at
// temperature 0.01 may pick the second token (exp(-0.05/0.01) ≈ 0.7%).
const nearTie = 0.05

// generationMargins runs the model on the fixture batch and returns, per
// kept-span row (batch-major), the gap between the top two processed
// scores at each greedy step, with the kept spans.
func generationMargins(t *testing.T, p *Pipeline, exs []data.Example, labels []string, thr float64) ([][]float32, *models.GeneratedLabels) {
	t.Helper()
	b, err := p.collator.Inference(exs, labels, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Model.Forward(b)
	if err != nil {
		t.Fatal(err)
	}
	var margins [][]float32
	observe := func(_, r int, row []float32) {
		for len(margins) <= r {
			margins = append(margins, nil)
		}
		a := 0
		for i, v := range row {
			if v > row[a] {
				a = i
			}
		}
		second := float32(math.Inf(-1))
		for i, v := range row {
			if i != a && v > second {
				second = v
			}
		}
		margins[r] = append(margins[r], row[a]-second)
	}
	g, err := p.Model.GenerateLabels(b, out, models.GenerateOptions{Threshold: thr, MaxNewTokens: 8, Tokenizer: p.decTok, Observe: observe})
	if err != nil {
		t.Fatal(err)
	}
	return margins, g
}

// keptRow is the kept-span row (batch-major) of example bi's span.
func keptRow(g *models.GeneratedLabels, bi, start, end, maxWidth int) int {
	flat := int64(start*maxWidth + end - start)
	r := 0
	for i := 0; i*g.S < len(g.SpanIdx); i++ {
		for s := 0; s < g.S && g.SpanIdx[i*g.S+s] >= 0; s++ {
			if i == bi && g.SpanIdx[i*g.S+s] == flat {
				return r
			}
			r++
		}
	}
	return -1
}

// The pipeline on the fixture (both texts in one batch, generation laid
// out as the reference's under ReferenceCompat), for each of the
// reference's decoding runs (thresholds 0.5 and 0.567, flat and nested):
// the reference's entities (span, class, score), each with one generated
// label, equal to the reference's unless a greedy step of that span had its
// top two scores within nearTie (the reference sampled at temperature
// 0.01, so it may take the second token there).
func TestSpanDecoderPredictMatchesReference(t *testing.T) {
	p, exs, labels, _ := loadDecoderFixture(t)
	p.Model.Loss.ReferenceCompat = true
	var exp struct {
		Decoded map[string]decoderReference `json:"decoded"`
	}
	testutil.ReadJSON(t, filepath.Join(testutil.Fixture(t, decoderFixture), "expected.json"), &exp)
	if len(exp.Decoded) != 4 {
		t.Fatalf("%d decoding runs, want 4", len(exp.Decoded))
	}
	compared, exact := 0, 0
	for key, ref := range exp.Decoded {
		o := decoderOptions(LabelModeEnrich)
		o.Threshold, o.FlatNER = ref.Threshold, ref.FlatNER
		res, err := p.PredictExamples(exs, labels, o)
		if err != nil {
			t.Fatal(err)
		}
		margins, g := generationMargins(t, p, exs, labels, ref.Threshold)
		for i, want := range ref.Entities {
			got := res.Entities[i]
			if len(got) != len(want) {
				t.Fatalf("%s text %d: %d entities %+v, reference %d", key, i, len(got), got, len(want))
			}
			for j, w := range want {
				e := got[j]
				if e.StartWord != w.Start || e.EndWord != w.End || e.Label != w.EntityType || !testutil.CloseScalar(e.Score, w.Score, testutil.Prob) {
					t.Errorf("%s text %d entity %d: %+v, reference %+v", key, i, j, e, w.decodedEntity)
				}
				if len(e.GeneratedLabels) != 1 || len(w.Generated) != 1 {
					t.Errorf("%s text %d entity %d: generated %q, reference %q", key, i, j, e.GeneratedLabels, w.Generated)
					continue
				}
				compared++
				if e.GeneratedLabels[0] == w.Generated[0] {
					exact++
					continue
				}
				r := keptRow(g, i, w.Start, w.End, p.Model.Cfg.MaxWidth)
				if r < 0 || r >= len(margins) || g.Text[r] != e.GeneratedLabels[0] {
					t.Errorf("%s text %d entity %d: no kept-span row agreeing with the pipeline's label %q", key, i, j, e.GeneratedLabels[0])
					continue
				}
				k := slices.IndexFunc(margins[r], func(m float32) bool { return m < nearTie })
				if k < 0 {
					t.Errorf("%s text %d entity %d %q: generated %q, reference %q, and no near tie (margins %v)",
						key, i, j, e.Text, e.GeneratedLabels[0], w.Generated[0], margins[r])
					continue
				}
				t.Logf("%s text %d entity %d %q: greedy %q, reference (sampled) %q: first near tie at step %d (margin %.4f)",
					key, i, j, e.Text, e.GeneratedLabels[0], w.Generated[0], k, margins[r][k])
			}
		}
	}
	t.Logf("generated labels: %d of %d entities' equal to the reference's", exact, compared)
	if compared < 15 || exact*3 < compared*2 {
		t.Errorf("%d of %d generated labels equal the reference's (want at least 15 compared, two thirds equal)", exact, compared)
	}
}

// Replace mode: the same entities as enrich (spans, scores, generated
// labels), each labelled with its generated label trimmed of spaces; the
// model's default mode (decoder_mode "span") is enrich; "off" generates
// nothing.
func TestSpanDecoderLabelModes(t *testing.T) {
	p, exs, labels, _ := loadDecoderFixture(t)
	if p.Model.DefaultLabelMode() != models.LabelsEnrich {
		t.Fatalf("fixture default label mode %v, want enrich (decoder_mode span)", p.Model.DefaultLabelMode())
	}
	run := func(mode string) [][]Entity {
		t.Helper()
		res, err := p.PredictExamples(exs, labels, decoderOptions(mode))
		if err != nil {
			t.Fatal(err)
		}
		return res.Entities
	}
	enrich, replace, def, off := run(LabelModeEnrich), run(LabelModeReplace), run(""), run(LabelModeOff)
	if mustJSON(t, def) != mustJSON(t, enrich) {
		t.Errorf("default mode %s, want enrich's %s", mustJSON(t, def), mustJSON(t, enrich))
	}
	n := 0
	for i := range enrich {
		if len(replace[i]) != len(enrich[i]) || len(off[i]) != len(enrich[i]) {
			t.Fatalf("text %d: %d/%d/%d entities (enrich/replace/off)", i, len(enrich[i]), len(replace[i]), len(off[i]))
		}
		for j, e := range enrich[i] {
			r, o := replace[i][j], off[i][j]
			if len(e.GeneratedLabels) != 1 || strings.TrimSpace(e.GeneratedLabels[0]) == "" {
				t.Fatalf("text %d entity %d: generated %q", i, j, e.GeneratedLabels)
			}
			want := e
			want.Label = strings.TrimSpace(e.GeneratedLabels[0])
			if mustJSON(t, r) != mustJSON(t, want) {
				t.Errorf("replace: %s, want %s", mustJSON(t, r), mustJSON(t, want))
			}
			want = e
			want.GeneratedLabels = nil
			if mustJSON(t, o) != mustJSON(t, want) {
				t.Errorf("off: %s, want %s", mustJSON(t, o), mustJSON(t, want))
			}
			if strings.Contains(mustJSON(t, o), "generated_labels") {
				t.Errorf("off: JSON %s has generated_labels", mustJSON(t, o))
			}
			n++
		}
	}
	if n != 5 {
		t.Errorf("%d entities compared, want 5", n)
	}
}

// Constrained generation: every generated label is one of the given labels
// (with the tokenizer's prefix space), so replace mode relabels entities
// with given labels only, leaving the entities' spans and scores as they
// are.
func TestSpanDecoderConstrainedLabels(t *testing.T) {
	p, exs, labels, _ := loadDecoderFixture(t)
	o := decoderOptions(LabelModeEnrich)
	o.ConstrainLabels = true
	res, err := p.PredictExamples(exs, labels, o)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, ents := range res.Entities {
		for _, e := range ents {
			if len(e.GeneratedLabels) != 1 || !slices.Contains(labels, strings.TrimSpace(e.GeneratedLabels[0])) {
				t.Errorf("text %d entity %q: generated %q, not one of %q", i, e.Text, e.GeneratedLabels, labels)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no entities")
	}
	o.LabelMode = LabelModeReplace
	res, err = p.PredictExamples(exs[:1], labels, o)
	if err != nil {
		t.Fatal(err)
	}
	o.ConstrainLabels = false
	plain, err := p.PredictExamples(exs[:1], labels, o)
	if err != nil {
		t.Fatal(err)
	}
	for j, e := range res.Entities[0] {
		if !slices.Contains(labels, e.Label) {
			t.Errorf("constrained replace: entity %d label %q not in %q", j, e.Label, labels)
		}
		if pe := plain.Entities[0][j]; pe.StartWord != e.StartWord || pe.EndWord != e.EndWord || pe.Score != e.Score {
			t.Errorf("constraint changed the entity: %+v vs %+v", e, pe)
		}
	}
}

// Without ReferenceCompat a span's generated label depends only on its
// window: predicting texts one at a time, in one batch, or padded to shape
// buckets gives the same entities and labels. Windows: a text cut into
// windows gets, for each merged entity, the label its best-scoring window
// generated for it.
func TestSpanDecoderBatchesBucketsWindows(t *testing.T) {
	p, exs, labels, _ := loadDecoderFixture(t)
	o := decoderOptions(LabelModeEnrich)
	o.Buckets = false
	one, err := p.PredictExamples(exs, labels, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Buckets = true
	bucketed, err := p.PredictExamples(exs, labels, o)
	if err != nil {
		t.Fatal(err)
	}
	sameGenerated(t, "buckets", bucketed.Entities, one.Entities)
	o.Buckets, o.BatchSize = false, 1
	single, err := p.PredictExamples(exs, labels, o)
	if err != nil {
		t.Fatal(err)
	}
	sameGenerated(t, "one text per batch", single.Entities, one.Entities)

	// Windows of 5 words, 3 apart, over text 0 (8 words): [0,5) and [3,8).
	o.BatchSize, o.WindowWords, o.Stride, o.Threshold = 8, 5, 3, 0.45
	text := exs[0]
	res, err := p.PredictExamples([]data.Example{text}, labels, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Windows != 2 || res.Split != 1 {
		t.Fatalf("%d windows, %d split; want 2, 1", res.Windows, res.Split)
	}
	// Every candidate of each window alone (nested, multi-label).
	type cand struct {
		score float64
		gen   []string
	}
	best := map[[2]int]map[string]cand{}
	wo := decoderOptions(LabelModeEnrich)
	wo.FlatNER, wo.MultiLabel, wo.Threshold = false, true, o.Threshold
	for _, w := range [][2]int{{0, 5}, {3, 8}} {
		r, err := p.PredictExamples([]data.Example{{Words: text.Words[w[0]:w[1]]}}, labels, wo)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range r.Entities[0] {
			k := [2]int{e.StartWord + w[0], e.EndWord + w[0]}
			if best[k] == nil {
				best[k] = map[string]cand{}
			}
			if c, ok := best[k][e.Label]; !ok || e.Score > c.score {
				best[k][e.Label] = cand{e.Score, e.GeneratedLabels}
			}
		}
	}
	if len(res.Entities[0]) == 0 {
		t.Fatal("no entities in the windowed text")
	}
	for _, e := range res.Entities[0] {
		c, ok := best[[2]int{e.StartWord, e.EndWord}][e.Label]
		if !ok {
			t.Errorf("entity %+v not found by any window", e)
			continue
		}
		if len(e.GeneratedLabels) != 1 || mustJSON(t, e.GeneratedLabels) != mustJSON(t, c.gen) || math.Abs(e.Score-c.score) > 1e-6 {
			t.Errorf("entity %+v: want score %v and the best window's generated %q", e, c.score, c.gen)
		}
	}
}

// Why decoder batches are not padded to shape buckets under
// ReferenceCompat: the reference keeps a span when its best class
// probability over every class column passes the threshold, padded
// columns included, so padding 3 labels to the 4-class bucket changes
// which spans are named; gliner-go's default test looks at the real
// classes only and padding changes nothing. The pipeline, under
// ReferenceCompat, gives the same result with and without Buckets.
func TestSpanDecoderBucketsUnderReferenceCompat(t *testing.T) {
	p, exs, labels, _ := loadDecoderFixture(t)
	labels = labels[:3]
	kept := func(pad bool) []string {
		t.Helper()
		b, err := p.collator.Inference(exs, labels, nil)
		if err != nil {
			t.Fatal(err)
		}
		if pad {
			tt, w, c, err := data.DefaultShapeBuckets.Round(b.T(), b.W(), b.C())
			if err != nil {
				t.Fatal(err)
			}
			if c == b.C() {
				t.Fatalf("3 classes are not padded (bucket %d)", c)
			}
			if err := b.PadTo(tt, w, c, 0); err != nil {
				t.Fatal(err)
			}
		}
		out, err := p.Model.Forward(b)
		if err != nil {
			t.Fatal(err)
		}
		g, err := p.Model.GenerateLabels(b, out, models.GenerateOptions{Threshold: 0.5, MaxNewTokens: 8, Tokenizer: p.decTok})
		if err != nil {
			t.Fatal(err)
		}
		return g.Text
	}
	if a, b := kept(false), kept(true); mustJSON(t, a) != mustJSON(t, b) || len(a) == 0 {
		t.Errorf("default: padding changed the named spans: %d %q vs %d %q", len(a), a, len(b), b)
	}
	p.Model.Loss.ReferenceCompat = true
	if a, b := kept(false), kept(true); len(a) == len(b) {
		t.Errorf("reference compat: padding kept %d spans, unpadded %d: the padded class no longer counts, buckets could be allowed", len(b), len(a))
	}
	o := decoderOptions(LabelModeEnrich)
	o.Buckets = false
	plain, err := p.PredictExamples(exs, labels, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Buckets = true
	bucketed, err := p.PredictExamples(exs, labels, o)
	if err != nil {
		t.Fatal(err)
	}
	if mustJSON(t, plain.Entities) != mustJSON(t, bucketed.Entities) {
		t.Errorf("reference compat with buckets: %s\nwithout: %s", mustJSON(t, bucketed.Entities), mustJSON(t, plain.Entities))
	}
}

// sameGenerated compares entities exactly but for scores (1e-6: padding
// and batch shapes change float32 rounding).
func sameGenerated(t *testing.T, what string, got, want [][]Entity) {
	t.Helper()
	n := 0
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Errorf("%s: text %d: %d entities, want %d", what, i, len(got[i]), len(want[i]))
			continue
		}
		for j, w := range want[i] {
			g := got[i][j]
			if math.Abs(g.Score-w.Score) > 1e-6 {
				t.Errorf("%s: text %d entity %d: score %v, want %v", what, i, j, g.Score, w.Score)
			}
			g.Score = w.Score
			if len(w.GeneratedLabels) != 1 || mustJSON(t, g) != mustJSON(t, w) {
				t.Errorf("%s: text %d entity %d: %s, want %s", what, i, j, mustJSON(t, g), mustJSON(t, w))
			}
			n++
		}
	}
	if n != 5 {
		t.Errorf("%s: %d entities compared, want 5", what, n)
	}
}

// Bad input: a decoder tokenizer whose vocabulary does not match the
// checkpoint, or a missing one, is an error naming the folder; label
// generation options on a model without a decoder, or an unknown mode,
// are errors.
func TestSpanDecoderErrors(t *testing.T) {
	dir := testutil.Fixture(t, decoderFixture)
	bad := t.TempDir()
	src := filepath.Join(dir, models.DecoderTokenizerDir)
	testutil.CopyWithExtraVocab(t, src, bad, "zzzextra", 0) // one id more than the decoder's rows
	_, err := LoadWith(dir, LoadOptions{DecoderTokenizerDir: bad})
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "does not match the checkpoint") {
		t.Errorf("mismatched decoder vocabulary: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "nope")
	if _, err = LoadWith(dir, LoadOptions{DecoderTokenizerDir: missing}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing decoder tokenizer: %v", err)
	}

	p, exs, labels, _ := loadDecoderFixture(t)
	o := decoderOptions("rename")
	if _, err := p.PredictExamples(exs, labels, o); err == nil || !strings.Contains(err.Error(), `"rename"`) {
		t.Errorf("unknown label mode: %v", err)
	}
	o = decoderOptions(LabelModeEnrich)
	o.MaxNewTokens = -1
	if _, err := p.PredictExamples(exs, labels, o); err == nil || !strings.Contains(err.Error(), "max new tokens") {
		t.Errorf("negative max new tokens: %v", err)
	}

	span, sexs, slabels, _ := loadFixture(t, "uni_span_bert")
	for name, o := range map[string]Options{
		"mode":       {Threshold: 0.5, LabelMode: LabelModeReplace},
		"constraint": {Threshold: 0.5, ConstrainLabels: true},
		"tokens":     {Threshold: 0.5, MaxNewTokens: 4},
	} {
		if _, err := span.PredictExamples(sexs, slabels, o); err == nil || !strings.Contains(err.Error(), "generates no labels") {
			t.Errorf("%s on a span model: %v", name, err)
		}
	}
}
