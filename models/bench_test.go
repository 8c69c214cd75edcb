package models

import (
	"fmt"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
)

// pairK builds the reference's z (B,W,C,3H) explicitly (the unfused
// scorer, for the benchmark's comparison).
type pairK struct{ B, W, C, H int }

func (k *pairK) Name() string { return "pair" }
func (k *pairK) OutShape(in [][]int) ([]int, error) {
	k.B, k.W, k.C, k.H = in[0][0], in[0][1], in[1][1], in[0][2]/2
	return []int{k.B, k.W, k.C, 3 * k.H}, nil
}
func (k *pairK) Forward(in []Value, out Value) error {
	kern.SpanPairForward(out.F, in[0].F, in[1].F, k.B, k.W, k.C, k.H)
	return nil
}
func (k *pairK) Backward(in []Value, _ Value, dout Value, grads []Value) error {
	kern.SpanPairBackward(grads[0].F, grads[1].F, dout.F, in[0].F, in[1].F, k.B, k.W, k.C, k.H)
	return nil
}

// BenchmarkScorerHidden times forward+backward of the scorer's pair
// features and first out_mlp layer, fused (ScorerHidden) and as the
// reference computes it (z materialised, then Linear(3H→4H)).
func BenchmarkScorerHidden(b *testing.B) {
	const B, W, C, H = 4, 48, 16, 128
	for _, fused := range []bool{true, false} {
		b.Run(fmt.Sprintf("fused=%v", fused), func(b *testing.B) {
			s := autograd.NewStore()
			for name, shape := range map[string][]int{"t": {B, W, 2 * H}, "l": {B, C, 2 * H}, "w": {4 * H, 3 * H}, "b": {4 * H}} {
				if _, err := s.Add(name, shape, autograd.Normal{Std: 0.1}); err != nil {
					b.Fatal(err)
				}
			}
			s.Initialize(1)
			g := autograd.NewGraph(s, true)
			t, l, w, bias := g.Param("t"), g.Param("l"), g.Param("w"), g.Param("b")
			var h *autograd.Node
			if fused {
				h = ScorerHidden(t, l, w, bias)
			} else {
				h = autograd.Linear(g.Apply(&pairK{}, t, l), w, bias)
			}
			m, err := autograd.Compile(g, autograd.DotConst(h, fixedWeights(B*W*C*4*H, 1)))
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if err := m.Run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
