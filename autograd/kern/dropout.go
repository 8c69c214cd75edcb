package kern

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// DropoutForward applies inverted dropout with drop probability p: each
// element is kept with probability 1 − p and scaled by 1/(1 − p), so the
// expectation is unchanged (PyTorch's nn.Dropout). It writes the per-element
// multiplier (0 or 1/(1 − p), as float32) into mask and y = x·mask.
// The keep decisions are drawn in index order from rng (two elements per
// rng.Uint64(), one 32-bit uniform u each; kept when u ≥ p·2³²), so a
// seeded rng gives the same mask every run
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
	// Two 32-bit uniforms per draw: element i is kept when its uniform
	// u ∈ [0, 2³²) satisfies u ≥ p·2³².
	thr := uint64(p * (1 << 32))
	for i := 0; i < len(mask); i += 2 {
		r := rng.Uint64()
		mask[i] = keep(r&0xffffffff, thr, scale)
		if i+1 < len(mask) {
			mask[i+1] = keep(r>>32, thr, scale)
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

// keep is scale when u ≥ thr, else 0 (u, thr < 2³²), through a bit mask:
// with p = 0.4 the branch would mispredict on two draws in five.
func keep(u, thr uint64, scale float32) float32 {
	m := uint32(^((int64(u) - int64(thr)) >> 63))
	return math.Float32frombits(math.Float32bits(scale) & m)
}
