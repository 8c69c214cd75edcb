package autograd

import (
	"testing"

	"github.com/gliner-go/gliner/autograd/kern"
)

func compileCheck(t *testing.T, g *Graph, out *Node, set func(m *Machine)) {
	t.Helper()
	cost := DotConst(out, randWeights(Numel(out.Shape()), 11))
	m, err := Compile(g, cost)
	if err != nil {
		t.Fatal(err)
	}
	if set != nil {
		set(m)
	}
	if err := GradCheck(m, m.TrainedParams(), 1e-2, 3e-2); err != nil {
		t.Fatal(err)
	}
}

func TestLayerNormActivationGradients(t *testing.T) {
	for _, act := range []Activation{ActGELU, ActGELUNew, ActTanh, ActSigmoid} {
		s := NewStore()
		randParam(t, s, "x", 3, 5)
		randParam(t, s, "w", 5)
		randParam(t, s, "b", 5)
		s.Initialize(5)
		g := NewGraph(s, true)
		y := Act(LayerNorm(g.Param("x"), g.Param("w"), g.Param("b"), 1e-7), act)
		compileCheck(t, g, y, nil)
	}
}

func TestGatherEmbeddingGradients(t *testing.T) {
	s := NewStore()
	randParam(t, s, "src", 2, 4, 3)
	randParam(t, s, "emb", 6, 3)
	s.Initialize(9)
	g := NewGraph(s, true)
	idx := g.IntInput("idx", 2, 5)
	ids := g.IntInput("ids", 2, 4)
	y := Add(GatherRows(g.Param("src"), idx), GatherRows(Embedding(g.Param("emb"), ids), idx))
	compileCheck(t, g, y, func(m *Machine) {
		if err := m.SetInts("idx", []int64{0, 3, 3, -1, 1, 2, 2, 0, -1, 3}, 2, 5); err != nil {
			t.Fatal(err)
		}
		if err := m.SetInts("ids", []int64{5, 0, 5, 2, 1, 1, 4, 3}, 2, 4); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAttentionGradients(t *testing.T) {
	const B, T, H, d = 2, 5, 2, 3
	for _, kind := range []AttentionKind{AttnBERT, AttnCausal, AttnDisentangled} {
		s := NewStore()
		randParam(t, s, "q", B, T, H*d)
		randParam(t, s, "k", B, T, H*d)
		randParam(t, s, "v", B, T, H*d)
		cfg := AttentionConfig{Kind: kind, Heads: H}
		var rel []string
		if kind == AttnDisentangled {
			idx, err := kern.BuildRelativeIndex(T, 4, 8)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Rel = kern.Disentangled{AttSpan: kern.AttSpan(4, 8), C2P: true, P2C: true, RelIndex: idx}
			randParam(t, s, "pk", 2*cfg.Rel.AttSpan, H*d)
			randParam(t, s, "pq", 2*cfg.Rel.AttSpan, H*d)
			rel = []string{"pk", "pq"}
		}
		s.Initialize(13)
		g := NewGraph(s, true)
		var relNodes []*Node
		for _, r := range rel {
			relNodes = append(relNodes, g.Param(r))
		}
		mask := g.IntInput("mask", B, T)
		y := Attention(g.Param("q"), g.Param("k"), g.Param("v"), mask, cfg, relNodes...)
		compileCheck(t, g, y, func(m *Machine) {
			if err := m.SetInts("mask", []int64{1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, B, T); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAddLeadingRowsMaskRowsGradients(t *testing.T) {
	s := NewStore()
	randParam(t, s, "x", 2, 3, 4)
	randParam(t, s, "table", 5, 4)
	s.Initialize(21)
	g := NewGraph(s, true)
	mask := g.IntInput("mask", 2, 3)
	y := MaskRows(AddLeadingRows(g.Param("x"), g.Param("table")), mask)
	compileCheck(t, g, y, func(m *Machine) {
		if err := m.SetInts("mask", []int64{1, 1, 0, 1, 0, 1}, 2, 3); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBiLSTMOpGradients(t *testing.T) {
	s := NewStore()
	randParam(t, s, "x", 2, 4, 3)
	names := []string{"wih", "whh", "bih", "bhh", "wih_r", "whh_r", "bih_r", "bhh_r"}
	shapes := [][]int{{8, 3}, {8, 2}, {8}, {8}, {8, 3}, {8, 2}, {8}, {8}}
	for i, n := range names {
		randParam(t, s, n, shapes[i]...)
	}
	s.Initialize(31)
	g := NewGraph(s, true)
	lengths := g.IntInput("lengths", 2)
	var w [8]*Node
	for i, n := range names {
		w[i] = g.Param(n)
	}
	y := BiLSTM(g.Param("x"), lengths, w)
	compileCheck(t, g, y, func(m *Machine) {
		if err := m.SetInts("lengths", []int64{4, 2}, 2); err != nil {
			t.Fatal(err)
		}
	})
}
