package models

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/losses"

	"github.com/gliner-go/gliner/internal/testutil"
)

func addParam(t *testing.T, s *autograd.Store, name string, shape ...int) *autograd.Param {
	t.Helper()
	p, err := s.Add(name, shape, autograd.Normal{Std: 1})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func fixedWeights(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 3))
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(r.NormFloat64())
	}
	return w
}

// gradCheck compiles Σ out⊙w for fixed random w and compares every
// parameter gradient with central finite differences.
func gradCheck(t *testing.T, g *autograd.Graph, out *autograd.Node, set func(*autograd.Machine) error) *autograd.Machine {
	t.Helper()
	cost := autograd.DotConst(out, fixedWeights(autograd.Numel(out.Shape()), 7))
	m, err := autograd.Compile(g, cost, out)
	if err != nil {
		t.Fatal(err)
	}
	if set != nil {
		if err := set(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := autograd.GradCheck(m, m.TrainedParams(), 1e-2, 2e-2); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(); err != nil {
		t.Fatal(err)
	}
	return m
}

// ScorerHidden equals Linear([t0; l0; t1⊙l1]) and its gradients match
// finite differences.
func TestScorerHiddenValuesAndGradients(t *testing.T) {
	const B, W, C, H = 2, 3, 2, 4
	s := autograd.NewStore()
	tp := addParam(t, s, "t", B, W, 2*H)
	lp := addParam(t, s, "l", B, C, 2*H)
	wp := addParam(t, s, "w", 4*H, 3*H)
	bp := addParam(t, s, "b", 4*H)
	s.Initialize(3)
	g := autograd.NewGraph(s, true)
	h := ScorerHidden(g.Param("t"), g.Param("l"), g.Param("w"), g.Param("b"))
	m := gradCheck(t, g, h, nil)
	got, err := m.Value(h)
	if err != nil {
		t.Fatal(err)
	}
	for b := 0; b < B; b++ {
		for w := 0; w < W; w++ {
			for c := 0; c < C; c++ {
				tr := tp.Data[(b*W+w)*2*H : (b*W+w+1)*2*H]
				lr := lp.Data[(b*C+c)*2*H : (b*C+c+1)*2*H]
				z := make([]float64, 0, 3*H)
				for j := 0; j < H; j++ {
					z = append(z, float64(tr[j]))
				}
				for j := 0; j < H; j++ {
					z = append(z, float64(lr[j]))
				}
				for j := 0; j < H; j++ {
					z = append(z, float64(tr[H+j])*float64(lr[H+j]))
				}
				for o := 0; o < 4*H; o++ {
					want := float64(bp.Data[o])
					for j, zv := range z {
						want += float64(wp.Data[o*3*H+j]) * zv
					}
					if d := math.Abs(float64(got.F[((b*W+w)*C+c)*4*H+o]) - want); d > 1e-5*(1+math.Abs(want)) {
						t.Fatalf("h[%d,%d,%d,%d] = %v, want %v", b, w, c, o, got.F[((b*W+w)*C+c)*4*H+o], want)
					}
				}
			}
		}
	}
}

// MaskedMean is Σ m·x / max(Σ m, 1e-9) (0 for an all-padding row) with
// finite-difference gradients; BroadcastRows repeats it per text.
func TestMaskedMeanAndBroadcastValuesAndGradients(t *testing.T) {
	const N, T, D, B = 3, 4, 5, 2
	s := autograd.NewStore()
	xp := addParam(t, s, "x", N, T, D)
	s.Initialize(4)
	mask := []int64{1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0}
	g := autograd.NewGraph(s, true)
	out := BroadcastRows(MaskedMean(g.Param("x"), g.IntInput("mask", N, T)), B)
	m := gradCheck(t, g, out, func(m *autograd.Machine) error { return m.SetInts("mask", mask, N, T) })
	got, err := m.Value(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{B, N, D}; len(got.Shape) != 3 || got.Shape[0] != B || got.Shape[1] != N || got.Shape[2] != D {
		t.Fatalf("shape %v, want %v", got.Shape, want)
	}
	for b := 0; b < B; b++ {
		for n := 0; n < N; n++ {
			for j := 0; j < D; j++ {
				var sum, cnt float64
				for tt := 0; tt < T; tt++ {
					mv := float64(mask[n*T+tt])
					sum += mv * float64(xp.Data[(n*T+tt)*D+j])
					cnt += mv
				}
				want := sum / math.Max(cnt, 1e-9)
				if d := math.Abs(float64(got.F[(b*N+n)*D+j]) - want); d > 1e-6 {
					t.Fatalf("out[%d,%d,%d] = %v, want %v", b, n, j, got.F[(b*N+n)*D+j], want)
				}
			}
		}
	}
}

// The token-loss node's gradient matches finite differences of the loss.
func TestTokenLossNodeGradient(t *testing.T) {
	const B, W, C = 2, 3, 2
	s := autograd.NewStore()
	addParam(t, s, "logits", B, W, C, 3)
	s.Initialize(5)
	g := autograd.NewGraph(s, true)
	o := losses.DefaultOptions()
	o.Alpha, o.Gamma, o.LabelSmoothing = 0.75, 2, 0.1
	loss := TokenLoss(g.Param("logits"), g.Input("labels", B, W, C, 3), g.Input("wm", B, W), g.Input("pm", B, C), o, nil)
	m, err := autograd.Compile(g, loss)
	if err != nil {
		t.Fatal(err)
	}
	labels := make([]float32, B*W*C*3)
	for i := range labels {
		labels[i] = float32(i % 2)
	}
	for _, err := range []error{
		m.SetFloats("labels", labels, B, W, C, 3),
		m.SetFloats("wm", []float32{1, 1, 1, 1, 1, 0}, B, W),
		m.SetFloats("pm", []float32{1, 1, 1, 0}, B, C),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := autograd.GradCheck(m, m.TrainedParams(), 1e-2, 2e-2); err != nil {
		t.Fatal(err)
	}
}

// BiEncoderSpan's label smoothing: under ReferenceCompat it is the
// reference's margin (checked against the fixture in
// TestLossesAndGradientsMatchReference); by default it is real smoothing,
// which gives a different loss from the same logits.
func TestBiEncoderSpanSmoothingIsMarginOnlyInCompat(t *testing.T) {
	m, dir, exp := loadFixtureModel(t, "bi_span_deberta")
	b := fixtureBatch(t, dir, true, m.Cfg.MaxWidth)
	m.Loss = lossOptions(t, "ls0.1_sum")
	def, err := m.Step(b)
	if err != nil {
		t.Fatal(err)
	}
	m.Loss.ReferenceCompat = true
	compat, err := m.Step(b)
	if err != nil {
		t.Fatal(err)
	}
	ref := exp.Losses["ls0.1_sum"].Loss
	testutil.AssertCloseScalar(t, "compat loss", float64(compat.Loss), ref, testutil.Loss)
	// Real smoothing: recompute from the logits with the loss package.
	res, err := losses.SpanLoss(def.Logits.F, b.Labels.Data, 2, b.NumWords*m.Cfg.MaxWidth, b.NumClasses,
		spanMaskFloats(b.SpanMask.Data), ones(2*b.NumClasses), m.Loss, nil)
	if err != nil {
		t.Fatal(err)
	}
	if def.Loss != res.Loss || math.Abs(float64(def.Loss)-ref) < 1 {
		t.Errorf("default loss %v, smoothing loss %v, reference (margin) %v", def.Loss, res.Loss, ref)
	}
}

func spanMaskFloats(m []bool) []float32 {
	f := make([]float32, len(m))
	for i, v := range m {
		if v {
			f[i] = 1
		}
	}
	return f
}

func ones(n int) []float32 {
	f := make([]float32, n)
	for i := range f {
		f[i] = 1
	}
	return f
}

// Batches that do not fit the architecture are clear errors, never panics.
func TestBadBatchesAreClearErrors(t *testing.T) {
	m, dir, _ := loadFixtureModel(t, "bi_token_deberta")
	b := fixtureBatch(t, dir, true, m.Cfg.MaxWidth)
	noLabels := *b
	noLabels.LabelsInputIDs = data.Tensor[int64]{}
	if _, err := m.Forward(&noLabels); err == nil || !strings.Contains(err.Error(), "labels_input_ids") {
		t.Errorf("bi-encoder batch without label ids: %v", err)
	}
	badTargets := *b
	badTargets.Labels = data.Tensor[float32]{Shape: []int{2, 32, 4}, Data: make([]float32, 2*32*4)}
	if _, err := m.Step(&badTargets); err == nil || !strings.Contains(err.Error(), "labels have shape [2 32 4]") {
		t.Errorf("span targets for a token model: %v", err)
	}
	badWords := *b
	badWords.WordsMask = data.Tensor[int64]{Shape: b.WordsMask.Shape, Data: append([]int64(nil), b.WordsMask.Data...)}
	badWords.WordsMask.Data[3] = 99
	if _, err := m.Forward(&badWords); err == nil || !strings.Contains(err.Error(), "words_mask names word 99") {
		t.Errorf("words_mask past the words: %v", err)
	}
	u, udir, _ := loadFixtureModel(t, "uni_span_bert")
	ub := fixtureBatch(t, udir, false, u.Cfg.MaxWidth)
	ub.IDToClass = append([][]string(nil), ub.IDToClass...)
	ub.IDToClass[1] = ub.IDToClass[1][:2]
	if _, err := u.Forward(ub); err == nil || !strings.Contains(err.Error(), "example 1") {
		t.Errorf("prompt/class count mismatch: %v", err)
	}
	cfg := *m.Cfg
	cfg.RepresentSpans = true
	if _, err := New(&cfg); err == nil || !strings.Contains(err.Error(), "represent_spans") {
		t.Errorf("represent_spans: %v", err)
	}
}
