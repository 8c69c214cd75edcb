package encoder

import (
	"fmt"
	"math"
)

// StabilizeLogits applies GLiNER's NumericalStabilityProcessor in place, in
// float32 as the reference does: −Inf becomes the float32 minimum, values
// are clamped to [−1e9, 1e9], then 1e-6 is added.
func StabilizeLogits(scores []float32) {
	for i, v := range scores {
		if math.IsInf(float64(v), -1) {
			v = -math.MaxFloat32
		}
		v = min(max(v, -1e9), 1e9)
		scores[i] = v + 1e-6
	}
}

// argmax returns the index of the first maximum (torch.argmax's choice on
// ties).
func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// constrain adds −Inf to every score outside allowed (EOS alone when
// allowed is empty), as HF's PrefixConstrainedLogitsProcessor.
func constrain(scores []float32, allowed []int64, eos int) error {
	if len(allowed) == 0 {
		allowed = []int64{int64(eos)}
	}
	keep := make([]bool, len(scores))
	for _, id := range allowed {
		if id < 0 || int(id) >= len(scores) {
			return fmt.Errorf("allowed token %d is outside the vocabulary of %d", id, len(scores))
		}
		keep[id] = true
	}
	for i := range scores {
		if !keep[i] {
			scores[i] = float32(math.Inf(-1))
		}
	}
	return nil
}
