package kern

import (
	"math/rand/v2"
	"testing"
)

func TestRsqrtLog2(t *testing.T) {
	x := []float32{0.25, 1, 4, 9}
	y := make([]float32, 4)
	RsqrtForward(y, x)
	expectClose(t, "rsqrt", y, []float64{2, 1, 0.5, 1.0 / 3}, 1e-7, 0)
	dx := make([]float32, 4)
	RsqrtBackward(dx, []float32{1, 1, 1, 1}, y)
	// −½x^(−3/2): −4, −0.5, −1/16, −1/54.
	expectClose(t, "drsqrt", dx, []float64{-4, -0.5, -0.0625, -1.0 / 54}, 1e-6, 0)
	Log2Forward(y, x)
	expectClose(t, "log2", y, []float64{-2, 0, 2, 3.169925001442312}, 1e-7, 0)
	Log2Backward(dx, []float32{1, 1, 1, 1}, x)
	expectClose(t, "dlog2", dx, []float64{4 / 0.6931471805599453, 1 / 0.6931471805599453, 0.25 / 0.6931471805599453, 1 / (9 * 0.6931471805599453)}, 1e-7, 0)

	r := rand.New(rand.NewPCG(31, 32))
	xs := randF32(r, 20, 1)
	for i := range xs {
		xs[i] += 1.5
	}
	w := randW(r, 20)
	ys, dxs := make([]float32, 20), make([]float32, 20)
	f := func() float64 { RsqrtForward(ys, xs); return lossDot(w, ys) }
	f()
	RsqrtBackward(dxs, toF32(w), ys)
	CheckGrad(t, "rsqrt", f, xs, dxs, 1e-3, 1e-3)
	fl := func() float64 { Log2Forward(ys, xs); return lossDot(w, ys) }
	Log2Backward(dxs, toF32(w), xs)
	CheckGrad(t, "log2", fl, xs, dxs, 1e-3, 1e-3)
}
