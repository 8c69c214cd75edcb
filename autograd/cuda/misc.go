//go:build glcuda

package cuda

import (
	"fmt"
	"unsafe"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
)

// The small kernels of kern/elementwise_misc.go on the device. The first
// result reports whether a is one of them.

func (be *Backend) miscForward(k autograd.Kernel, a kern.Attrs, in []autograd.Value, out autograd.Value) (bool, error) {
	switch a := a.(type) {
	case kern.SigmoidPairMaskAttrs:
		B, E := in[0].Shape[0], in[0].Shape[1]
		return true, be.d.Launch("gl_sigmoid_pair_mask_fwd", grid(B*E*E), threads, out.Dev, in[0].Dev, in[1].Dev, B, E)
	case kern.ScaledSumAttrs:
		if len(a.Weights) != len(in) {
			return true, fmt.Errorf("%d weights for %d inputs", len(a.Weights), len(in))
		}
		for i, x := range in {
			first := 0
			if i == 0 {
				first = 1
			}
			if err := be.d.Launch("gl_scaled_sum_term", 1, 1, out.Dev, x.Dev, a.Weights[i], uint32(first)); err != nil {
				return true, err
			}
		}
		if len(in) == 0 {
			return true, be.d.Zero(out.Dev, 4)
		}
		return true, nil
	case kern.DotConstAttrs:
		n := in[0].Size()
		if len(a.W) != n {
			return true, fmt.Errorf("constant has %d values for an input of %d", len(a.W), n)
		}
		s, err := be.constant(k, a.W, sumSqBlocks*8+8)
		if err != nil {
			return true, err
		}
		part, tot := s.bufs[1], s.bufs[1]+DevicePtr(sumSqBlocks*8)
		if err := be.d.Launch("gl_dot_partial", sumSqBlocks, threads, part, in[0].Dev, s.bufs[0], n); err != nil {
			return true, err
		}
		if err := be.d.Launch("gl_sum_partials", 1, threads, tot, part, sumSqBlocks); err != nil {
			return true, err
		}
		return true, be.d.Launch("gl_double_to_float", 1, 1, out.Dev, tot)
	}
	return false, nil
}

func (be *Backend) miscBackward(k autograd.Kernel, a kern.Attrs, in []autograd.Value, dout autograd.Value, grads []autograd.Value) (bool, error) {
	switch a := a.(type) {
	case kern.SigmoidPairMaskAttrs:
		if grads[0].Dev == 0 {
			return true, nil
		}
		B, E := in[0].Shape[0], in[0].Shape[1]
		return true, be.d.Launch("gl_sigmoid_pair_mask_bwd", grid(B*E*E), threads, grads[0].Dev, dout.Dev, in[0].Dev, in[1].Dev, B, E)
	case kern.ScaledSumAttrs:
		for i, g := range grads {
			if g.Dev != 0 {
				if err := be.d.Launch("gl_scale_by_scalar", 1, threads, g.Dev, DevicePtr(0), a.Weights[i], dout.Dev, 1); err != nil {
					return true, err
				}
			}
		}
		return true, nil
	case kern.DotConstAttrs:
		if grads[0].Dev == 0 {
			return true, nil
		}
		s := be.saved[k]
		if s == nil {
			return true, fmt.Errorf("backward before forward")
		}
		n := in[0].Size()
		return true, be.d.Launch("gl_scale_by_scalar", grid(n), threads, grads[0].Dev, s.bufs[0], float32(1), dout.Dev, n)
	}
	return false, nil
}

// constant keeps a kernel's constant w on the device (buffer 0, uploaded
// once per kernel value: attributes are fixed when the graph is built)
// with scratch bytes in buffer 1.
func (be *Backend) constant(k autograd.Kernel, w []float32, scratch int) (*saved, error) {
	fresh := be.saved[k] == nil
	s, err := be.state(k, len(w)*4, scratch)
	if err != nil {
		return nil, err
	}
	if fresh && len(w) > 0 {
		if err := be.d.Upload(s.bufs[0], unsafe.Pointer(&w[0]), len(w)*4); err != nil {
			return nil, err
		}
	}
	return s, nil
}
