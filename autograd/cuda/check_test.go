//go:build glcuda

package cuda

import (
	"fmt"
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
		{kern.BiLSTMAttrs{}, ""},
		{kern.DecoderInputsAttrs{}, `"decoder_inputs"`},
		{kern.TokenLossAttrs{}, `"token_loss"`},
		{kern.SpanLossAttrs{Options: kern.LossOptions{Alpha: -1, Negatives: 0.5, Masking: kern.MaskingGlobal}}, "negative masking"},
		{kern.SpanLossAttrs{Options: kern.LossOptions{Alpha: -1, Reduction: kern.ReductionNone, Negatives: 1}}, "reduction"},
		{kern.SpanLossAttrs{Options: kern.DefaultLossOptions()}, ""},
		{kern.ScorerHiddenAttrs{}, `"scorer_hidden"`},
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

// spanFirstK is models' span_first_layer over kern's CPU bodies (the
// models' kernel is unexported there), for the CPU-vs-CUDA comparison.
type spanFirstK struct{ si, ei []int32 }

func (*spanFirstK) Name() string      { return "span_first_layer" }
func (*spanFirstK) Attrs() kern.Attrs { return kern.SpanFirstLayerAttrs{} }
func (*spanFirstK) OutShape(in [][]int) ([]int, error) {
	return []int{in[0][0], in[4][1], in[2][0]}, nil
}
func (*spanFirstK) NonDifferentiable(i int) bool { return i >= 4 }
func (k *spanFirstK) Forward(in []autograd.Value, out autograd.Value) error {
	B, W, H, O, S := in[0].Shape[0], in[0].Shape[1], in[0].Shape[2], in[2].Shape[0], in[4].Shape[1]
	var si, ei []int32
	k.si, k.ei = autograd.Int32s(&si, in[4].I), autograd.Int32s(&ei, in[5].I)
	ps, pe := make([]float32, B*W*H), make([]float32, B*W*H)
	a, b := make([]float32, B*W*O), make([]float32, B*W*O)
	return kern.SpanFirstLayerForward(out.F, ps, pe, a, b, in[0].F, in[1].F, in[2].F, in[3].F, k.si, k.ei, B, W, H, O, S)
}
func (k *spanFirstK) Backward(in []autograd.Value, _ autograd.Value, dout autograd.Value, grads []autograd.Value) error {
	B, W, H, O, S := in[0].Shape[0], in[0].Shape[1], in[0].Shape[2], in[2].Shape[0], in[4].Shape[1]
	ps, pe := make([]float32, B*W*H), make([]float32, B*W*H)
	for i, v := range in[0].F {
		ps[i] = max(v, 0)
	}
	for i, v := range in[1].F {
		pe[i] = max(v, 0)
	}
	da, db := make([]float32, B*W*O), make([]float32, B*W*O)
	return kern.SpanFirstLayerBackward(grads[0].F, grads[1].F, grads[2].F, grads[3].F, dout.F, in[0].F, in[1].F, in[2].F, ps, pe, da, db, k.si, k.ei, B, W, H, O, S)
}

func TestCUDASpanFirstLayer(t *testing.T) {
	be := gpu(t)
	r := rand.New(rand.NewPCG(21, 22))
	const B, W, H, O, S = 2, 7, 24, 40, 12
	si, ei := autograd.Value{Shape: []int{B, S}, I: make([]int64, B*S)}, autograd.Value{Shape: []int{B, S}, I: make([]int64, B*S)}
	for i := range si.I {
		si.I[i] = int64(i % W)
		ei.I[i] = min(si.I[i]+int64(i%3), W-1)
	}
	k := oneKernel(t, func(g *autograd.Graph) {
		g.Apply(&spanFirstK{}, g.Input("start", B, W, H), g.Input("end", B, W, H), g.Input("w", O, 2*H), g.Input("b", O),
			g.IntInput("si", B, S), g.IntInput("ei", B, S))
	})
	compare(t, be, k, []autograd.Value{fl(r, B, W, H), fl(r, B, W, H), fl(r, O, 2*H), fl(r, O), si, ei},
		[]bool{true, true, true, true, false, false}, 23)
}

// spanLossK is models' span_loss over kern.SpanLoss (the models' kernel is
// unexported there), for the CPU-vs-CUDA comparison.
type spanLossK struct {
	o   kern.LossOptions
	res *kern.LossResult
}

func (*spanLossK) Name() string                    { return "span_loss" }
func (k *spanLossK) Attrs() kern.Attrs             { return kern.SpanLossAttrs{Options: k.o} }
func (*spanLossK) OutShape([][]int) ([]int, error) { return []int{}, nil }
func (*spanLossK) NonDifferentiable(i int) bool    { return i > 0 }
func (k *spanLossK) Forward(in []autograd.Value, out autograd.Value) error {
	l := in[0].Shape
	res, err := kern.SpanLoss(in[0].F, in[1].F, l[0], l[1]*l[2], l[3], in[2].F, in[3].F, k.o, nil)
	if err != nil {
		return err
	}
	k.res, out.F[0] = res, res.Loss
	return nil
}
func (k *spanLossK) Backward(_ []autograd.Value, _ autograd.Value, dout autograd.Value, grads []autograd.Value) error {
	return k.res.BackwardInto(grads[0].F, dout.F)
}

func TestCUDASpanLoss(t *testing.T) {
	be := gpu(t)
	r := rand.New(rand.NewPCG(31, 32))
	const B, W, K, C = 2, 5, 3, 4
	S := W * K
	labels := autograd.Value{Shape: []int{B, S, C}, F: make([]float32, B*S*C)}
	for i := range labels.F {
		switch i % 11 {
		case 0, 4:
			labels.F[i] = 1
		case 7:
			labels.F[i] = -100
		}
	}
	spanMask := autograd.Value{Shape: []int{B, S}, F: make([]float32, B*S)}
	for i := range spanMask.F {
		if i%S < S-4 {
			spanMask.F[i] = 1
		}
	}
	promptsMask := autograd.Value{Shape: []int{B, C}, F: []float32{1, 1, 1, 0, 1, 1, 0, 0}}
	for _, o := range []kern.LossOptions{
		kern.DefaultLossOptions(),
		{Alpha: 0.75, Gamma: 2, LabelSmoothing: 0.1, Reduction: kern.ReductionMean, Negatives: 1},
		{Alpha: -1, ProbMargin: 0.05, Reduction: kern.ReductionMean, Negatives: 1},
	} {
		k := oneKernel(t, func(g *autograd.Graph) {
			g.Apply(&spanLossK{o: o}, g.Input("logits", B, W, K, C), g.Input("labels", B, S, C), g.Input("span_mask", B, S),
				g.Input("prompts_mask", B, C))
		})
		compare(t, be, k, []autograd.Value{fl(r, B, W, K, C), labels, spanMask, promptsMask}, []bool{true, false, false, false}, 33)
	}
}

// The BiLSTM over a padded batch (one full row, one short, one empty) on
// the device against the CPU's kern.BiLSTMForward / BiLSTMBackward.
func TestCUDABiLSTM(t *testing.T) {
	be := gpu(t)
	r := rand.New(rand.NewPCG(41, 42))
	const B, W, In, H = 3, 6, 10, 8
	k := oneKernel(t, func(g *autograd.Graph) {
		var w [8]*autograd.Node
		for d := 0; d < 2; d++ {
			w[4*d] = g.Input(fmt.Sprintf("wih%d", d), 4*H, In)
			w[4*d+1] = g.Input(fmt.Sprintf("whh%d", d), 4*H, H)
			w[4*d+2] = g.Input(fmt.Sprintf("bih%d", d), 4*H)
			w[4*d+3] = g.Input(fmt.Sprintf("bhh%d", d), 4*H)
		}
		autograd.BiLSTM(g.Input("x", B, W, In), g.IntInput("lengths", B), w)
	})
	in := []autograd.Value{fl(r, B, W, In), {Shape: []int{B}, I: []int64{6, 3, 0}}}
	need := []bool{true, false}
	for d := 0; d < 2; d++ {
		in = append(in, fl(r, 4*H, In), fl(r, 4*H, H), fl(r, 4*H), fl(r, 4*H))
		need = append(need, true, true, true, true)
	}
	compare(t, be, k, in, need, 43)
}
