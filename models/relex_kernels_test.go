package models

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/losses"
)

// The relation head (each adjacency layer, pair_rep_layer, rel_logits) and
// its losses (adjacency, relation, the weighted total) have gradients that
// match central finite differences, with a padded entity and padded pairs.
func TestRelexHeadGradients(t *testing.T) {
	const B, E, N, R, H = 2, 3, 4, 2, 4
	for _, layer := range []RelationsLayer{RelationsDot, RelationsMLP, RelationsBilinear} {
		t.Run(layer.String(), func(t *testing.T) {
			s := autograd.NewStore()
			addParam(t, s, "ent", B, E, H)
			addParam(t, s, "q", B, R, H)
			parts, err := newRelexParts(s, layer, H, 0)
			if err != nil {
				t.Fatal(err)
			}
			s.Initialize(5)
			// Random values everywhere (biases included, so no ReLU input
			// sits at its kink), small enough to keep σ off the loss clamps.
			for i, p := range s.Params() {
				copy(p.Data, fixedWeights(len(p.Data), uint64(20+i)))
				for j := range p.Data {
					p.Data[j] *= 0.5
				}
			}
			m := &Model{Cfg: &Config{HiddenSize: H}, Store: s, head: &spanRelexHead{relexPart: relexPart{relex: parts}}, Loss: losses.DefaultOptions()}
			g := autograd.NewGraph(s, true)
			k := shapeKey{B: B, E: E, N: N, R: R, train: true}
			b := &builder{m: m, g: g, k: k, c: &compiled{named: map[string]*autograd.Node{}, inputs: map[string]bool{}}}
			ent := g.Param("ent")
			entMask := b.floatInput("ent_mask", B, E)
			adj := b.relexAdjacency(parts, ent, entMask)
			rel := b.relexPairs(parts, ent, g.Param("q"))
			adjLoss := g.Apply(&adjLossK{dyn: m.relexLossOptions}, adj, b.floatInput("adj_matrix", B, E, E), entMask)
			relLoss := g.Apply(&relLossK{dyn: m.relexLossOptions}, rel, b.floatInput("rel_matrix", B, N, R),
				b.floatInput("pair_mask", B, N), b.floatInput("rel_prompts_mask", B, R))
			total := LossSum([]float32{1, 0.5, 2}, adjLoss, relLoss, autograd.DotConst(adj, fixedWeights(B*E*E, 9)))
			// Example 1 has two entities; its third is padding.
			p := &relexPlan{B: B, E: E, R: R, entMask: []float32{1, 1, 1, 1, 1, 0}}
			p.setPairs([][][2]int{{{0, 1}, {0, 2}, {1, 0}, {2, 1}}, {{1, 0}}})
			adjT := []float32{0, 1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0}
			relT := make([]float32, B*N*R)
			relT[0], relT[5], relT[8+1] = 1, 1, 1
			// Finite differences with eps 1e-3 (the ReLUs of pair_rep_layer
			// and mlp have 100+ inputs; at 1e-2 one of them often crosses its kink).
			mach, err := autograd.Compile(g, total, adj)
			if err != nil {
				t.Fatal(err)
			}
			set := func(mc *autograd.Machine) error {
				c := &compiled{m: mc, inputs: b.c.inputs}
				if err := m.bindHeadInputs(c, p); err != nil {
					return err
				}
				for _, err := range []error{mc.SetFloats("adj_matrix", adjT, B, E, E), mc.SetFloats("rel_matrix", relT, B, N, R),
					mc.SetFloats("pair_mask", p.pairMask, B, N), mc.SetFloats("rel_prompts_mask", []float32{1, 1, 1, 0}, B, R)} {
					if err != nil {
						return err
					}
				}
				return nil
			}
			if err := set(mach); err != nil {
				t.Fatal(err)
			}
			if err := autograd.GradCheck(mach, mach.TrainedParams(), 1e-3, 2e-2); err != nil {
				t.Fatal(err)
			}
			if err := mach.Run(); err != nil {
				t.Fatal(err)
			}
			if len(mach.TrainedParams()) < 4 {
				t.Errorf("%d trained parameters", len(mach.TrainedParams()))
			}
			got, err := mach.Value(adj)
			if err != nil {
				t.Fatal(err)
			}
			if layer != RelationsDot {
				return
			}
			// Dot: σ(x_i·x_j)·m_i·m_j.
			ep, _ := s.Get("ent")
			for bi := 0; bi < B; bi++ {
				for i := 0; i < E; i++ {
					for j := 0; j < E; j++ {
						var d float64
						for h := 0; h < H; h++ {
							d += float64(ep.Data[(bi*E+i)*H+h]) * float64(ep.Data[(bi*E+j)*H+h])
						}
						want := 1 / (1 + math.Exp(-d)) * float64(p.entMask[bi*E+i]*p.entMask[bi*E+j])
						if g := float64(got.F[(bi*E+i)*E+j]); math.Abs(g-want) > 1e-6 {
							t.Errorf("A[%d,%d,%d] = %v, want %v", bi, i, j, g, want)
						}
					}
				}
			}
		})
	}
}

// Pairs are row-major off-diagonal above the threshold; padding rows take
// entity 0 and, with no pair at all, one masked zero row (index −1).
func TestRelexPairSelection(t *testing.T) {
	adj := []float32{
		0.9, 0.6, 0.4, 0.7, 0.9, 0.51, 0.2, 0.5, 0.9, // example 0
		0.9, 0.1, 0, 0.2, 0.9, 0, 0, 0, 0, // example 1
	}
	pairs := selectPairs(adj, 2, 3, 0.5)
	// adj[2][1] = 0.5 is not > 0.5; the diagonal never counts.
	if got := fmt.Sprint(pairs[0]); got != "[[0 1] [1 0] [1 2]]" {
		t.Errorf("example 0 pairs %v", got)
	}
	if len(pairs[1]) != 0 {
		t.Errorf("example 1 pairs %v, want none (diagonal ignored)", pairs[1])
	}
	p := &relexPlan{B: 2, E: 3}
	p.setPairs(pairs)
	if p.N != 3 || p.pairHead[3] != 0 || p.pairTail[3] != 0 || p.pairMask[3] != 0 || p.pairMask[2] != 1 {
		t.Errorf("padded pairs N=%d head %v tail %v mask %v", p.N, p.pairHead, p.pairTail, p.pairMask)
	}
	p.setPairs([][][2]int{nil, nil})
	if p.N != 1 || p.pairHead[0] != -1 || p.pairMask[0] != 0 {
		t.Errorf("no pairs: N=%d head %v mask %v", p.N, p.pairHead, p.pairMask)
	}
}

func TestParseRelationsLayer(t *testing.T) {
	for s, want := range map[string]RelationsLayer{"dot": RelationsDot, "MLP": RelationsMLP, "bilinear": RelationsBilinear} {
		if got, err := ParseRelationsLayer(s); err != nil || got != want {
			t.Errorf("%q: %v, %v", s, got, err)
		}
	}
	if _, err := ParseRelationsLayer("biaffine"); err == nil || !strings.Contains(err.Error(), "dot, mlp, bilinear") {
		t.Errorf("biaffine: %v", err)
	}
}
