//go:build glcuda

package cuda

import (
	"math/rand/v2"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
	"github.com/gliner-go/gliner/models"
)

// scaledSumK is the relex and decoder models' weighted loss sum
// (unexported there): the same Attrs and kern calls.
type scaledSumK struct{ w []float32 }

func (k scaledSumK) Name() string                    { return "scaled_sum" }
func (k scaledSumK) Attrs() kern.Attrs               { return kern.ScaledSumAttrs{Weights: k.w} }
func (k scaledSumK) OutShape([][]int) ([]int, error) { return []int{}, nil }
func (k scaledSumK) Forward(in []autograd.Value, out autograd.Value) error {
	xs := make([]float32, len(in))
	for i, v := range in {
		xs[i] = v.F[0]
	}
	out.F[0] = kern.ScaledSumForward(k.w, xs)
	return nil
}
func (k scaledSumK) Backward(_ []autograd.Value, _ autograd.Value, dout autograd.Value, grads []autograd.Value) error {
	for i, g := range grads {
		if g.F != nil {
			g.F[0] = kern.ScaledSumBackward(k.w, i, dout.F[0])
		}
	}
	return nil
}

// The small kernels on the device equal the CPU's, forward and backward.
func TestCUDAMisc(t *testing.T) {
	be := gpu(t)
	r := rand.New(rand.NewPCG(31, 32))
	m := autograd.Value{Shape: []int{2, 6}, F: []float32{1, 1, 1, 0, 1, 0, 1, 1, 0, 0, 0, 0}}
	k := oneKernel(t, func(g *autograd.Graph) { models.SigmoidPairMask(g.Input("x", 2, 6, 6), g.Input("m", 2, 6)) })
	x := fl(r, 2, 6, 6)
	for i := range x.F {
		x.F[i] *= 4
	}
	compare(t, be, k, []autograd.Value{x, m}, []bool{true, false}, 33)
	w := randFloats(r, 3*50)
	k = oneKernel(t, func(g *autograd.Graph) { autograd.DotConst(g.Input("x", 3, 50), w) })
	compare(t, be, k, []autograd.Value{fl(r, 3, 50)}, []bool{true}, 34)
	k = oneKernel(t, func(g *autograd.Graph) {
		g.Apply(scaledSumK{w: []float32{1, 0.5, 2}}, g.Input("a"), g.Input("b"), g.Input("c"))
	})
	compare(t, be, k, []autograd.Value{fl(r), fl(r), fl(r)}, []bool{true, true, true}, 35)
}
