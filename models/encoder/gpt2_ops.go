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
func (conv1DK) Forward(in []autograd.Value, out autograd.Value) error {
	x, w, b := in[0], in[1], in[2].F
	i, o := w.Shape[0], w.Shape[1]
	rows := x.Size() / i
	for r := 0; r < rows; r++ {
		copy(out.F[r*o:(r+1)*o], b)
	}
	kern.Sgemm(false, false, rows, o, i, 1, x.F, i, w.F, o, 1, out.F, o)
	return nil
}
func (conv1DK) Backward(in []autograd.Value, _ autograd.Value, dout autograd.Value, grads []autograd.Value) error {
	x, w := in[0], in[1]
	i, o := w.Shape[0], w.Shape[1]
	rows := x.Size() / i
	if grads[0].F != nil {
		kern.Sgemm(false, true, rows, i, o, 1, dout.F, o, w.F, o, 0, grads[0].F, i)
	}
	if grads[1].F != nil {
		kern.Sgemm(true, false, i, o, rows, 1, x.F, i, dout.F, o, 0, grads[1].F, o)
	}
	if db := grads[2].F; db != nil {
		clear(db)
		for r := 0; r < rows; r++ {
			for j, v := range dout.F[r*o : (r+1)*o] {
				db[j] += v
			}
		}
	}
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
func (k columnsK) Forward(in []autograd.Value, out autograd.Value) error {
	w := in[0].Dim(-1)
	rows := in[0].Size() / w
	for r := 0; r < rows; r++ {
		copy(out.F[r*k.Width:(r+1)*k.Width], in[0].F[r*w+k.Off:r*w+k.Off+k.Width])
	}
	return nil
}
func (k columnsK) Backward(in []autograd.Value, _ autograd.Value, dout autograd.Value, grads []autograd.Value) error {
	dx := grads[0].F
	if dx == nil {
		return nil
	}
	w := in[0].Dim(-1)
	rows := in[0].Size() / w
	clear(dx)
	for r := 0; r < rows; r++ {
		copy(dx[r*w+k.Off:r*w+k.Off+k.Width], dout.F[r*k.Width:(r+1)*k.Width])
	}
	return nil
}

// columns returns the columns [off, off+width) of x's last axis: how
// c_attn's (B,T,3D) output is split into q, k and v.
func columns(x *autograd.Node, off, width int) *autograd.Node {
	return x.Graph().Apply(columnsK{Off: off, Width: width}, x)
}
