//go:build glcuda

package cuda

import (
	"fmt"
	"unsafe"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
)

// DeviceKernels lists, by kern.Attrs kernel name, the kernels with a CUDA
// implementation (forward and backward; the optimizer kernels have no
// backward). CheckKernel refuses every other kernel when a plan is
// compiled (autograd.KernelChecker), so no plan falls back to the host.
var DeviceKernels = []string{
	"add", "relu", "activation", "dropout", "layernorm", "linear", "conv1d", "bmm_nt", "gather_rows", "embedding",
	"attention", "span_first_layer", "span_loss", "bilstm", "concat_last", "columns", "add_leading_rows", "mask_rows", "broadcast_rows", "masked_mean",
	"sigmoid_pair_mask", "scaled_sum", "dot_const", "adamw", "grad_norm", "scale",
}

// CheckKernel implements autograd.KernelChecker: nil when the backend
// runs k (and, with backward, its backward), else an error naming k. It
// needs no device.
func (be *Backend) CheckKernel(k autograd.Kernel, backward bool) error {
	a := autograd.AttrsOf(k)
	switch a := a.(type) {
	case kern.AddAttrs, kern.ReLUAttrs, kern.DropoutAttrs, kern.LayerNormAttrs, kern.LinearAttrs, kern.Conv1DAttrs,
		kern.BatchMatMulNTAttrs, kern.GatherRowsAttrs, kern.EmbeddingAttrs, kern.SpanFirstLayerAttrs, kern.BiLSTMAttrs,
		kern.ConcatLastAttrs, kern.ColumnsAttrs, kern.AddLeadingRowsAttrs, kern.MaskRowsAttrs,
		kern.BroadcastRowsAttrs, kern.MaskedMeanAttrs, kern.SigmoidPairMaskAttrs, kern.ScaledSumAttrs,
		kern.DotConstAttrs, kern.ReshapeAttrs:
		return nil
	case kern.ActivationAttrs:
		_, err := actKernel(a.Act, true)
		return err
	case kern.AttentionAttrs:
		if a.Dropout > 0 {
			return fmt.Errorf("kernel %q with dropout %g has no CUDA implementation yet (attention dropout on the device)", a.Kernel(), a.Dropout)
		}
		return nil
	case kern.SpanLossAttrs:
		return spanLossSupported(a.Options)
	case kern.AdamWAttrs, kern.GradNormAttrs, kern.ScaleAttrs:
		if backward {
			return fmt.Errorf("kernel %q has no backward", a.Kernel())
		}
		return nil
	}
	return unsupported(a, k)
}

var _ autograd.KernelChecker = (*Backend)(nil)

// optimForward runs the optimizer kernels (package train's AdamW,
// gradient norm and clipping on a device-resident store).
func (be *Backend) optimForward(a kern.Attrs, in []autograd.Value, out autograd.Value) (bool, error) {
	switch a := a.(type) {
	case kern.AdamWAttrs:
		n := in[0].Size()
		s := AdamWScalars{Decay: a.Decay, Beta1: a.Beta1, Beta2: a.Beta2, OneMinusBeta1: a.OneMinusBeta1,
			OneMinusBeta2: a.OneMinusBeta2, NegStep: a.NegStep, BiasCorr2Sqrt: a.BiasCorr2Sqrt, Eps: a.Eps}
		return true, be.AdamW(in[0].Dev, in[1].Dev, in[2].Dev, in[3].Dev, n, s)
	case kern.GradNormAttrs:
		ptrs := make([]DevicePtr, len(in))
		sizes := make([]int, len(in))
		for i, g := range in {
			ptrs[i], sizes[i] = g.Dev, g.Size()
		}
		// Each tensor's sum of squares comes back (8 bytes per tensor)
		// and the norm goes to out: train downloads it as the step's
		// gradient-norm metric.
		nrm, err := be.GradNorm(ptrs, sizes)
		if err != nil {
			return true, err
		}
		return true, be.CopyFromHostPtr(out.Dev, []float32{nrm})
	case kern.ScaleAttrs:
		return true, be.elementwise("gl_scale", in[0].Size(), in[0].Dev, a.C)
	}
	return false, nil
}

// CopyFromHostPtr writes host floats at a device address.
func (be *Backend) CopyFromHostPtr(dst DevicePtr, src []float32) error {
	if len(src) == 0 {
		return nil
	}
	return be.d.Upload(dst, ptrFloat32(src), len(src)*4)
}

func ptrFloat32(s []float32) unsafe.Pointer { return unsafe.Pointer(&s[0]) }
