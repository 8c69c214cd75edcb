//go:build glcuda

package cuda

import (
	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
)

// Layout kernels on the device (kern/layout.go): concatenation on the last
// axis, column selection, leading rows, row masking, broadcasting and
// masked mean pooling. The first result reports whether a is one of them.

func (be *Backend) layoutForward(a kern.Attrs, in []autograd.Value, out autograd.Value) (bool, error) {
	switch a := a.(type) {
	case kern.ConcatLastAttrs:
		rows, w := rowsCols(out.Shape)
		off := 0
		for _, x := range in {
			c := x.Dim(-1)
			if err := be.d.Launch("gl_copy_cols", grid(rows*c), threads, out.Dev, w, off, x.Dev, c, 0, rows, c); err != nil {
				return true, err
			}
			off += c
		}
		return true, nil
	case kern.ColumnsAttrs:
		rows, cols := rowsCols(in[0].Shape)
		return true, be.d.Launch("gl_copy_cols", grid(rows*a.Width), threads, out.Dev, a.Width, 0, in[0].Dev, cols, a.Off, rows, a.Width)
	case kern.AddLeadingRowsAttrs:
		TD := in[0].Dim(-2) * in[0].Dim(-1)
		n := in[0].Size()
		return true, be.d.Launch("gl_add_leading_rows", grid(n), threads, out.Dev, in[0].Dev, in[1].Dev, n/TD, TD)
	case kern.MaskRowsAttrs:
		rows, D := rowsCols(in[0].Shape)
		return true, be.d.Launch("gl_mask_rows", grid(rows*D), threads, out.Dev, in[0].Dev, in[1].Dev, rows, D)
	case kern.BroadcastRowsAttrs:
		n := in[0].Size()
		return true, be.d.Launch("gl_broadcast", grid(n*a.Copies), threads, out.Dev, in[0].Dev, n, a.Copies)
	case kern.MaskedMeanAttrs:
		N, T, D := in[0].Shape[0], in[0].Shape[1], in[0].Shape[2]
		return true, be.d.Launch("gl_masked_mean_fwd", grid(N*D), threads, out.Dev, in[0].Dev, in[1].Dev, N, T, D)
	}
	return false, nil
}

func (be *Backend) layoutBackward(a kern.Attrs, in []autograd.Value, dout autograd.Value, grads []autograd.Value) (bool, error) {
	switch a := a.(type) {
	case kern.ConcatLastAttrs:
		rows, w := rowsCols(dout.Shape)
		off := 0
		for i, x := range in {
			c := x.Dim(-1)
			if grads[i].Dev != 0 {
				if err := be.d.Launch("gl_copy_cols", grid(rows*c), threads, grads[i].Dev, c, 0, dout.Dev, w, off, rows, c); err != nil {
					return true, err
				}
			}
			off += c
		}
		return true, nil
	case kern.ColumnsAttrs:
		if grads[0].Dev == 0 {
			return true, nil
		}
		rows, cols := rowsCols(in[0].Shape)
		if err := be.d.Zero(grads[0].Dev, rows*cols*4); err != nil {
			return true, err
		}
		return true, be.d.Launch("gl_copy_cols", grid(rows*a.Width), threads, grads[0].Dev, cols, a.Off, dout.Dev, a.Width, 0, rows, a.Width)
	case kern.AddLeadingRowsAttrs:
		TD := in[0].Dim(-2) * in[0].Dim(-1)
		n := in[0].Size()
		if grads[0].Dev != 0 {
			if err := be.d.CopyDevice(grads[0].Dev, dout.Dev, n*4); err != nil {
				return true, err
			}
		}
		if grads[1].Dev != 0 {
			if err := be.d.Zero(grads[1].Dev, grads[1].Size()*4); err != nil {
				return true, err
			}
			return true, be.d.Launch("gl_sum_blocks", grid(TD), threads, grads[1].Dev, dout.Dev, n/TD, TD)
		}
		return true, nil
	case kern.MaskRowsAttrs:
		if grads[0].Dev == 0 {
			return true, nil
		}
		rows, D := rowsCols(in[0].Shape)
		return true, be.d.Launch("gl_mask_rows", grid(rows*D), threads, grads[0].Dev, dout.Dev, in[1].Dev, rows, D)
	case kern.BroadcastRowsAttrs:
		if grads[0].Dev == 0 {
			return true, nil
		}
		n := in[0].Size()
		return true, be.d.Launch("gl_sum_copies", grid(n), threads, grads[0].Dev, dout.Dev, n, a.Copies)
	case kern.MaskedMeanAttrs:
		if grads[0].Dev == 0 {
			return true, nil
		}
		N, T, D := in[0].Shape[0], in[0].Shape[1], in[0].Shape[2]
		return true, be.d.Launch("gl_masked_mean_bwd", grid(N*T*D), threads, grads[0].Dev, dout.Dev, in[1].Dev, N, T, D)
	}
	return false, nil
}
