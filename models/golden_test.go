package models

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/losses"
)

type fixtureExpected struct {
	Logits        testutil.JSONTensor            `json:"logits"`
	Intermediates map[string]testutil.JSONTensor `json:"intermediates"`
	Losses        map[string]struct {
		Loss float64 `json:"loss"`
	} `json:"losses"`
	Grads     map[string]testutil.JSONTensor `json:"grads"`
	GradNorms map[string]float64             `json:"all_param_grad_norms"`
	Outputs   map[string]json.RawMessage     `json:"outputs"`
	Decoded   map[string]struct {
		Threshold  float64 `json:"threshold"`
		FlatNER    bool    `json:"flat_ner"`
		MultiLabel bool    `json:"multi_label"`
		Entities   [][]struct {
			Start      int     `json:"start"`
			End        int     `json:"end"`
			EntityType string  `json:"entity_type"`
			Score      float64 `json:"score"`
		} `json:"entities"`
	} `json:"decoded"`
	Trajectory struct {
		LR          float64   `json:"lr"`
		Betas       []float64 `json:"betas"`
		Eps         float64   `json:"eps"`
		WeightDecay float64   `json:"weight_decay"`
		Losses      []float64 `json:"losses_before_each_step"`
	} `json:"train_trajectory"`
}

func ints(t *testing.T, raw json.RawMessage) data.Tensor[int64] {
	t.Helper()
	var jt testutil.JSONTensor
	if err := json.Unmarshal(raw, &jt); err != nil {
		t.Fatal(err)
	}
	v, err := jt.Int64s()
	if err != nil {
		t.Fatal(err)
	}
	return data.Tensor[int64]{Shape: jt.Shape, Data: v}
}

// fixtureBatch rebuilds the reference collator's batch from batch.json.
func fixtureBatch(t *testing.T, dir string, train bool, maxWidth int) *data.Batch {
	t.Helper()
	var raw struct {
		Collated          map[string]json.RawMessage `json:"collated"`
		CollatedInference map[string]json.RawMessage `json:"collated_inference"`
	}
	testutil.ReadJSON(t, filepath.Join(dir, "batch.json"), &raw)
	src := raw.CollatedInference
	if train {
		src = raw.Collated
	}
	b := &data.Batch{MaxWidth: maxWidth}
	b.InputIDs = ints(t, src["input_ids"])
	b.AttentionMask = ints(t, src["attention_mask"])
	b.WordsMask = ints(t, src["words_mask"])
	b.TextLengths = ints(t, src["text_lengths"])
	if _, ok := src["span_idx"]; ok {
		b.SpanIdx = ints(t, src["span_idx"])
		sm := ints(t, src["span_mask"])
		b.SpanMask = data.Tensor[bool]{Shape: sm.Shape, Data: make([]bool, len(sm.Data))}
		for i, v := range sm.Data {
			b.SpanMask.Data[i] = v != 0
		}
		b.NumWords = b.SpanIdx.Shape[1] / maxWidth
	} else {
		for _, n := range b.TextLengths.Data {
			b.NumWords = max(b.NumWords, int(n))
		}
	}
	if _, ok := src["labels_input_ids"]; ok {
		b.LabelsInputIDs = ints(t, src["labels_input_ids"])
		b.LabelsAttentionMask = ints(t, src["labels_attention_mask"])
	}
	var idToClasses []map[string]string
	if err := json.Unmarshal(src["id_to_classes"], &idToClasses); err != nil {
		// Inference batches share one map.
		var one map[string]string
		if err2 := json.Unmarshal(src["id_to_classes"], &one); err2 != nil {
			t.Fatal(err, err2)
		}
		for range b.InputIDs.Shape[0] {
			idToClasses = append(idToClasses, one)
		}
	}
	for _, m := range idToClasses {
		ids := make([]int, 0, len(m))
		for k := range m {
			i, _ := strconv.Atoi(k)
			ids = append(ids, i)
		}
		sort.Ints(ids)
		var names []string
		for _, i := range ids {
			names = append(names, m[strconv.Itoa(i)])
		}
		b.IDToClass = append(b.IDToClass, names)
		if len(names) > b.NumClasses {
			b.NumClasses = len(names)
		}
	}
	if train {
		var jt testutil.JSONTensor
		if err := json.Unmarshal(src["labels"], &jt); err != nil {
			t.Fatal(err)
		}
		v, err := jt.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		b.Labels = data.Tensor[float32]{Shape: jt.Shape, Data: v}
	}
	return b
}

func loadFixtureModel(t *testing.T, name string) (*Model, string, *fixtureExpected) {
	t.Helper()
	dir := testutil.Fixture(t, name)
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var exp fixtureExpected
	testutil.ReadJSON(t, filepath.Join(dir, "expected.json"), &exp)
	return m, dir, &exp
}

func maxAbsDiff(t *testing.T, got []float32, want *testutil.JSONTensor) float64 {
	t.Helper()
	w, err := want.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != len(got) {
		t.Fatalf("%d values, want %d (shape %v)", len(got), len(w), want.Shape)
	}
	var worst float64
	for i := range w {
		worst = math.Max(worst, math.Abs(float64(got[i]-w[i])))
	}
	return worst
}

var uniSpanFixtures = []string{"uni_span_bert", "uni_span_deberta"}

// goldenFixtures are the fixtures of the implemented architectures.
var goldenFixtures = []string{
	"uni_span_bert", "uni_span_deberta", "uni_token_bert", "uni_token_deberta",
	"bi_span_deberta", "bi_token_deberta",
}

func TestForwardMatchesReference(t *testing.T) {
	for _, f := range goldenFixtures {
		t.Run(f, func(t *testing.T) {
			m, dir, exp := loadFixtureModel(t, f)
			out, err := m.Forward(fixtureBatch(t, dir, false, m.Cfg.MaxWidth))
			if err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(t, out.Logits.F, &exp.Logits); d > 1e-4 {
				t.Errorf("logits differ by %.3g", d)
			}
			for name, want := range exp.Intermediates {
				got, ok := out.Intermediates[name]
				if !ok {
					t.Errorf("no intermediate %s", name)
					continue
				}
				if d := maxAbsDiff(t, got.F, &want); d > 1e-4 {
					t.Errorf("%s differs by %.3g", name, d)
				}
			}
			// The forward outputs the heads score.
			for _, name := range []string{"words_embedding", "prompts_embedding"} {
				var want testutil.JSONTensor
				if err := json.Unmarshal(exp.Outputs[name], &want); err != nil {
					t.Fatalf("outputs.%s: %v", name, err)
				}
				if d := maxAbsDiff(t, out.Intermediates[name].F, &want); d > 1e-4 {
					t.Errorf("output %s differs by %.3g", name, d)
				}
			}
		})
	}
}

func lossOptions(t *testing.T, name string) losses.Options {
	t.Helper()
	o := losses.DefaultOptions()
	switch {
	case strings.HasPrefix(name, "focal_a0.75_g2"):
		o.Alpha, o.Gamma = 0.75, 2
	case strings.HasPrefix(name, "ls0.1"):
		o.LabelSmoothing = 0.1
	case !strings.HasPrefix(name, "bce"):
		t.Fatalf("unknown loss setting %q", name)
	}
	r, err := losses.ParseReduction(name[strings.LastIndex(name, "_")+1:])
	if err != nil {
		t.Fatal(err)
	}
	o.Reduction = r
	return o
}

func TestLossesAndGradientsMatchReference(t *testing.T) {
	for _, f := range goldenFixtures {
		t.Run(f, func(t *testing.T) {
			m, dir, exp := loadFixtureModel(t, f)
			b := fixtureBatch(t, dir, true, m.Cfg.MaxWidth)
			if len(exp.Losses) != 6 {
				t.Fatalf("fixture has %d loss settings, want 6", len(exp.Losses))
			}
			for name, want := range exp.Losses {
				// The reference's arithmetic, quirks included (BiEncoderSpan
				// passes label smoothing as the margin, §10.2.1).
				m.Loss = lossOptions(t, name)
				m.Loss.ReferenceCompat = true
				m.Store.ZeroGrad()
				out, err := m.Step(b)
				if err != nil {
					t.Fatal(err)
				}
				if rel := math.Abs(float64(out.Loss)-want.Loss) / math.Abs(want.Loss); rel > 1e-4 {
					t.Errorf("%s: loss %v, reference %v (rel %.3g)", name, out.Loss, want.Loss, rel)
				}
			}
			// Gradients of the default loss (bce, sum).
			m.Loss = losses.DefaultOptions()
			m.Store.ZeroGrad()
			if _, err := m.Step(b); err != nil {
				t.Fatal(err)
			}
			for name, want := range exp.Grads {
				p, ok := m.Store.Get(name)
				if !ok {
					t.Fatalf("no parameter %s", name)
				}
				w, _ := want.Float32s()
				for i := range w {
					if d := math.Abs(float64(p.Grad[i] - w[i])); d > 1e-3*math.Max(math.Abs(float64(w[i])), 1e-3) {
						t.Errorf("grad %s[%d] = %v, reference %v", name, i, p.Grad[i], w[i])
						break
					}
				}
			}
			checked := 0
			for name, want := range exp.GradNorms {
				p, ok := m.Store.Get(name)
				if !ok {
					t.Errorf("reference parameter %s missing", name)
					continue
				}
				var s float64
				for _, g := range p.Grad {
					s += float64(g) * float64(g)
				}
				got := math.Sqrt(s)
				if math.Abs(got-want) > 1e-3*math.Max(want, 1e-3) {
					t.Errorf("grad norm %s = %.6g, reference %.6g", name, got, want)
				}
				checked++
			}
			// Parameters the reference reports no gradient for (the BERT
			// pooler) must get none here either: torch's optimizer skips them.
			trained := map[string]bool{}
			for _, p := range m.TrainedParams(b) {
				trained[p.Name] = true
			}
			for _, p := range m.Store.Params() {
				if _, ok := exp.GradNorms[p.Name]; !ok && trained[p.Name] {
					t.Errorf("%s is trained here but has no gradient in the reference", p.Name)
				}
			}
			if checked != len(trained) {
				t.Errorf("checked %d grad norms, %d parameters trained", checked, len(trained))
			}
		})
	}
}

// The reference's decoded entities (flat, nested, multi-label, several
// thresholds) are reproduced from this model's logits by DecodeAsReference,
// compared inside each text's length (the reference's token decoder also
// emits entities over the padding words of shorter texts). Decode, which
// never looks at padding words, must agree wherever the reference accepted
// no padding entity (only accepted entities block others).
func TestDecodedEntitiesMatchReference(t *testing.T) {
	for _, f := range goldenFixtures {
		t.Run(f, func(t *testing.T) {
			m, dir, exp := loadFixtureModel(t, f)
			b := fixtureBatch(t, dir, false, m.Cfg.MaxWidth)
			out, err := m.Forward(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(exp.Decoded) < 5 {
				t.Fatalf("fixture has %d decoding runs", len(exp.Decoded))
			}
			compared, ownCompared := 0, 0
			for run, d := range exp.Decoded {
				o := decode.Options{Threshold: d.Threshold, FlatNER: d.FlatNER, MultiLabel: d.MultiLabel}
				asRef, err := m.DecodeAsReference(out, b, o)
				if err != nil {
					t.Fatal(err)
				}
				own, err := m.Decode(out, b, o)
				if err != nil {
					t.Fatal(err)
				}
				for i, ents := range d.Entities {
					n := int(b.TextLengths.Data[i])
					var want []decode.Span
					padding := false
					for _, e := range ents {
						if e.End < n {
							want = append(want, decode.Span{Start: e.Start, End: e.End, Label: e.EntityType, Score: float32(e.Score)})
						} else {
							padding = true
						}
					}
					var got []decode.Span
					for _, g := range asRef[i] {
						if g.End < n {
							got = append(got, g)
						}
					}
					compared += sameSpans(t, fmt.Sprintf("%s text %d (as reference)", run, i), got, want)
					if !padding {
						ownCompared += sameSpans(t, fmt.Sprintf("%s text %d", run, i), own[i], want)
					}
				}
			}
			if compared == 0 || ownCompared == 0 {
				t.Errorf("compared %d / %d decoded entities", compared, ownCompared)
			}
		})
	}
}

// sameSpans reports differences between decoded and reference entities
// (same order, scores within 1e-4) and returns how many it compared.
func sameSpans(t *testing.T, what string, got, want []decode.Span) int {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d entities %v, reference %v", what, len(got), got, want)
		return 0
	}
	for j := range want {
		g, w := got[j], want[j]
		if g.Start != w.Start || g.End != w.End || g.Label != w.Label || math.Abs(float64(g.Score-w.Score)) > 1e-4 {
			t.Errorf("%s entity %d: %+v, reference %+v", what, j, g, w)
		}
	}
	return len(want)
}
