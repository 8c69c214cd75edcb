//go:build glcuda

package cuda

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
)

// attrsK is a kernel that only declares attributes (the plan never runs it).
type attrsK struct{ a kern.Attrs }

func (k attrsK) Name() string                                 { return k.a.Kernel() }
func (k attrsK) Attrs() kern.Attrs                            { return k.a }
func (attrsK) OutShape(in [][]int) ([]int, error)             { return []int{}, nil }
func (attrsK) Forward([]autograd.Value, autograd.Value) error { return nil }
func (attrsK) Backward([]autograd.Value, autograd.Value, autograd.Value, []autograd.Value) error {
	return nil
}

// A plan needing a kernel without a device version fails when it is
// compiled for the CUDA backend, naming the kernel; one whose kernels all
// have device versions compiles. Neither needs a GPU: compiling touches
// no device memory.
func TestCompileRefusesKernelsWithoutDeviceVersion(t *testing.T) {
	be := &Backend{}
	for _, c := range []struct {
		a    kern.Attrs
		want string // "" compiles
	}{
		{kern.BiLSTMAttrs{}, `"bilstm"`},
		{kern.SpanLossAttrs{}, `"span_loss"`},
		{kern.SpanFirstLayerAttrs{}, `"span_first_layer"`},
		{kern.AttentionAttrs{Dropout: 0.1}, "attention dropout"},
		{kern.ReLUAttrs{}, ""},
		{kern.LayerNormAttrs{Eps: 1e-5}, ""},
	} {
		store := autograd.NewStore()
		if err := store.Place(be); err != nil {
			t.Fatal(err)
		}
		g := autograd.NewGraph(store, true)
		x := g.Input("x", 2, 3)
		y := g.Apply(attrsK{a: c.a}, x)
		_, err := autograd.CompileIn(autograd.NewArena(be), g, y)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.a.Kernel(), err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "cuda")):
			t.Errorf("%s: compile error %v, want one naming %s and the cuda backend", c.a.Kernel(), err, c.want)
		}
	}
	for _, name := range DeviceKernels {
		if name == "" {
			t.Fatal("empty kernel name in DeviceKernels")
		}
	}
}

// conv1dK is GPT-2's Conv1D over kern's CPU bodies (the models' kernel
// lives in models/encoder), for the CPU-vs-CUDA comparison.
type conv1dK struct{}

func (conv1dK) Name() string      { return "conv1d" }
func (conv1dK) Attrs() kern.Attrs { return kern.Conv1DAttrs{} }
func (conv1dK) OutShape(in [][]int) ([]int, error) {
	out := append([]int(nil), in[0]...)
	out[len(out)-1] = in[1][1]
	return out, nil
}
func (conv1dK) Forward(in []autograd.Value, out autograd.Value) error {
	rows, inW := rowsCols(in[0].Shape)
	kern.Conv1DForward(out.F, in[0].F, in[1].F, in[2].F, rows, inW, in[1].Shape[1])
	return nil
}
func (conv1dK) Backward(in []autograd.Value, _ autograd.Value, dout autograd.Value, grads []autograd.Value) error {
	rows, inW := rowsCols(in[0].Shape)
	kern.Conv1DBackward(grads[0].F, grads[1].F, grads[2].F, dout.F, in[0].F, in[1].F, rows, inW, in[1].Shape[1])
	return nil
}

func TestCUDAConv1D(t *testing.T) {
	be := gpu(t)
	r := rand.New(rand.NewPCG(11, 12))
	k := oneKernel(t, func(g *autograd.Graph) {
		g.Apply(conv1dK{}, g.Input("x", 3, 17, 48), g.Input("w", 48, 40), g.Input("b", 40))
	})
	compare(t, be, k, []autograd.Value{fl(r, 3, 17, 48), fl(r, 48, 40), fl(r, 40)}, []bool{true, true, true}, 13)
}
