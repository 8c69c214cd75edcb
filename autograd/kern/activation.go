package kern

import "math"

// elemGrain is the number of elements below which an elementwise kernel
// stays on the caller's goroutine.
const elemGrain = 1 << 14

const (
	invSqrt2      = 0.70710678118654752440 // 1/√2
	invSqrt2Pi    = 0.39894228040143267794 // 1/√(2π)
	sqrt2OverPi   = 0.79788456080286535588 // √(2/π)
	geluNewCoeff  = 0.044715
	geluNewCoeff3 = 3 * geluNewCoeff
)

// elementwise runs body over [0, n) in parallel chunks.
func elementwise(n int, body func(lo, hi int)) { ParallelFor(n, elemGrain, body) }

// GELUForward is the exact GELU y = x·½·(1 + erf(x/√2)) (PyTorch's
// F.gelu, HF "gelu"). It follows PyTorch's float32 CPU kernel step by step
// — t = x·(1/√2), e = erf(t), y = (x·½)·(1 + e), each rounded to float32 —
// with erf correctly rounded (math.Erf in float64), so results agree with
// torch to within its erf's last-bit error. Like torch it loses relative
// precision for x ≲ −3 (1 + e cancels). y may alias x; the backward needs x.
func GELUForward(y, x []float32) {
	checkLen("GELUForward", "y", y, len(x))
	elementwise(len(x), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := x[i]
			e := float32(math.Erf(float64(v * float32(invSqrt2))))
			y[i] = v * 0.5 * (1 + e)
		}
	})
}

// GELUBackward writes dx = dy·(Φ(x) + x·φ(x)) for the exact GELU, with Φ
// and φ the standard normal CDF and density, following PyTorch's float32
// CPU steps: cdf = ½(1 + erf(x/√2)), pdf = (1/√(2π))·exp(−x²/2).
// dx may alias dy.
func GELUBackward(dx, dy, x []float32) {
	checkLen("GELUBackward", "dy", dy, len(x))
	checkLen("GELUBackward", "dx", dx, len(x))
	elementwise(len(x), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := x[i]
			cdf := 0.5 * (1 + float32(math.Erf(float64(v*float32(invSqrt2)))))
			pdf := float32(invSqrt2Pi) * float32(math.Exp(float64(v*v*-0.5)))
			dx[i] = dy[i] * (cdf + v*pdf)
		}
	})
}

// GELUNewForward is the tanh approximation used by GPT-2 (HF "gelu_new"):
// y = ½x(1 + tanh(√(2/π)(x + 0.044715x³))). y may alias x.
func GELUNewForward(y, x []float32) {
	checkLen("GELUNewForward", "y", y, len(x))
	elementwise(len(x), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := float64(x[i])
			y[i] = float32(0.5 * v * (1 + math.Tanh(sqrt2OverPi*(v+geluNewCoeff*v*v*v))))
		}
	})
}

// GELUNewBackward writes dx = dy·dgelu_new/dx at x. dx may alias dy.
func GELUNewBackward(dx, dy, x []float32) {
	checkLen("GELUNewBackward", "dy", dy, len(x))
	checkLen("GELUNewBackward", "dx", dx, len(x))
	elementwise(len(x), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := float64(x[i])
			th := math.Tanh(sqrt2OverPi * (v + geluNewCoeff*v*v*v))
			d := 0.5*(1+th) + 0.5*v*(1-th*th)*sqrt2OverPi*(1+geluNewCoeff3*v*v)
			dx[i] = float32(float64(dy[i]) * d)
		}
	})
}

// ReLUForward writes y = max(x, 0). y may alias x.
func ReLUForward(y, x []float32) {
	checkLen("ReLUForward", "y", y, len(x))
	elementwise(len(x), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if v := x[i]; v > 0 {
				y[i] = v
			} else {
				y[i] = 0
			}
		}
	})
}

// ReLUBackward writes dx = dy where the forward OUTPUT y > 0, else 0
// (PyTorch's threshold_backward: the gradient at 0 is 0). dx may alias dy.
func ReLUBackward(dx, dy, y []float32) {
	checkLen("ReLUBackward", "dy", dy, len(y))
	checkLen("ReLUBackward", "dx", dx, len(y))
	elementwise(len(y), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if y[i] > 0 {
				dx[i] = dy[i]
			} else {
				dx[i] = 0
			}
		}
	})
}

// TanhForward writes y = tanh(x). y may alias x.
func TanhForward(y, x []float32) {
	checkLen("TanhForward", "y", y, len(x))
	elementwise(len(x), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			y[i] = float32(math.Tanh(float64(x[i])))
		}
	})
}

// TanhBackward writes dx = dy·(1 − y²) from the forward OUTPUT y. dx may
// alias dy.
func TanhBackward(dx, dy, y []float32) {
	checkLen("TanhBackward", "dy", dy, len(y))
	checkLen("TanhBackward", "dx", dx, len(y))
	elementwise(len(y), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dx[i] = dy[i] * (1 - y[i]*y[i])
		}
	})
}

// SigmoidForward writes y = 1/(1 + e^−x). y may alias x.
func SigmoidForward(y, x []float32) {
	checkLen("SigmoidForward", "y", y, len(x))
	elementwise(len(x), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			y[i] = sigmoid32(x[i])
		}
	})
}

// SigmoidBackward writes dx = dy·y·(1 − y) from the forward OUTPUT y. dx
// may alias dy.
func SigmoidBackward(dx, dy, y []float32) {
	checkLen("SigmoidBackward", "dy", dy, len(y))
	checkLen("SigmoidBackward", "dx", dx, len(y))
	elementwise(len(y), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dx[i] = dy[i] * y[i] * (1 - y[i])
		}
	})
}

// sigmoid32 is the logistic function in float64, rounded to float32; it
// does not overflow for large |x|.
func sigmoid32(x float32) float32 {
	v := float64(x)
	if v >= 0 {
		return float32(1 / (1 + math.Exp(-v)))
	}
	e := math.Exp(v)
	return float32(e / (1 + e))
}
