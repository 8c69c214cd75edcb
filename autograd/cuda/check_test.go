//go:build glcuda

package cuda

import (
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
