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
// with erf evaluated as PyTorch's vectorised CPU erf does (erf32: the
// Abramowitz–Stegun 7.1.26 rational form, |error| < 1.5e-7), which is also
// several times faster than math.Erf. y may alias x; the backward needs x.
func GELUForward(y, x []float32) {
	checkLen("GELUForward", "y", y, len(x))
	elementwise(len(x), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := x[i]
			e := erf32(v * float32(invSqrt2))
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
			cdf := 0.5 * (1 + erf32(v*float32(invSqrt2)))
			pdf := float32(invSqrt2Pi) * attnExp(v*v*-0.5)
			dx[i] = dy[i] * (cdf + v*pdf)
		}
	})
}

// fma32 is a float32 fused multiply-add: a·b is exact in float64, so one
// rounding of the float64 sum and one to float32 stand in for the single
// rounding of the hardware instruction.
func fma32(a, b, c float32) float32 { return float32(float64(a)*float64(b) + float64(c)) }

// erf32 is PyTorch's Vectorized<float>::erf (ATen vec256/vec512, used by
// its CPU GELU): t = 1/(p·|x| + 1), r = ((((p5·t + p4)·t + p3)·t + p2)·t + p1),
// erf = sign(x)·(1 − r·t·exp(−x²)), with fused multiply-adds where ATen
// has them. Absolute error below 1.5e-7.
func erf32(x float32) float32 {
	const (
		p  = 0.3275911
		p1 = 0.254829592
		p2 = -0.284496736
		p3 = 1.421413741
		p4 = -1.453152027
		p5 = 1.061405429
	)
	// a = |x| and the result's sign flip for x < 0 through the sign bit
	// (neg is 1<<31 exactly when x < 0): the branches on x's sign
	// mispredict about half the time on activations.
	neg := posMask(math.Float32bits(x)^signBit) & signBit
	a := math.Float32frombits(math.Float32bits(x) ^ neg)
	t := 1 / fma32(p, a, 1)
	r := fma32(fma32(fma32(fma32(p5, t, p4), t, p3), t, p2), t, p1)
	e := -attnExp(-(x * x))
	v := fma32(e*t, r, 1)
	return math.Float32frombits(math.Float32bits(v) ^ neg)
}

const signBit = 1 << 31

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
	if len(x) < 2*elemGrain {
		reluRange(y, x, 0, len(x)) // no closure: small calls do not allocate
		return
	}
	elementwise(len(x), func(lo, hi int) { reluRange(y, x, lo, hi) })
}

func reluRange(y, x []float32, lo, hi int) {
	reluInto(y[lo:hi], x[lo:hi])
}

// reluInto writes dst = src where src > 0, else +0 (NaN gives 0), through
// a bit mask: the branch of `if v > 0` mispredicts about half the time on
// activations of random sign.
func reluInto(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		b := math.Float32bits(v)
		dst[i] = math.Float32frombits(b & posMask(b))
	}
}

// posMask is all ones when the float32 with bits b is > 0 (+Inf included,
// NaN not), else 0.
func posMask(b uint32) uint32 {
	s := int64(int32(b))
	return uint32((-s)>>63) & uint32((s-0x7f800001)>>63)
}

// ReLUBackward writes dx = dy where the forward OUTPUT y > 0, else 0
// (PyTorch's threshold_backward: the gradient at 0 is 0). dx may alias dy.
func ReLUBackward(dx, dy, y []float32) {
	checkLen("ReLUBackward", "dy", dy, len(y))
	checkLen("ReLUBackward", "dx", dx, len(y))
	if len(y) < 2*elemGrain {
		reluBackRange(dx, dy, y, 0, len(y))
		return
	}
	elementwise(len(y), func(lo, hi int) { reluBackRange(dx, dy, y, lo, hi) })
}

func reluBackRange(dx, dy, y []float32, lo, hi int) {
	dx, dy, y = dx[lo:hi], dy[lo:hi], y[lo:hi]
	dy = dy[:len(y)]
	dx = dx[:len(y)]
	for i, v := range y {
		// dy where y > 0, else +0, without a branch (see reluInto).
		dx[i] = math.Float32frombits(math.Float32bits(dy[i]) & posMask(math.Float32bits(v)))
	}
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
