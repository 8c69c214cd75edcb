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

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/losses"
	"github.com/gliner-go/gliner/train"
)

// The golden harness shared by every architecture's reference tests
// (golden_test.go, relex_golden_test.go, span_decoder_test.go,
// trajectory_test.go): reading a fixture's batch.json and expected.json, and
// the checks of forward tensors, losses, gradients, gradient norms and the
// AdamW loss trajectory against the reference.

type fixtureExpected struct {
	Logits        testutil.JSONTensor            `json:"logits"`
	Intermediates map[string]testutil.JSONTensor `json:"intermediates"`
	Losses        map[string]struct {
		Loss float64 `json:"loss"`
		// DecoderLoss is recorded by the span-decoder fixture only.
		DecoderLoss float64 `json:"decoder_loss"`
	} `json:"losses"`
	Grads      map[string]testutil.JSONTensor `json:"grads"`
	GradNorms  map[string]float64             `json:"all_param_grad_norms"`
	Outputs    map[string]json.RawMessage     `json:"outputs"`
	Decoded    map[string]fixtureDecodedRun   `json:"decoded"`
	Trajectory fixtureTrajectory              `json:"train_trajectory"`
}

// fixtureDecodedRun is one decoding run of expected.json's "decoded".
type fixtureDecodedRun struct {
	Threshold  float64 `json:"threshold"`
	FlatNER    bool    `json:"flat_ner"`
	MultiLabel bool    `json:"multi_label"`
	Entities   [][]struct {
		Start      int     `json:"start"`
		End        int     `json:"end"`
		EntityType string  `json:"entity_type"`
		Score      float64 `json:"score"`
	} `json:"entities"`
}

// fixtureTrajectory is the loss before each of the reference's AdamW steps.
type fixtureTrajectory struct {
	LR          float64   `json:"lr"`
	Betas       []float64 `json:"betas"`
	Eps         float64   `json:"eps"`
	WeightDecay float64   `json:"weight_decay"`
	Losses      []float64 `json:"losses_before_each_step"`
}

// entitySpans is text i's reference entities of run d as decode spans.
func (d fixtureDecodedRun) entitySpans(i int) []decode.Span {
	var w []decode.Span
	for _, e := range d.Entities[i] {
		w = append(w, decode.Span{Start: e.Start, End: e.End, Label: e.EntityType, Score: float32(e.Score)})
	}
	return w
}

func ints(t testing.TB, raw json.RawMessage) data.Tensor[int64] {
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

func floats(t testing.TB, raw json.RawMessage) data.Tensor[float32] {
	t.Helper()
	var jt testutil.JSONTensor
	if err := json.Unmarshal(raw, &jt); err != nil {
		t.Fatal(err)
	}
	v, err := jt.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return data.Tensor[float32]{Shape: jt.Shape, Data: v}
}

// collatedTensors is batch.json's training ("collated") or inference
// ("collated_inference") batch.
func collatedTensors(t testing.TB, dir string, train bool) map[string]json.RawMessage {
	t.Helper()
	var raw struct {
		Collated          map[string]json.RawMessage `json:"collated"`
		CollatedInference map[string]json.RawMessage `json:"collated_inference"`
	}
	testutil.ReadJSON(t, filepath.Join(dir, "batch.json"), &raw)
	if train {
		return raw.Collated
	}
	return raw.CollatedInference
}

// classNames lists an id_to_classes map's names in id order.
func classNames(m map[string]string) []string {
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
	return names
}

// fixtureBatch rebuilds the reference collator's batch from batch.json.
func fixtureBatch(t testing.TB, dir string, train bool, maxWidth int) *data.Batch {
	t.Helper()
	src := collatedTensors(t, dir, train)
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
		names := classNames(m)
		b.IDToClass = append(b.IDToClass, names)
		if len(names) > b.NumClasses {
			b.NumClasses = len(names)
		}
	}
	if train {
		b.Labels = floats(t, src["labels"])
	}
	return b
}

func loadFixtureModel(t testing.TB, name string) (*Model, string, *fixtureExpected) {
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

// checkClose reports what when got is not within testutil.Forward of the
// reference.
func checkClose(t *testing.T, what string, got []float32, want testutil.JSONTensor) {
	t.Helper()
	testutil.AssertCloseJSON(t, what, got, want, testutil.Forward)
}

// checkShapedClose is checkClose after checking got has the reference's shape.
func checkShapedClose(t *testing.T, what string, got autograd.Value, want testutil.JSONTensor) {
	t.Helper()
	if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
		t.Errorf("%s shape %v, reference %v", what, got.Shape, want.Shape)
		return
	}
	checkClose(t, what, got.F, want)
}

// checkForward compares the logits and every reference intermediate but
// those in skip within 1e-4 and returns how many intermediates it compared.
func checkForward(t *testing.T, out *Output, exp *fixtureExpected, skip ...string) int {
	t.Helper()
	checkClose(t, "logits", out.Logits.F, exp.Logits)
	n := 0
	for name, want := range exp.Intermediates {
		if contains(skip, name) {
			continue
		}
		got, ok := out.Intermediates[name]
		if !ok {
			t.Errorf("no intermediate %s", name)
			continue
		}
		checkClose(t, name, got.F, want)
		n++
	}
	return n
}

func contains(v []string, s string) bool {
	for _, x := range v {
		if x == s {
			return true
		}
	}
	return false
}

// checkLossSettings steps m on b under each of the fixture's six loss
// settings (expected.json "losses") and compares the loss within 1e-4
// relative; after, if not nil, checks more of each step's output.
func checkLossSettings(t *testing.T, m *Model, b *data.Batch, exp *fixtureExpected, referenceCompat bool, after func(name string, out *Output)) {
	t.Helper()
	if len(exp.Losses) != 6 {
		t.Fatalf("fixture has %d loss settings, want 6", len(exp.Losses))
	}
	for name, want := range exp.Losses {
		m.Loss = lossOptions(t, name)
		m.Loss.ReferenceCompat = referenceCompat
		m.Store.ZeroGrad()
		out, err := m.Step(b)
		if err != nil {
			t.Fatal(err)
		}
		testutil.AssertCloseScalar(t, name+": loss", float64(out.Loss), want.Loss, testutil.Loss)
		if after != nil {
			after(name, out)
		}
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

// checkGrads compares the fixture's named gradients with m's element by
// element within testutil.Grad (an absolute term scaled to each tensor's
// RMS, so elements that cancel to near zero are judged by the tensor's
// rounding, not their own).
func checkGrads(t *testing.T, m *Model, grads map[string]testutil.JSONTensor) {
	t.Helper()
	for name, want := range grads {
		p, ok := m.Store.Get(name)
		if !ok {
			t.Fatalf("no parameter %s", name)
		}
		testutil.AssertCloseJSON(t, "grad "+name, p.Grad, want, testutil.Grad)
	}
}

// checkGradNorms compares every reference gradient norm but those in skip
// within testutil.GradNorm and returns how many it compared.
func checkGradNorms(t *testing.T, m *Model, norms map[string]float64, skip ...string) int {
	t.Helper()
	checked := 0
	for name, want := range norms {
		if contains(skip, name) {
			continue
		}
		p, ok := m.Store.Get(name)
		if !ok {
			t.Errorf("reference parameter %s missing", name)
			continue
		}
		var s float64
		for _, g := range p.Grad {
			s += float64(g) * float64(g)
		}
		testutil.AssertCloseScalar(t, "grad norm "+name, math.Sqrt(s), want, testutil.GradNorm)
		checked++
	}
	return checked
}

// trainedNames is the set of parameters m trains on b.
func trainedNames(m *Model, b *data.Batch) map[string]bool {
	trained := map[string]bool{}
	for _, p := range m.TrainedParams(b) {
		trained[p.Name] = true
	}
	return trained
}

// checkTrajectory takes the reference's 10 AdamW steps on b with m's loss
// options and compares the loss before each within 1e-3 relative.
func checkTrajectory(t *testing.T, m *Model, b *data.Batch, tr fixtureTrajectory) {
	t.Helper()
	if len(tr.Losses) != 10 {
		t.Fatalf("fixture has %d trajectory losses", len(tr.Losses))
	}
	opt, err := train.NewAdamW([]*train.Group{{Name: "all", BaseLR: tr.LR, LR: tr.LR, WeightDecay: tr.WeightDecay, Params: m.Store.Params()}},
		train.AdamWOptions{Beta1: tr.Betas[0], Beta2: tr.Betas[1], Eps: tr.Eps})
	if err != nil {
		t.Fatal(err)
	}
	trained := map[*autograd.Param]bool{}
	for _, p := range m.TrainedParams(b) {
		trained[p] = true
	}
	for step, want := range tr.Losses {
		m.Store.ZeroGrad()
		out, err := m.Step(b)
		if err != nil {
			t.Fatal(err)
		}
		// Ten AdamW steps compound the gradients' differences.
		if !testutil.AssertCloseScalar(t, fmt.Sprintf("step %d: loss", step), float64(out.Loss), want, testutil.Tol{RTol: 1e-3}) {
			t.FailNow()
		}
		opt.Step(func(p *autograd.Param) bool { return trained[p] })
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
		if g.Start != w.Start || g.End != w.End || g.Label != w.Label || !testutil.CloseScalar(float64(g.Score), float64(w.Score), testutil.Prob) {
			t.Errorf("%s entity %d: %+v, reference %+v", what, j, g, w)
		}
	}
	return len(want)
}

// fixtureCollator is data.Collator set up as the fixture's reference
// processor for arch (aux: the second tokenizer, or nil).
func fixtureCollator(t *testing.T, m *Model, dir string, arch data.Architecture, aux tokenizer.Tokenizer) *data.Collator {
	t.Helper()
	var tc struct {
		ModelMaxLength int `json:"model_max_length"`
	}
	testutil.ReadJSON(t, filepath.Join(dir, "tokenizer", "tokenizer_config.json"), &tc)
	cfg := data.CollatorConfig{
		Architecture: arch, MaxWidth: m.Cfg.MaxWidth, MaxLen: m.Cfg.MaxLen, MaxTypes: m.Cfg.MaxTypes,
		MaxNegTypeRatio: m.Cfg.MaxNegTypeRatio, EntToken: m.Cfg.EntToken, SepToken: m.Cfg.SepToken,
		RelToken: m.Cfg.RelToken, ModelMaxLength: tc.ModelMaxLength,
	}
	c, err := data.NewCollator(cfg, fixtureTokenizer(t, dir), aux, 1)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fixtureTokenizer is the fixture's text tokenizer.
func fixtureTokenizer(t testing.TB, dir string) tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// fixtureExamples are batch.json's examples (words, entities and, in the
// relex fixture, relations) with its entity and relation types.
func fixtureExamples(t *testing.T, dir string) (exs []data.Example, entityTypes, relationTypes []string) {
	t.Helper()
	var raw struct {
		Examples []struct {
			TokenizedText []string `json:"tokenized_text"`
			NER           [][3]any `json:"ner"`
		} `json:"examples"`
		Relations     [][][3]any `json:"relations"`
		EntityTypes   []string   `json:"entity_types"`
		RelationTypes []string   `json:"relation_types"`
	}
	testutil.ReadJSON(t, filepath.Join(dir, "batch.json"), &raw)
	for i, e := range raw.Examples {
		ex := data.Example{Words: e.TokenizedText}
		for _, n := range e.NER {
			ex.Entities = append(ex.Entities, data.Entity{Start: int(n[0].(float64)), End: int(n[1].(float64)), Label: n[2].(string)})
		}
		if raw.Relations != nil {
			for _, r := range raw.Relations[i] {
				ex.Relations = append(ex.Relations, data.Relation{Head: int(r[0].(float64)), Tail: int(r[1].(float64)), Label: r[2].(string)})
			}
		}
		exs = append(exs, ex)
	}
	return exs, raw.EntityTypes, raw.RelationTypes
}
