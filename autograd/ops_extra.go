package autograd

import (
	"fmt"
	"slices"
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
func (addRowsK) Forward(in []Value, out Value) error {
	x, t := in[0], in[1]
	T, D := x.Dim(-2), x.Dim(-1)
	blocks := x.Size() / (T * D)
	for b := 0; b < blocks; b++ {
		o := out.F[b*T*D : (b+1)*T*D]
		xi := x.F[b*T*D : (b+1)*T*D]
		for i := range o {
			o[i] = xi[i] + t.F[i]
		}
	}
	return nil
}
func (addRowsK) Backward(in []Value, _ Value, dout Value, grads []Value) error {
	x := in[0]
	T, D := x.Dim(-2), x.Dim(-1)
	blocks := x.Size() / (T * D)
	if grads[0].F != nil {
		copy(grads[0].F, dout.F)
	}
	if dt := grads[1].F; dt != nil {
		clear(dt)
		for b := 0; b < blocks; b++ {
			d := dout.F[b*T*D : (b+1)*T*D]
			for i := range d {
				dt[i] += d[i]
			}
		}
	}
	return nil
}

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
func (maskRowsK) Forward(in []Value, out Value) error {
	D := in[0].Dim(-1)
	for r, m := range in[1].I {
		o, x := out.F[r*D:(r+1)*D], in[0].F[r*D:(r+1)*D]
		if m != 0 {
			copy(o, x)
		} else {
			clear(o)
		}
	}
	return nil
}
func (maskRowsK) Backward(in []Value, _ Value, dout Value, grads []Value) error {
	if grads[0].F == nil {
		return nil
	}
	D := in[0].Dim(-1)
	for r, m := range in[1].I {
		g := grads[0].F[r*D : (r+1)*D]
		if m != 0 {
			copy(g, dout.F[r*D:(r+1)*D])
		} else {
			clear(g)
		}
	}
	return nil
}

// MaskRows zeroes the rows of x (..., D) whose int mask (...) is 0.
func MaskRows(x, mask *Node) *Node {
	if !mask.isInt {
		return x.g.Fail(fmt.Errorf("mask_rows: mask must be an int input"))
	}
	return x.g.Apply(maskRowsK{}, x, mask)
}
