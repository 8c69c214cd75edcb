package autograd

import (
	"fmt"
	"slices"

	"github.com/gliner-go/gliner/autograd/kern"
)

// ---- positional rows -------------------------------------------------------

type addRowsK struct{}

func (addRowsK) Name() string { return "add_leading_rows" }
func (addRowsK) OutShape(in [][]int) ([]int, error) {
	x, t := in[0], in[1]
	if len(x) < 2 || len(t) != 2 || t[1] != x[len(x)-1] || t[0] < x[len(x)-2] {
		return nil, fmt.Errorf("table %v cannot supply the rows of %v", t, x)
	}
	return cloneShape(x), nil
}
func (addRowsK) Attrs() kern.Attrs { return kern.AddLeadingRowsAttrs{} }
func (addRowsK) Forward(in []Value, out Value) error {
	x := in[0]
	T, D := x.Dim(-2), x.Dim(-1)
	kern.AddLeadingRowsForward(out.F, x.F, in[1].F, x.Size()/(T*D), T, D)
	return nil
}
func (addRowsK) Backward(in []Value, _ Value, dout Value, grads []Value) error {
	x := in[0]
	T, D := x.Dim(-2), x.Dim(-1)
	kern.AddLeadingRowsBackward(grads[0].F, grads[1].F, dout.F, x.Size()/(T*D), T, D)
	return nil
}

// Backward reads only shapes.
func (addRowsK) BackwardReadsInput(int) bool { return false }
func (addRowsK) BackwardReadsOutput() bool   { return false }

// AddLeadingRows adds rows 0..T−1 of table (N,D), N ≥ T, to every (T,D)
// block of x (..., T, D): absolute position embeddings, and with T = 1 the
// token-type-0 embedding of a (B·T, 1, D) view.
func AddLeadingRows(x, table *Node) *Node { return x.g.Apply(addRowsK{}, x, table) }

// ---- masking ---------------------------------------------------------------

type maskRowsK struct{}

func (maskRowsK) Name() string { return "mask_rows" }
func (maskRowsK) OutShape(in [][]int) ([]int, error) {
	x, m := in[0], in[1]
	if len(x) != len(m)+1 || !slices.Equal(x[:len(m)], m) {
		return nil, fmt.Errorf("mask %v does not fit %v", m, x)
	}
	return cloneShape(x), nil
}
func (maskRowsK) Attrs() kern.Attrs { return kern.MaskRowsAttrs{} }
func (maskRowsK) Forward(in []Value, out Value) error {
	kern.MaskRowsForward(out.F, in[0].F, in[1].I, in[0].Dim(-1))
	return nil
}
func (maskRowsK) Backward(in []Value, _ Value, dout Value, grads []Value) error {
	if grads[0].F != nil {
		kern.MaskRowsBackward(grads[0].F, dout.F, in[1].I, in[0].Dim(-1))
	}
	return nil
}

// Backward reads the mask (input 1), not x's data or the output.
func (maskRowsK) BackwardReadsInput(i int) bool { return i == 1 }
func (maskRowsK) BackwardReadsOutput() bool     { return false }

// MaskRows zeroes the rows of x (..., D) whose int mask (...) is 0.
func MaskRows(x, mask *Node) *Node {
	if !mask.isInt {
		return x.g.Fail(fmt.Errorf("mask_rows: mask must be an int input"))
	}
	return x.g.Apply(maskRowsK{}, x, mask)
}
