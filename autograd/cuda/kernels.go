//go:build glcuda

package cuda

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
)

const threads = 256

// grid is the number of blocks for a grid-stride loop over n elements.
func grid(n int) int {
	b := (n + threads - 1) / threads
	return min(b, 1<<16)
}

func (be *Backend) elementwise(name string, n int, args ...any) error {
	return be.d.Launch(name, grid(n), threads, append(args, n)...)
}

func rowsCols(shape []int) (int, int) {
	if len(shape) == 0 {
		return 1, 1
	}
	c := shape[len(shape)-1]
	if c == 0 {
		return 0, 0
	}
	return autograd.Numel(shape) / c, c
}

// optional is a gradient's address, 0 when it is not needed.
func optional(v autograd.Value) DevicePtr { return v.Dev }

func (be *Backend) forward(k autograd.Kernel, in []autograd.Value, out autograd.Value) error {
	n := out.Size()
	switch a := autograd.AttrsOf(k).(type) {
	case kern.AddAttrs:
		return be.elementwise("gl_add", n, out.Dev, in[0].Dev, in[1].Dev)
	case kern.ReLUAttrs:
		return be.elementwise("gl_relu_fwd", n, out.Dev, in[0].Dev)
	case kern.ActivationAttrs:
		name, err := actKernel(a.Act, true)
		if err != nil {
			return err
		}
		return be.elementwise(name, n, out.Dev, in[0].Dev)
	case kern.DropoutAttrs:
		return be.dropoutForward(k, a, in[0], out)
	case kern.LayerNormAttrs:
		rows, cols := rowsCols(in[0].Shape)
		s, err := be.state(k, rows*4, rows*4)
		if err != nil {
			return err
		}
		return be.d.Launch("gl_layernorm_fwd", rows, threads, out.Dev, s.bufs[0], s.bufs[1], in[0].Dev,
			in[1].Dev, in[2].Dev, rows, cols, a.Eps)
	case kern.LinearAttrs:
		rows, inW := rowsCols(in[0].Shape)
		outW := in[1].Shape[0]
		if err := be.d.Sgemm(false, true, rows, outW, inW, 1, in[0].Dev, inW, in[1].Dev, inW, 0, out.Dev, outW); err != nil {
			return err
		}
		if a.Bias {
			return be.d.Launch("gl_add_bias_rows", grid(rows*outW), threads, out.Dev, in[2].Dev, rows, outW)
		}
		return nil
	case kern.Conv1DAttrs:
		// GPT-2's Conv1D (kern.Conv1DForward): y = x·W + b, W (in, out).
		rows, inW := rowsCols(in[0].Shape)
		outW := in[1].Shape[1]
		if err := be.d.Sgemm(false, false, rows, outW, inW, 1, in[0].Dev, inW, in[1].Dev, outW, 0, out.Dev, outW); err != nil {
			return err
		}
		return be.d.Launch("gl_add_bias_rows", grid(rows*outW), threads, out.Dev, in[2].Dev, rows, outW)
	case kern.BatchMatMulNTAttrs:
		B, M, K, N := in[0].Shape[0], in[0].Shape[1], in[0].Shape[2], in[1].Shape[1]
		return be.d.SgemmStridedBatched(false, true, M, N, K, 1, in[0].Dev, K, M*K, in[1].Dev, K, N*K, 0, out.Dev, N, M*N, B)
	case kern.GatherRowsAttrs:
		B, N, D := in[0].Shape[0], in[0].Shape[1], in[0].Shape[2]
		M := in[1].Shape[1]
		s, err := be.state(k, B*M*8)
		if err != nil {
			return err
		}
		if err := be.d.CopyDevice(s.bufs[0], in[1].Dev, B*M*8); err != nil {
			return err
		}
		return be.checked("gather_rows index", M, N, func() error {
			return be.d.Launch("gl_gather_rows", grid(B*M*D), threads, out.Dev, in[0].Dev, in[1].Dev, B, N, M, D, be.bad)
		})
	case kern.EmbeddingAttrs:
		V, D := in[0].Shape[0], in[0].Shape[1]
		ids := in[1].Size()
		s, err := be.state(k, ids*8)
		if err != nil {
			return err
		}
		if err := be.d.CopyDevice(s.bufs[0], in[1].Dev, ids*8); err != nil {
			return err
		}
		return be.checked("embedding id", 0, V, func() error {
			return be.d.Launch("gl_embedding_fwd", grid(ids*D), threads, out.Dev, in[0].Dev, in[1].Dev, ids, V, D, be.bad)
		})
	case kern.AttentionAttrs:
		return be.attentionForward(k, a, in, out)
	case kern.SpanFirstLayerAttrs:
		return be.spanFirstForward(k, in, out)
	case kern.SpanLossAttrs:
		return be.spanLossForward(k, a, in, out)
	case kern.BiLSTMAttrs:
		return be.biLSTMForward(k, in, out)
	default:
		if ok, err := be.layoutForward(a, in, out); ok {
			return err
		}
		if ok, err := be.miscForward(k, a, in, out); ok {
			return err
		}
		if ok, err := be.optimForward(a, in, out); ok {
			return err
		}
		return unsupported(a, k)
	}
}

func (be *Backend) backward(k autograd.Kernel, in []autograd.Value, out, dout autograd.Value, grads []autograd.Value) error {
	switch a := autograd.AttrsOf(k).(type) {
	case kern.AddAttrs:
		for _, g := range grads {
			if g.Dev != 0 {
				if err := be.d.CopyDevice(g.Dev, dout.Dev, dout.Size()*4); err != nil {
					return err
				}
			}
		}
		return nil
	case kern.ReLUAttrs:
		if grads[0].Dev == 0 {
			return nil
		}
		return be.elementwise("gl_relu_bwd", dout.Size(), grads[0].Dev, dout.Dev, out.Dev)
	case kern.ActivationAttrs:
		if grads[0].Dev == 0 {
			return nil
		}
		name, err := actKernel(a.Act, false)
		if err != nil {
			return err
		}
		src := out.Dev // tanh and sigmoid read the output
		if a.Act == kern.ActGELU || a.Act == kern.ActGELUNew {
			src = in[0].Dev
		}
		return be.elementwise(name, dout.Size(), grads[0].Dev, dout.Dev, src)
	case kern.DropoutAttrs:
		return be.dropoutBackward(k, a, dout, grads[0])
	case kern.LayerNormAttrs:
		rows, cols := rowsCols(in[0].Shape)
		s := be.saved[k]
		if s == nil || len(s.bufs) < 2 {
			return fmt.Errorf("backward before forward")
		}
		if grads[1].Dev != 0 || grads[2].Dev != 0 {
			if err := be.d.Launch("gl_layernorm_bwd_params", grid(cols), threads, optional(grads[1]), optional(grads[2]),
				dout.Dev, in[0].Dev, s.bufs[0], s.bufs[1], rows, cols); err != nil {
				return err
			}
		}
		if grads[0].Dev == 0 {
			return nil
		}
		return be.d.Launch("gl_layernorm_bwd_dx", rows, threads, grads[0].Dev, dout.Dev, in[0].Dev, s.bufs[0], s.bufs[1],
			in[1].Dev, rows, cols)
	case kern.LinearAttrs:
		rows, inW := rowsCols(in[0].Shape)
		outW := in[1].Shape[0]
		if grads[0].Dev != 0 {
			if err := be.d.Sgemm(false, false, rows, inW, outW, 1, dout.Dev, outW, in[1].Dev, inW, 0, grads[0].Dev, inW); err != nil {
				return err
			}
		}
		if grads[1].Dev != 0 {
			if err := be.d.Sgemm(true, false, outW, inW, rows, 1, dout.Dev, outW, in[0].Dev, inW, 0, grads[1].Dev, inW); err != nil {
				return err
			}
		}
		if a.Bias && len(grads) > 2 && grads[2].Dev != 0 {
			return be.d.Launch("gl_col_sum", grid(outW), threads, grads[2].Dev, dout.Dev, rows, outW)
		}
		return nil
	case kern.Conv1DAttrs:
		// kern.Conv1DBackward: dx = dy·Wᵀ, dW = xᵀ·dy, db = Σ_rows dy.
		rows, inW := rowsCols(in[0].Shape)
		outW := in[1].Shape[1]
		if grads[0].Dev != 0 {
			if err := be.d.Sgemm(false, true, rows, inW, outW, 1, dout.Dev, outW, in[1].Dev, outW, 0, grads[0].Dev, inW); err != nil {
				return err
			}
		}
		if grads[1].Dev != 0 {
			if err := be.d.Sgemm(true, false, inW, outW, rows, 1, in[0].Dev, inW, dout.Dev, outW, 0, grads[1].Dev, outW); err != nil {
				return err
			}
		}
		if len(grads) > 2 && grads[2].Dev != 0 {
			return be.d.Launch("gl_col_sum", grid(outW), threads, grads[2].Dev, dout.Dev, rows, outW)
		}
		return nil
	case kern.BatchMatMulNTAttrs:
		B, M, K, N := in[0].Shape[0], in[0].Shape[1], in[0].Shape[2], in[1].Shape[1]
		if grads[0].Dev != 0 {
			if err := be.d.SgemmStridedBatched(false, false, M, K, N, 1, dout.Dev, N, M*N, in[1].Dev, K, N*K, 0, grads[0].Dev, K, M*K, B); err != nil {
				return err
			}
		}
		if grads[1].Dev != 0 {
			return be.d.SgemmStridedBatched(true, false, N, K, M, 1, dout.Dev, N, M*N, in[0].Dev, K, M*K, 0, grads[1].Dev, K, N*K, B)
		}
		return nil
	case kern.GatherRowsAttrs:
		if grads[0].Dev == 0 {
			return nil
		}
		s := be.saved[k]
		if s == nil {
			return fmt.Errorf("backward before forward")
		}
		B, N, D := in[0].Shape[0], in[0].Shape[1], in[0].Shape[2]
		M := in[1].Shape[1]
		return be.d.Launch("gl_scatter_add_rows", grid(B*D), threads, grads[0].Dev, dout.Dev, s.bufs[0], B, N, M, D)
	case kern.EmbeddingAttrs:
		if grads[0].Dev == 0 {
			return nil
		}
		s := be.saved[k]
		if s == nil {
			return fmt.Errorf("backward before forward")
		}
		V, D := in[0].Shape[0], in[0].Shape[1]
		if err := be.d.Zero(grads[0].Dev, V*D*4); err != nil {
			return err
		}
		return be.d.Launch("gl_embedding_bwd", grid(D), threads, grads[0].Dev, dout.Dev, s.bufs[0], in[1].Size(), V, D)
	case kern.AttentionAttrs:
		return be.attentionBackward(k, a, in, dout, grads)
	case kern.SpanFirstLayerAttrs:
		return be.spanFirstBackward(k, in, dout, grads)
	case kern.SpanLossAttrs:
		return be.spanLossBackward(k, in, dout, grads)
	case kern.BiLSTMAttrs:
		return be.biLSTMBackward(k, in, dout, grads)
	default:
		if ok, err := be.layoutBackward(a, in, dout, grads); ok {
			return err
		}
		if ok, err := be.miscBackward(k, a, in, dout, grads); ok {
			return err
		}
		return unsupported(a, k)
	}
}

func actKernel(a kern.Activation, fwd bool) (string, error) {
	var base string
	switch a {
	case kern.ActGELU:
		base = "gl_gelu"
	case kern.ActGELUNew:
		base = "gl_gelu_new"
	case kern.ActTanh:
		base = "gl_tanh"
	case kern.ActSigmoid:
		base = "gl_sigmoid"
	default:
		return "", fmt.Errorf("activation %v has no CUDA kernel", a)
	}
	if fwd {
		return base + "_fwd", nil
	}
	return base + "_bwd", nil
}

// checked runs launch with the index-check word set, then reports the
// first out-of-range position. Rows of m per batch name (batch, position)
// when m > 0. It synchronises the device.
func (be *Backend) checked(what string, m, limit int, launch func() error) error {
	none := ^uint64(0)
	if err := be.d.Upload(be.bad, unsafe.Pointer(&none), 8); err != nil {
		return err
	}
	if err := launch(); err != nil {
		return err
	}
	var bad uint64
	if err := be.d.Download(unsafe.Pointer(&bad), be.bad, 8); err != nil {
		return err
	}
	if bad == none {
		return nil
	}
	if m > 0 {
		return fmt.Errorf("%s [%d,%d] outside [-1, %d)", what, bad/uint64(m), bad%uint64(m), limit)
	}
	return fmt.Errorf("%s[%d] outside [0, %d)", what, bad, limit)
}

// ptrInt32 is the address of an int32 slice's first element (nil when empty).
func ptrInt32(s []int32) unsafe.Pointer {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Pointer(&s[0])
}

// dropoutThreshold is kern.DropoutForward's keep rule: u ≥ p·2³².
func dropoutThreshold(p float64) (uint32, float32) {
	return uint32(p * (1 << 32)), float32(1 / (1 - p))
}

func (be *Backend) dropoutForward(k autograd.Kernel, a kern.DropoutAttrs, x, y autograd.Value) error {
	n := x.Size()
	if !(a.P >= 0 && a.P < 1) {
		return fmt.Errorf("drop probability %v outside [0, 1)", a.P)
	}
	if a.P == 0 {
		return be.d.CopyDevice(y.Dev, x.Dev, n*4)
	}
	s, err := be.state(k)
	if err != nil {
		return err
	}
	s.offset = be.calls
	be.calls++
	thr, scale := dropoutThreshold(a.P)
	return be.d.Launch("gl_dropout", grid((n+3)/4), threads, y.Dev, DevicePtr(0), x.Dev, n, thr, scale,
		uint32(be.seed), uint32(be.seed>>32), s.offset)
}

func (be *Backend) dropoutBackward(k autograd.Kernel, a kern.DropoutAttrs, dy, dx autograd.Value) error {
	if dx.Dev == 0 {
		return nil
	}
	n := dy.Size()
	if a.P == 0 {
		return be.d.CopyDevice(dx.Dev, dy.Dev, n*4)
	}
	s := be.saved[k]
	if s == nil {
		return fmt.Errorf("backward before forward")
	}
	thr, scale := dropoutThreshold(a.P)
	return be.d.Launch("gl_dropout", grid((n+3)/4), threads, dx.Dev, DevicePtr(0), dy.Dev, n, thr, scale,
		uint32(be.seed), uint32(be.seed>>32), s.offset)
}

// DropoutMask writes the multipliers of the dropout call with counter
// offset (the offset-th dropout forward of this backend) for n elements
// into mask: what a forward with that offset applied.
func (be *Backend) DropoutMask(mask DevicePtr, n int, p float64, offset uint64) error {
	thr, scale := dropoutThreshold(p)
	return be.d.Launch("gl_dropout", grid((n+3)/4), threads, DevicePtr(0), mask, DevicePtr(0), n, thr, scale,
		uint32(be.seed), uint32(be.seed>>32), offset)
}

// AdamWScalars are the per-step constants train.AdamW.Step derives (in
// float64, rounded to float32) for one parameter group and step.
type AdamWScalars struct {
	Decay, Beta1, Beta2, OneMinusBeta1, OneMinusBeta2, NegStep, BiasCorr2Sqrt, Eps float32
}

// NewAdamWScalars computes them as train.AdamW.Step does for a group with
// learning rate lr and weight decay wd at 1-based step.
func NewAdamWScalars(lr, wd, beta1, beta2, eps float64, step int64) AdamWScalars {
	bc1 := 1 - math.Pow(beta1, float64(step))
	bc2 := 1 - math.Pow(beta2, float64(step))
	return AdamWScalars{
		Decay: float32(1 - lr*wd), Beta1: float32(beta1), Beta2: float32(beta2),
		OneMinusBeta1: float32(1 - beta1), OneMinusBeta2: float32(1 - beta2),
		NegStep: float32(-(lr / bc1)), BiasCorr2Sqrt: float32(math.Sqrt(bc2)), Eps: float32(eps),
	}
}

// AdamW updates n parameters w in place from gradients g and the moments
// m, v (all device float32), the computation of train.AdamW.Step.
func (be *Backend) AdamW(w, g, m, v DevicePtr, n int, s AdamWScalars) error {
	return be.d.Launch("gl_adamw", grid(n), threads, w, g, m, v, n, s.Decay, s.Beta1, s.Beta2,
		s.OneMinusBeta1, s.OneMinusBeta2, s.NegStep, s.BiasCorr2Sqrt, s.Eps)
}

// sumSqBlocks fixes the reduction's grid so its order never changes.
const sumSqBlocks = 256

// SumSquares returns Σ x² over n device floats, accumulated in float64
// (train.GradNorm's per-parameter sum). It synchronises the device.
func (be *Backend) SumSquares(x DevicePtr, n int) (float64, error) {
	s, err := be.state(nil, sumSqBlocks*8, 8)
	if err != nil {
		return 0, err
	}
	if err := be.d.Launch("gl_sumsq_partial", sumSqBlocks, threads, s.bufs[0], x, n); err != nil {
		return 0, err
	}
	if err := be.d.Launch("gl_sum_partials", 1, threads, s.bufs[1], s.bufs[0], sumSqBlocks); err != nil {
		return 0, err
	}
	var out float64
	if err := be.d.Download(unsafe.Pointer(&out), s.bufs[1], 8); err != nil {
		return 0, err
	}
	return out, nil
}

// GradNorm is train.GradNorm over device gradients: each tensor's norm
// rounded to float32, then the norm of those norms.
func (be *Backend) GradNorm(grads []DevicePtr, sizes []int) (float32, error) {
	var total float64
	for i, g := range grads {
		s, err := be.SumSquares(g, sizes[i])
		if err != nil {
			return 0, fmt.Errorf("cuda backend: grad norm of tensor %d: %w", i, err)
		}
		nrm := float64(float32(math.Sqrt(s)))
		total += nrm * nrm
	}
	return float32(math.Sqrt(total)), nil
}

// ClipGradNorm is train.ClipGradNorm over device gradients: it returns the
// norm before clipping and scales every gradient by the clip coefficient
// when that is below 1 (a non-finite norm leaves them untouched).
func (be *Backend) ClipGradNorm(grads []DevicePtr, sizes []int, maxNorm float64) (float32, error) {
	total, err := be.GradNorm(grads, sizes)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(float64(total)) || math.IsInf(float64(total), 0) {
		return total, nil
	}
	coef := float32(1/float32(total+float32(1e-6))) * float32(maxNorm)
	if coef < 1 {
		for i, g := range grads {
			if err := be.elementwise("gl_scale", sizes[i], g, coef); err != nil {
				return 0, fmt.Errorf("cuda backend: clipping tensor %d: %w", i, err)
			}
		}
	}
	return total, nil
}

// Launch exposes the compiled kernels by name (tests and callers that
// assemble attention from the pieces in attention.cu).
func (be *Backend) Launch(name string, blocks, nthreads int, args ...any) error {
	return be.d.Launch(name, blocks, nthreads, args...)
}
