package encoder

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/autograd"
)

func gpt2RandFill(s *autograd.Store, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 3))
	for _, p := range s.Params() {
		for i := range p.Data {
			v := rng.NormFloat64() * 0.5
			if strings.HasSuffix(p.Name, "ln_1.weight") || strings.HasSuffix(p.Name, "ln_2.weight") || strings.HasSuffix(p.Name, "ln_f.weight") {
				v = 1 + 0.1*v
			}
			p.Data[i] = float32(v)
		}
	}
}

func gpt2CostWeights(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	return w
}

// The Conv1D and column-split kernels' backward passes match finite
// differences.
func TestGPT2KernelGradients(t *testing.T) {
	s := autograd.NewStore()
	for _, p := range []struct {
		name  string
		shape []int
	}{{"x", []int{2, 3, 4}}, {"w", []int{4, 9}}, {"b", []int{9}}} {
		if _, err := s.Add(p.name, p.shape, nil); err != nil {
			t.Fatal(err)
		}
	}
	gpt2RandFill(s, 1)
	g := autograd.NewGraph(s, true)
	y := conv1D(g.Param("x"), g.Param("w"), g.Param("b")) // (2,3,9)
	q, k, v := columns(y, 0, 3), columns(y, 3, 3), columns(y, 6, 3)
	out := autograd.Concat(v, q, autograd.Add(k, q))
	cost := autograd.DotConst(out, gpt2CostWeights(2*3*9, 1))
	m, err := autograd.Compile(g, cost)
	if err != nil {
		t.Fatal(err)
	}
	if err := autograd.GradCheck(m, m.TrainedParams(), 1e-2, 1e-2); err != nil {
		t.Fatal(err)
	}
	if got := len(m.TrainedParams()); got != 3 {
		t.Fatalf("%d parameters checked, want 3", got)
	}
}

// Conv1D computes x·W + b with W stored [in, out].
func TestGPT2Conv1DLayout(t *testing.T) {
	s := autograd.NewStore()
	x, _ := s.Add("x", []int{1, 2}, nil)
	w, _ := s.Add("w", []int{2, 3}, nil)
	b, _ := s.Add("b", []int{3}, nil)
	copy(x.Data, []float32{1, 2})
	copy(w.Data, []float32{1, 2, 3, 4, 5, 6}) // rows = inputs
	copy(b.Data, []float32{0.5, 0, -1})
	g := autograd.NewGraph(s, false)
	y := conv1D(g.Param("x"), g.Param("w"), g.Param("b"))
	m, err := autograd.Compile(g, nil, y)
	gpt2Must(t, err)
	gpt2Must(t, m.Run())
	v, err := m.Value(y)
	gpt2Must(t, err)
	want := []float32{1*1 + 2*4 + 0.5, 1*2 + 2*5, 1*3 + 2*6 - 1}
	for i := range want {
		if v.F[i] != want[i] {
			t.Fatalf("conv1d = %v, want %v", v.F, want)
		}
	}
}

func tinyGPT2(t *testing.T, tie bool) (*autograd.Store, *GPT2) {
	t.Helper()
	inner := 12
	cfg := &GPT2Config{
		ModelType: "gpt2", VocabSize: 11, NPositions: 9, NEmbd: 8, NLayer: 2, NHead: 2, NInner: &inner,
		ActivationFunction: "gelu_new", LayerNormEpsilon: 1e-5, InitializerRange: 0.02,
		ScaleAttnWeights: true, TieWordEmbeddings: tie,
	}
	s := autograd.NewStore()
	m, err := NewGPT2(s, "dec", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, m
}

// Gradients of every parameter and of inputs_embeds through the whole
// tiny GPT-2 (tied head, padded keys; default and explicit positions)
// match finite differences. Every query row keeps at least one valid key:
// in a row whose allowed keys are all padding (left padding's first rows)
// the reference's float32 mask arithmetic absorbs the scores, so the
// forward is flat there while torch autograd — and the attention kernel,
// which reproduces it — still passes the score gradient through the
// additive mask; finite differences cannot check that convention (the
// teacher-forced golden test covers the forward on such rows).
func TestGPT2Gradients(t *testing.T) {
	const B, T = 2, 5
	for _, explicitPos := range []bool{false, true} {
		s, m := tinyGPT2(t, true)
		if _, err := s.Add("x", []int{B, T - 2, 8}, nil); err != nil {
			t.Fatal(err)
		}
		gpt2RandFill(s, 2)
		g := autograd.NewGraph(s, true)
		ids := g.IntInput("ids", B, 2)
		mask := g.IntInput("mask", B, T)
		x := autograd.Concat(autograd.Reshape(g.Param("x"), B, (T-2)*8), autograd.Reshape(m.Embed(g, ids), B, 2*8))
		var pos *autograd.Node
		if explicitPos {
			pos = g.IntInput("pos", B, T)
		}
		logits := m.Forward(g, autograd.Reshape(x, B, T, 8), mask, pos)
		cost := autograd.DotConst(logits, gpt2CostWeights(B*T*11, 3))
		mach, err := autograd.Compile(g, cost)
		if err != nil {
			t.Fatal(err)
		}
		gpt2Must(t, mach.SetInts("ids", []int64{3, 10, 0, 7}, B, 2))
		gpt2Must(t, mach.SetInts("mask", []int64{1, 1, 1, 0, 0, 1, 0, 1, 1, 1}, B, T))
		if explicitPos {
			gpt2Must(t, mach.SetInts("pos", []int64{1, 1, 0, 1, 2, 0, 1, 2, 3, 1}, B, T))
		}
		params := mach.TrainedParams()
		if len(params) != len(m.ParamNames())+1 {
			t.Fatalf("%d trained parameters, want the model's %d and x", len(params), len(m.ParamNames()))
		}
		if err := autograd.GradCheck(mach, params, 1e-2, 2e-2); err != nil {
			t.Fatalf("explicit positions %v: %v", explicitPos, err)
		}
	}
}
