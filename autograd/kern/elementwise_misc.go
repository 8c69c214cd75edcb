package kern

import (
	"fmt"
	"math"
)

// SigmoidPairMaskForward writes y[b,i,j] = σ(x[b,i,j])·m[b,i]·m[b,j] for
// scores x (B,E,E) and a 0/1 entity mask m (B,E): the relations layers'
// sigmoid and _apply_pair_mask (urchade/GLiNER c2bb58d
// gliner/modeling/multitask/relations_layers.py, _apply_pair_mask).
func SigmoidPairMaskForward(y, x, m []float32, B, E int) {
	checkLen("SigmoidPairMaskForward", "x", x, B*E*E)
	checkLen("SigmoidPairMaskForward", "y", y, B*E*E)
	checkLen("SigmoidPairMaskForward", "m", m, B*E)
	for b := 0; b < B; b++ {
		for i := 0; i < E; i++ {
			for j := 0; j < E; j++ {
				k := (b*E+i)*E + j
				s := float32(1 / (1 + math.Exp(-float64(x[k]))))
				y[k] = s * m[b*E+i] * m[b*E+j]
			}
		}
	}
}

// SigmoidPairMaskBackward OVERWRITES dx = dy·m_i·m_j·σ(x)(1−σ(x)); the mask
// has no gradient.
func SigmoidPairMaskBackward(dx, dy, x, m []float32, B, E int) {
	checkLen("SigmoidPairMaskBackward", "x", x, B*E*E)
	checkLen("SigmoidPairMaskBackward", "dy", dy, B*E*E)
	checkLen("SigmoidPairMaskBackward", "dx", dx, B*E*E)
	checkLen("SigmoidPairMaskBackward", "m", m, B*E)
	for b := 0; b < B; b++ {
		for i := 0; i < E; i++ {
			for j := 0; j < E; j++ {
				k := (b*E+i)*E + j
				s := float32(1 / (1 + math.Exp(-float64(x[k]))))
				dx[k] = dy[k] * m[b*E+i] * m[b*E+j] * s * (1 - s)
			}
		}
	}
}

// ScaledSumForward returns Σ w[i]·x[i] over scalars, summed in float32 in
// order.
func ScaledSumForward(w, x []float32) float32 {
	if len(w) != len(x) {
		panic(fmt.Sprintf("kern.ScaledSumForward: %d weights for %d inputs", len(w), len(x)))
	}
	var s float32
	for i, v := range x {
		s += w[i] * v
	}
	return s
}

// ScaledSumBackward returns the gradient w[i]·dy of input i.
func ScaledSumBackward(w []float32, i int, dy float32) float32 { return w[i] * dy }

// DotConstForward returns Σ x[i]·w[i] accumulated in float64.
func DotConstForward(x, w []float32) float32 {
	checkLen("DotConstForward", "x", x, len(w))
	var s float64
	for i, v := range x {
		s += float64(v) * float64(w[i])
	}
	return float32(s)
}

// DotConstBackward OVERWRITES dx = dy·w.
func DotConstBackward(dx, w []float32, dy float32) {
	checkLen("DotConstBackward", "dx", dx, len(w))
	for i := range dx {
		dx[i] = dy * w[i]
	}
}
