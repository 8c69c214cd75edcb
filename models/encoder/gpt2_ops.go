package encoder

import (
	"fmt"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
)

// conv1DK is GPT-2's Conv1D: y = x·W + b over the last axis with W stored
// as [in, out] (the transpose of nn.Linear's layout).
type conv1DK struct{}

func (conv1DK) Name() string { return "conv1d" }
func (conv1DK) OutShape(in [][]int) ([]int, error) {
	x, w, b := in[0], in[1], in[2]
	if len(w) != 2 || len(x) < 1 || x[len(x)-1] != w[0] {
		return nil, fmt.Errorf("input %v does not fit Conv1D weight %v (in, out)", x, w)
	}
	if len(b) != 1 || b[0] != w[1] {
		return nil, fmt.Errorf("bias %v does not fit Conv1D weight %v", b, w)
	}
	out := append([]int(nil), x...)
	out[len(out)-1] = w[1]
	return out, nil
}
func (conv1DK) Attrs() kern.Attrs { return kern.Conv1DAttrs{} }
func (conv1DK) Forward(in []autograd.Value, out autograd.Value) error {
	x, w := in[0], in[1]
	i, o := w.Shape[0], w.Shape[1]
	kern.Conv1DForward(out.F, x.F, w.F, in[2].F, x.Size()/i, i, o)
	return nil
}
func (conv1DK) Backward(in []autograd.Value, _ autograd.Value, dout autograd.Value, grads []autograd.Value) error {
	x, w := in[0], in[1]
	i, o := w.Shape[0], w.Shape[1]
	kern.Conv1DBackward(grads[0].F, grads[1].F, grads[2].F, dout.F, x.F, w.F, x.Size()/i, i, o)
	return nil
}

// conv1D applies GPT-2's Conv1D: x (..., in), w (in, out), b (out) → (..., out).
func conv1D(x, w, b *autograd.Node) *autograd.Node {
	return x.Graph().Apply(conv1DK{}, x, w, b)
}

// columnsK selects the columns [Off, Off+Width) of the last axis.
type columnsK struct{ Off, Width int }

func (k columnsK) Name() string { return fmt.Sprintf("columns[%d:%d]", k.Off, k.Off+k.Width) }
func (k columnsK) OutShape(in [][]int) ([]int, error) {
	x := in[0]
	if len(x) < 1 || k.Off < 0 || k.Width <= 0 || k.Off+k.Width > x[len(x)-1] {
		return nil, fmt.Errorf("columns [%d, %d) are outside the last axis of %v", k.Off, k.Off+k.Width, x)
	}
	out := append([]int(nil), x...)
	out[len(out)-1] = k.Width
	return out, nil
}
func (k columnsK) Attrs() kern.Attrs { return kern.ColumnsAttrs{Off: k.Off, Width: k.Width} }
func (k columnsK) Forward(in []autograd.Value, out autograd.Value) error {
	w := in[0].Dim(-1)
	kern.ColumnsForward(out.F, in[0].F, in[0].Size()/w, w, k.Off, k.Width)
	return nil
}
func (k columnsK) Backward(in []autograd.Value, _ autograd.Value, dout autograd.Value, grads []autograd.Value) error {
	if grads[0].F != nil {
		w := in[0].Dim(-1)
		kern.ColumnsBackward(grads[0].F, dout.F, in[0].Size()/w, w, k.Off, k.Width)
	}
	return nil
}

// columns returns the columns [off, off+width) of x's last axis: how
// c_attn's (B,T,3D) output is split into q, k and v.
func columns(x *autograd.Node, off, width int) *autograd.Node {
	return x.Graph().Apply(columnsK{Off: off, Width: width}, x)
}
