//go:build glcuda

package cuda

import (
	"fmt"

	"github.com/gliner-go/gliner/autograd"
)

// markerV0's span first layer on the device (kern.SpanFirstLayerForward
// and SpanFirstLayerBackward): inputs start, end (B,W,H), weight (O,2H),
// bias (O), span start and end word indices (B,S) int64; output (B,S,O).
// The kernel value keeps ReLU(start), ReLU(end) and copies of the indices
// (its backward does not read the index inputs, whose storage the plan may
// reuse) plus the per-word products' scratch.

const (
	sflPStart = iota
	sflPEnd
	sflA
	sflB
	sflSI
	sflEI
)

func (be *Backend) spanFirstForward(k autograd.Kernel, in []autograd.Value, out autograd.Value) error {
	B, W, H := in[0].Shape[0], in[0].Shape[1], in[0].Shape[2]
	O := in[2].Shape[0]
	S := in[4].Shape[1]
	s, err := be.state(k, B*W*H*4, B*W*H*4, B*W*O*4, B*W*O*4, B*S*8, B*S*8)
	if err != nil {
		return err
	}
	ps, pe, a, b := s.bufs[sflPStart], s.bufs[sflPEnd], s.bufs[sflA], s.bufs[sflB]
	if err := be.elementwise("gl_relu_fwd", B*W*H, ps, in[0].Dev); err != nil {
		return err
	}
	if err := be.elementwise("gl_relu_fwd", B*W*H, pe, in[1].Dev); err != nil {
		return err
	}
	if err := be.d.Sgemm(false, true, B*W, O, H, 1, ps, H, in[2].Dev, 2*H, 0, a, O); err != nil {
		return err
	}
	if err := be.d.Sgemm(false, true, B*W, O, H, 1, pe, H, in[2].Dev+DevicePtr(H*4), 2*H, 0, b, O); err != nil {
		return err
	}
	if err := be.d.CopyDevice(s.bufs[sflSI], in[4].Dev, B*S*8); err != nil {
		return err
	}
	if err := be.d.CopyDevice(s.bufs[sflEI], in[5].Dev, B*S*8); err != nil {
		return err
	}
	return be.checked("span word index", S, W, func() error {
		return be.d.Launch("gl_span_first_add", grid(B*S*O), threads, out.Dev, a, b, in[3].Dev,
			s.bufs[sflSI], s.bufs[sflEI], B, S, W, O, be.bad)
	})
}

func (be *Backend) spanFirstBackward(k autograd.Kernel, in []autograd.Value, dout autograd.Value, grads []autograd.Value) error {
	B, W, H := in[0].Shape[0], in[0].Shape[1], in[0].Shape[2]
	O := in[2].Shape[0]
	S := in[4].Shape[1]
	s := be.saved[k]
	if s == nil || len(s.bufs) <= sflEI {
		return fmt.Errorf("backward before forward")
	}
	// The forward's product buffers are free now: they take the
	// scattered output gradients da, db (B,W,O).
	da, db := s.bufs[sflA], s.bufs[sflB]
	if err := be.d.Launch("gl_scatter_add_rows", grid(B*O), threads, da, dout.Dev, s.bufs[sflSI], B, W, S, O); err != nil {
		return err
	}
	if err := be.d.Launch("gl_scatter_add_rows", grid(B*O), threads, db, dout.Dev, s.bufs[sflEI], B, W, S, O); err != nil {
		return err
	}
	if dw := grads[2].Dev; dw != 0 {
		if err := be.d.Sgemm(true, false, O, H, B*W, 1, da, O, s.bufs[sflPStart], H, 0, dw, 2*H); err != nil {
			return err
		}
		if err := be.d.Sgemm(true, false, O, H, B*W, 1, db, O, s.bufs[sflPEnd], H, 0, dw+DevicePtr(H*4), 2*H); err != nil {
			return err
		}
	}
	if grads[3].Dev != 0 {
		if err := be.d.Launch("gl_col_sum", grid(O), threads, grads[3].Dev, dout.Dev, B*S, O); err != nil {
			return err
		}
	}
	for side, g := range []DevicePtr{grads[0].Dev, grads[1].Dev} {
		if g == 0 {
			continue
		}
		src, p, off := da, s.bufs[sflPStart], 0
		if side == 1 {
			src, p, off = db, s.bufs[sflPEnd], H
		}
		if err := be.d.Sgemm(false, false, B*W, H, O, 1, src, O, in[2].Dev+DevicePtr(off*4), 2*H, 0, g, H); err != nil {
			return err
		}
		// ReLU's mask: ReLU(x) > 0 exactly where x > 0.
		if err := be.elementwise("gl_relu_bwd", B*W*H, g, g, p); err != nil {
			return err
		}
	}
	return nil
}
