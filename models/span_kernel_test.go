package models

import (
	"math"
	"testing"

	"github.com/gliner-go/gliner/autograd"
)

func spanKernelStore(t *testing.T) *autograd.Store {
	t.Helper()
	s := autograd.NewStore()
	for name, shape := range map[string][]int{"start": {2, 3, 4}, "end": {2, 3, 4}, "w": {5, 8}, "b": {5}} {
		if _, err := s.Add(name, shape, autograd.Normal{Std: 1}); err != nil {
			t.Fatal(err)
		}
	}
	s.Initialize(17)
	return s
}

var spanStarts = []int64{0, 1, 2, 0, 0, 1, 1, 2, 0, 0, 2, 1}
var spanEnds = []int64{0, 2, 2, 1, 0, 1, 2, 2, 2, 0, 2, 1}

// The factorised first layer equals Linear(ReLU(concat(gather, gather))).
func TestSpanFirstLayerEqualsConcatenatedForm(t *testing.T) {
	s := spanKernelStore(t)
	build := func(fused bool) (*autograd.Machine, *autograd.Node) {
		g := autograd.NewGraph(s, false)
		si, ei := g.IntInput("si", 2, 6), g.IntInput("ei", 2, 6)
		var out *autograd.Node
		if fused {
			out = g.Apply(&spanFirstLayerK{}, g.Param("start"), g.Param("end"), g.Param("w"), g.Param("b"), si, ei)
		} else {
			cat := autograd.Concat(autograd.GatherRows(g.Param("start"), si), autograd.GatherRows(g.Param("end"), ei))
			out = autograd.Linear(autograd.ReLU(cat), g.Param("w"), g.Param("b"))
		}
		m, err := autograd.Compile(g, nil, out)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.SetInts("si", spanStarts, 2, 6); err != nil {
			t.Fatal(err)
		}
		if err := m.SetInts("ei", spanEnds, 2, 6); err != nil {
			t.Fatal(err)
		}
		if err := m.Run(); err != nil {
			t.Fatal(err)
		}
		return m, out
	}
	mf, of := build(true)
	mc, oc := build(false)
	a, _ := mf.Value(of)
	b, _ := mc.Value(oc)
	for i := range a.F {
		if math.Abs(float64(a.F[i]-b.F[i])) > 1e-5 {
			t.Fatalf("element %d: fused %v, concatenated %v", i, a.F[i], b.F[i])
		}
	}
}

func TestSpanFirstLayerGradients(t *testing.T) {
	s := spanKernelStore(t)
	g := autograd.NewGraph(s, true)
	si, ei := g.IntInput("si", 2, 6), g.IntInput("ei", 2, 6)
	out := g.Apply(&spanFirstLayerK{}, g.Param("start"), g.Param("end"), g.Param("w"), g.Param("b"), si, ei)
	w := make([]float32, 2*6*5)
	for i := range w {
		w[i] = float32(i%7) - 3
	}
	m, err := autograd.Compile(g, autograd.DotConst(out, w))
	if err != nil {
		t.Fatal(err)
	}
	_ = m.SetInts("si", spanStarts, 2, 6)
	_ = m.SetInts("ei", spanEnds, 2, 6)
	if err := autograd.GradCheck(m, m.TrainedParams(), 1e-2, 3e-2); err != nil {
		t.Fatal(err)
	}
}
