package train

import (
	"fmt"
	"math"

	"github.com/gliner-go/gliner/autograd"
)

// GradNorm is the global L2 norm of the parameters' gradients as
// torch.nn.utils.clip_grad_norm_ computes it: each parameter's norm rounded
// to float32, then the norm of those norms. Accumulation is in float64.
func GradNorm(params []*autograd.Param) float32 {
	var total float64
	for _, p := range params {
		var s float64
		for _, g := range p.Grad {
			s += float64(g) * float64(g)
		}
		n := float64(float32(math.Sqrt(s)))
		total += n * n
	}
	return float32(math.Sqrt(total))
}

// ClipGradNorm scales the gradients so that their global L2 norm is at most
// maxNorm, as torch.nn.utils.clip_grad_norm_: clip_coef = max_norm /
// (total_norm + 1e-6) (torch computes the division as reciprocal times
// max_norm, in float32) and gradients are multiplied by it only when it is
// below 1. It returns the norm before clipping. A non-finite norm leaves
// the gradients untouched (the loop reports it).
func ClipGradNorm(params []*autograd.Param, maxNorm float64) float32 {
	total := GradNorm(params)
	if math.IsNaN(float64(total)) || math.IsInf(float64(total), 0) {
		return total
	}
	coef := float32(1/float32(total+float32(1e-6))) * float32(maxNorm)
	if coef < 1 {
		for _, p := range params {
			for i := range p.Grad {
				p.Grad[i] = float32(p.Grad[i] * coef)
			}
		}
	}
	return total
}

// NonFiniteError stops training when the loss or a gradient is NaN or
// infinite. Step is the optimizer step being computed (1-based), What is
// "loss" or "gradient", Param the first parameter (in store order) whose
// gradient is non-finite, Micro the micro-batch whose loss was.
type NonFiniteError struct {
	Step  int
	What  string
	Param string
	Micro int
	Value float64
}

func (e *NonFiniteError) Error() string {
	if e.What == "loss" {
		return fmt.Sprintf("train: step %d: loss of micro-batch %d is %v", e.Step, e.Micro, e.Value)
	}
	return fmt.Sprintf("train: step %d: gradient of %q is non-finite (%v); global grad norm non-finite", e.Step, e.Param, e.Value)
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// firstNonFinite returns the first parameter whose gradient holds a NaN or
// infinity and that value.
func firstNonFinite(params []*autograd.Param) (string, float64) {
	for _, p := range params {
		for _, g := range p.Grad {
			if !isFinite(float64(g)) {
				return p.Name, float64(g)
			}
		}
	}
	// Every element finite but the sum of squares overflowed.
	return "", math.Inf(1)
}
