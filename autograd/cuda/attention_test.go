//go:build glcuda

package cuda

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
)

// Attention on the device equals the CPU kernels, forward and backward:
// BERT, causal and DeBERTa's disentangled attention (c2p and p2c, each
// alone and together, bucketed relative positions), with padded positions
// (and a fully padded batch row) in the mask.
func TestCUDAAttention(t *testing.T) {
	be := gpu(t)
	r := rand.New(rand.NewPCG(15, 16))
	const B, T, H, dh = 3, 11, 4, 8
	HD := H * dh
	mask := autograd.Value{Shape: []int{B, T}, I: make([]int64, B*T)}
	for b := 0; b < B; b++ {
		for i := 0; i < T; i++ {
			if b == 0 || (b == 1 && i < 7) { // row 2 fully padded
				mask.I[b*T+i] = 1
			}
		}
	}
	for _, kind := range []kern.AttentionKind{kern.AttnBERT, kern.AttnCausal} {
		cfg := kern.AttentionAttrs{Kind: kind, Heads: H}
		k := oneKernel(t, func(g *autograd.Graph) {
			autograd.Attention(g.Input("q", B, T, HD), g.Input("k", B, T, HD), g.Input("v", B, T, HD), g.IntInput("m", B, T), cfg)
		})
		compare(t, be, k, []autograd.Value{fl(r, B, T, HD), fl(r, B, T, HD), fl(r, B, T, HD), mask}, []bool{true, true, true, false}, 17)
	}
	const P, Pmax = 4, 16
	span := kern.AttSpan(P, Pmax)
	rel, err := kern.BuildRelativeIndex(T, P, Pmax)
	if err != nil {
		t.Fatal(err)
	}
	for _, terms := range [][2]bool{{true, true}, {true, false}, {false, true}} {
		t.Run(fmt.Sprintf("c2p=%v,p2c=%v", terms[0], terms[1]), func(t *testing.T) {
			cfg := kern.AttentionAttrs{Kind: kern.AttnDisentangled, Heads: H,
				Rel: kern.Disentangled{AttSpan: span, C2P: terms[0], P2C: terms[1], RelIndex: rel}}
			in := []autograd.Value{fl(r, B, T, HD), fl(r, B, T, HD), fl(r, B, T, HD), mask}
			need := []bool{true, true, true, false}
			k := oneKernel(t, func(g *autograd.Graph) {
				var tabs []*autograd.Node
				for i, on := range terms {
					if on {
						tabs = append(tabs, g.Input(fmt.Sprintf("p%d", i), 2*span, HD))
					}
				}
				autograd.Attention(g.Input("q", B, T, HD), g.Input("k", B, T, HD), g.Input("v", B, T, HD), g.IntInput("m", B, T), cfg, tabs...)
			})
			for _, on := range terms {
				if on {
					in = append(in, fl(r, 2*span, HD))
					need = append(need, true)
				}
			}
			compare(t, be, k, in, need, 18)
		})
	}
}
