//go:build glcuda

package cuda

import (
	"math/rand/v2"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
	"github.com/gliner-go/gliner/models"
)

// columnsK is models/encoder's column selection (unexported there): the
// same Attrs and the same kern calls.
type columnsK struct{ off, width int }

func (k columnsK) Name() string      { return "columns" }
func (k columnsK) Attrs() kern.Attrs { return kern.ColumnsAttrs{Off: k.off, Width: k.width} }
func (k columnsK) OutShape(in [][]int) ([]int, error) {
	s := append([]int(nil), in[0]...)
	s[len(s)-1] = k.width
	return s, nil
}
func (k columnsK) Forward(in []autograd.Value, out autograd.Value) error {
	w := in[0].Dim(-1)
	kern.ColumnsForward(out.F, in[0].F, in[0].Size()/w, w, k.off, k.width)
	return nil
}
func (k columnsK) Backward(in []autograd.Value, _ autograd.Value, dout autograd.Value, grads []autograd.Value) error {
	w := in[0].Dim(-1)
	kern.ColumnsBackward(grads[0].F, dout.F, in[0].Size()/w, w, k.off, k.width)
	return nil
}

// The layout kernels on the device equal the CPU's, forward and backward.
func TestCUDALayout(t *testing.T) {
	be := gpu(t)
	r := rand.New(rand.NewPCG(21, 22))
	k := oneKernel(t, func(g *autograd.Graph) {
		autograd.Concat(g.Input("a", 3, 5, 7), g.Input("b", 3, 5, 2), g.Input("c", 3, 5, 11))
	})
	compare(t, be, k, []autograd.Value{fl(r, 3, 5, 7), fl(r, 3, 5, 2), fl(r, 3, 5, 11)}, []bool{true, true, true}, 23)
	k = oneKernel(t, func(g *autograd.Graph) { g.Apply(columnsK{off: 4, width: 6}, g.Input("x", 2, 9, 15)) })
	compare(t, be, k, []autograd.Value{fl(r, 2, 9, 15)}, []bool{true}, 24)
	k = oneKernel(t, func(g *autograd.Graph) { autograd.AddLeadingRows(g.Input("x", 4, 6, 10), g.Input("t", 9, 10)) })
	compare(t, be, k, []autograd.Value{fl(r, 4, 6, 10), fl(r, 9, 10)}, []bool{true, true}, 25)
	mask := autograd.Value{Shape: []int{3, 5}, I: []int64{1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1}}
	k = oneKernel(t, func(g *autograd.Graph) { autograd.MaskRows(g.Input("x", 3, 5, 8), g.IntInput("m", 3, 5)) })
	compare(t, be, k, []autograd.Value{fl(r, 3, 5, 8), mask}, []bool{true, false}, 26)
	k = oneKernel(t, func(g *autograd.Graph) { models.MaskedMean(g.Input("x", 3, 5, 8), g.IntInput("m", 3, 5)) })
	compare(t, be, k, []autograd.Value{fl(r, 3, 5, 8), mask}, []bool{true, false}, 27)
	k = oneKernel(t, func(g *autograd.Graph) { models.BroadcastRows(g.Input("x", 7, 12), 5) })
	compare(t, be, k, []autograd.Value{fl(r, 7, 12)}, []bool{true}, 28)
}
