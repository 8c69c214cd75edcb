package autograd

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gliner-go/gliner/autograd/kern"
)

func randParam(t *testing.T, s *Store, name string, shape ...int) *Param {
	t.Helper()
	p, err := s.Add(name, shape, Normal{Std: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func randWeights(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 7))
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(r.NormFloat64())
	}
	return w
}

// A small network using every basic op, with a node used twice so that
// Gorgonia inserts a gradient sum.
func buildNet(t *testing.T, s *Store, train bool) (*Graph, *Node) {
	g := NewGraph(s, train)
	x := g.Param("x")
	h := ReLU(Linear(x, g.Param("w"), g.Param("b"))) // (2,3,5)
	both := Concat(h, Add(h, h))                     // (2,3,10); h used three times
	flat := Reshape(both, 2, 3, 10)                  // view
	q := Linear(g.Param("q"), g.Param("wq"), nil)    // (2,4,10)
	scores := BatchMatMulNT(flat, q)                 // (2,3,4)
	cost := DotConst(scores, randWeights(2*3*4, 3))
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	return g, cost
}

func newNetStore(t *testing.T) *Store {
	s := NewStore()
	randParam(t, s, "x", 2, 3, 4)
	randParam(t, s, "w", 5, 4)
	randParam(t, s, "b", 5)
	randParam(t, s, "q", 2, 4, 6)
	randParam(t, s, "wq", 10, 6)
	randParam(t, s, "unused", 3)
	s.Initialize(42)
	return s
}

func TestGraphGradientsMatchFiniteDifferences(t *testing.T) {
	s := newNetStore(t)
	g, cost := buildNet(t, s, true)
	m, err := Compile(g, cost)
	if err != nil {
		t.Fatal(err)
	}
	trained := m.TrainedParams()
	if len(trained) != 5 {
		t.Fatalf("trained %d params, want 5 (the unused one gets no gradient)", len(trained))
	}
	if err := GradCheck(m, trained, 1e-2, 2e-2); err != nil {
		t.Fatal(err)
	}
}

func TestFrozenParamsGetNoGradient(t *testing.T) {
	s := newNetStore(t)
	if _, err := s.SetFrozen("w", true); err != nil { // matches "w" and "wq"
		t.Fatal(err)
	}
	if _, err := s.SetFrozen("nothing.", true); err == nil {
		t.Fatal("a prefix matching nothing must be an error")
	}
	g, cost := buildNet(t, s, true)
	m, err := Compile(g, cost)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.TrainedParams() {
		if p.Frozen {
			t.Fatalf("frozen %s is trained", p.Name)
		}
	}
	if err := m.Run(); err != nil {
		t.Fatal(err)
	}
	w, _ := s.Get("w")
	for _, v := range w.Grad {
		if v != 0 {
			t.Fatal("frozen parameter received a gradient")
		}
	}
}

func TestRunIsRepeatableAndAllocationFree(t *testing.T) {
	s := newNetStore(t)
	g, cost := buildNet(t, s, true)
	m, err := Compile(g, cost)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Run(); err != nil {
		t.Fatal(err)
	}
	c1 := m.Cost()
	w, _ := s.Get("w")
	g1 := append([]float32(nil), w.Grad...)
	s.ZeroGrad()
	if err := m.Run(); err != nil {
		t.Fatal(err)
	}
	if m.Cost() != c1 {
		t.Fatalf("cost changed between runs: %v vs %v", c1, m.Cost())
	}
	for i := range g1 {
		if w.Grad[i] != g1[i] {
			t.Fatal("gradients differ between identical runs")
		}
	}
	allocs := testing.AllocsPerRun(5, func() {
		if err := m.Run(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("steady-state Run allocated %v times", allocs)
	}
}

func TestInputsAreBoundPerRun(t *testing.T) {
	s := NewStore()
	randParam(t, s, "w", 2, 3)
	s.Initialize(1)
	g := NewGraph(s, false)
	x := g.Input("x", 1, 3)
	y := Linear(x, g.Param("w"), nil)
	m, err := Compile(g, nil, y)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := s.Get("w")
	for _, xs := range [][]float32{{1, 0, 0}, {0, 2, 1}} {
		if err := m.SetFloats("x", xs, 1, 3); err != nil {
			t.Fatal(err)
		}
		if err := m.Run(); err != nil {
			t.Fatal(err)
		}
		out, _ := m.Value(y)
		for o := 0; o < 2; o++ {
			want := w.Data[o*3]*xs[0] + w.Data[o*3+1]*xs[1] + w.Data[o*3+2]*xs[2]
			if d := out.F[o] - want; d > 1e-6 || d < -1e-6 {
				t.Fatalf("out[%d]=%v want %v", o, out.F[o], want)
			}
		}
	}
	if err := m.SetFloats("x", []float32{1, 2}, 1, 2); err == nil {
		t.Fatal("a wrong input shape must be an error")
	}
}

func TestParamValuesAreSharedNotCopied(t *testing.T) {
	s := NewStore()
	randParam(t, s, "w", 1, 1)
	g := NewGraph(s, false)
	x := g.Input("x", 1, 1)
	y := Linear(x, g.Param("w"), nil)
	m, err := Compile(g, nil, y)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := s.Get("w")
	_ = m.SetFloats("x", []float32{3}, 1, 1)
	for _, v := range []float32{2, 5} {
		w.Data[0] = v // an optimizer update is seen by the next run
		_ = m.Run()
		out, _ := m.Value(y)
		if out.F[0] != 3*v {
			t.Fatalf("got %v want %v", out.F[0], 3*v)
		}
	}
}

func TestBuildErrorsAreSticky(t *testing.T) {
	s := NewStore()
	randParam(t, s, "w", 2, 3)
	g := NewGraph(s, false)
	x := g.Input("x", 4, 5)
	y := Linear(x, g.Param("w"), nil) // 5 != 3
	z := ReLU(y)
	_ = g.Param("missing")
	if g.Err() == nil {
		t.Fatal("shape mismatch not reported")
	}
	if _, err := Compile(g, nil, z); err == nil {
		t.Fatal("compile of a failed graph must fail")
	}
}

// Every kernel of a graph built from the package's ops declares its kern
// attributes, and the attributes carry the ops' settings.
func TestGraphKernelsDeclareAttrs(t *testing.T) {
	s := newNetStore(t)
	g, _ := buildNet(t, s, true)
	ks := g.Kernels()
	var names []string
	for _, k := range ks {
		a := AttrsOf(k)
		if a == nil {
			t.Fatalf("kernel %s declares no attributes", k.Name())
		}
		names = append(names, a.Kernel())
	}
	want := []string{"linear", "relu", "add", "concat_last", "reshape", "linear", "bmm_nt", "dot_const"}
	if !slices.Equal(names, want) {
		t.Errorf("kernels %v, want %v", names, want)
	}
	if a := AttrsOf(ks[0]).(kern.LinearAttrs); !a.Bias {
		t.Error("first linear has a bias")
	}
	if a := AttrsOf(ks[5]).(kern.LinearAttrs); a.Bias {
		t.Error("second linear has no bias")
	}
	if a, ok := AttrsOf(&layerNormK{eps: 1e-7}).(kern.LayerNormAttrs); !ok || a.Eps != 1e-7 {
		t.Errorf("layer norm attributes %#v", AttrsOf(&layerNormK{eps: 1e-7}))
	}
	cfg := AttentionConfig{Kind: AttnCausal, Heads: 4, Dropout: 0.1}
	if a := AttrsOf(&attentionK{cfg: cfg}).(kern.AttentionAttrs); a.Kind != kern.AttnCausal || a.Heads != 4 || a.Dropout != 0.1 {
		t.Errorf("attention attributes %#v", a)
	}
}
