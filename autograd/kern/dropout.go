package kern

import (
	"fmt"
	"math/rand/v2"
)

// DropoutForward applies inverted dropout with drop probability p: each
// element is kept with probability 1 − p and scaled by 1/(1 − p), so the
// expectation is unchanged (PyTorch's nn.Dropout). It writes the per-element
// multiplier (0 or 1/(1 − p), as float32) into mask and y = x·mask.
// The keep decisions are drawn in index order from rng (an element is kept
// when rng.Float64() ≥ p), so a seeded rng gives the same mask every run
// regardless of Workers. p = 0 is the identity (mask all 1, rng untouched);
// p = 1 drops everything (y = 0, rng untouched). y may alias x.
// It returns an error when p is outside [0, 1] or rng is nil while needed.
func DropoutForward(y, mask, x []float32, p float64, rng *rand.Rand) error {
	checkLen("DropoutForward", "y", y, len(x))
	checkLen("DropoutForward", "mask", mask, len(x))
	if !(p >= 0 && p <= 1) {
		return fmt.Errorf("kern.DropoutForward: drop probability %v outside [0, 1]", p)
	}
	switch {
	case p == 0:
		for i := range mask {
			mask[i] = 1
		}
		copy(y, x)
		return nil
	case p == 1:
		for i := range mask {
			mask[i] = 0
			y[i] = 0
		}
		return nil
	}
	if rng == nil {
		return fmt.Errorf("kern.DropoutForward: nil random generator with p = %v", p)
	}
	scale := float32(1 / (1 - p))
	for i := range mask {
		if rng.Float64() >= p {
			mask[i] = scale
		} else {
			mask[i] = 0
		}
	}
	elementwise(len(x), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			y[i] = x[i] * mask[i]
		}
	})
	return nil
}

// DropoutBackward writes dx = dy·mask, with the mask DropoutForward wrote
// (same elements dropped, same 1/(1 − p) scale). dx may alias dy.
func DropoutBackward(dx, dy, mask []float32) {
	checkLen("DropoutBackward", "dy", dy, len(mask))
	checkLen("DropoutBackward", "dx", dx, len(mask))
	elementwise(len(mask), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dx[i] = dy[i] * mask[i]
		}
	})
}
