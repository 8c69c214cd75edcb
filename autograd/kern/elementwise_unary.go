package kern

import "math"

// RsqrtForward writes y = 1/√x (float64 evaluation). y may alias x.
func RsqrtForward(y, x []float32) {
	checkLen("RsqrtForward", "y", y, len(x))
	elementwise(len(x), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			y[i] = float32(1 / math.Sqrt(float64(x[i])))
		}
	})
}

// RsqrtBackward writes dx = −½·dy·y³ from the forward OUTPUT y
// (d/dx x^(−1/2) = −½x^(−3/2)). dx may alias dy.
func RsqrtBackward(dx, dy, y []float32) {
	checkLen("RsqrtBackward", "dy", dy, len(y))
	checkLen("RsqrtBackward", "dx", dx, len(y))
	elementwise(len(y), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := float64(y[i])
			dx[i] = float32(-0.5 * float64(dy[i]) * v * v * v)
		}
	})
}

// Log2Forward writes y = log₂x. y may alias x.
func Log2Forward(y, x []float32) {
	checkLen("Log2Forward", "y", y, len(x))
	elementwise(len(x), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			y[i] = float32(math.Log2(float64(x[i])))
		}
	})
}

// Log2Backward writes dx = dy/(x·ln 2) from the forward INPUT x. dx may
// alias dy.
func Log2Backward(dx, dy, x []float32) {
	checkLen("Log2Backward", "dy", dy, len(x))
	checkLen("Log2Backward", "dx", dx, len(x))
	elementwise(len(x), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dx[i] = float32(float64(dy[i]) / (float64(x[i]) * math.Ln2))
		}
	})
}
