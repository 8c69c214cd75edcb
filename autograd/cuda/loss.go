//go:build glcuda

package cuda

import (
	"fmt"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
)

// The span loss on the device (kernels/loss.cu): inputs logits (B,W,K,C),
// labels (B,W·K,C), span mask (B,W·K), prompts mask (B,C); output the
// scalar loss. Negative sampling (masking other than "none" with
// negatives < 1) draws from the host's RNG and reduction "none" returns
// per-element losses: both are refused (CheckKernel and here).

const (
	slLW = iota
	slLocal
	slPartial
	slSum
	slDenom
	slDiv
)

// spanLossSupported reports why o has no device version, or nil.
func spanLossSupported(o kern.LossOptions) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if o.Masking != kern.MaskingNone && o.Negatives < 1 {
		return fmt.Errorf("kernel %q with negative masking %q has no CUDA implementation yet (its sampling draws from the host's RNG)", "span_loss", o.Masking)
	}
	if o.Reduction != kern.ReductionSum && o.Reduction != kern.ReductionMean {
		return fmt.Errorf("kernel %q with reduction %q has no CUDA implementation yet", "span_loss", o.Reduction)
	}
	return nil
}

func (be *Backend) spanLossForward(k autograd.Kernel, a kern.SpanLossAttrs, in []autograd.Value, out autograd.Value) error {
	o := a.Options
	if err := spanLossSupported(o); err != nil {
		return err
	}
	l := in[0].Shape
	B, S, C := l[0], l[1]*l[2], l[3]
	n := B * S * C
	s, err := be.state(k, n*8, n*8, sumSqBlocks*8, 8, 8, 8)
	if err != nil {
		return err
	}
	if n == 0 {
		return be.d.Zero(out.Dev, 4)
	}
	if err := be.d.Launch("gl_span_loss_elems", grid(n), threads, s.bufs[slLW], s.bufs[slLocal], in[0].Dev, in[1].Dev,
		in[2].Dev, in[3].Dev, B, S, C, float64(o.Alpha), float64(o.Gamma), float64(o.ProbMargin), float64(o.LabelSmoothing)); err != nil {
		return err
	}
	if err := be.d.Launch("gl_sum_f64_partial", sumSqBlocks, threads, s.bufs[slPartial], s.bufs[slLW], n); err != nil {
		return err
	}
	if err := be.d.Launch("gl_sum_partials", 1, threads, s.bufs[slSum], s.bufs[slPartial], sumSqBlocks); err != nil {
		return err
	}
	if err := be.d.Launch("gl_sum_f32_partial", sumSqBlocks, threads, s.bufs[slPartial], in[2].Dev, B*S); err != nil {
		return err
	}
	if err := be.d.Launch("gl_sum_partials", 1, threads, s.bufs[slDenom], s.bufs[slPartial], sumSqBlocks); err != nil {
		return err
	}
	mean := uint32(0)
	if o.Reduction == kern.ReductionMean {
		mean = 1
	}
	return be.d.Launch("gl_loss_finish", 1, 1, out.Dev, s.bufs[slDiv], s.bufs[slSum], s.bufs[slDenom], mean)
}

func (be *Backend) spanLossBackward(k autograd.Kernel, in []autograd.Value, dout autograd.Value, grads []autograd.Value) error {
	if grads[0].Dev == 0 {
		return nil
	}
	s := be.saved[k]
	if s == nil || len(s.bufs) <= slDiv {
		return fmt.Errorf("backward before forward")
	}
	n := in[0].Size()
	return be.d.Launch("gl_loss_bwd", grid(n), threads, grads[0].Dev, s.bufs[slLocal], s.bufs[slDiv], dout.Dev, n)
}
