package kern

import (
	"math/rand/v2"
	"testing"
)

func TestSumMaxAxisValuesAndGradients(t *testing.T) {
	// (2,2,3,2) reduced over axis 2: outer = 4, n = 3, inner = 2.
	x := make([]float32, 24)
	for i := range x {
		x[i] = float32(i)
	}
	s := make([]float32, 8)
	SumAxis(s, x, 4, 3, 2)
	expectClose(t, "sum", s, []float64{6, 9, 24, 27, 42, 45, 60, 63}, 0, 0)
	m, am := make([]float32, 8), make([]int32, 8)
	MaxAxis(m, am, x, 4, 3, 2)
	expectClose(t, "max", m, []float64{4, 5, 10, 11, 16, 17, 22, 23}, 0, 0)
	MaxAxis(m[:1], am[:1], []float32{3, 7, 7}, 1, 3, 1)
	if am[0] != 1 {
		t.Errorf("argmax of a tie = %d, want the first, 1", am[0])
	}

	r := rand.New(rand.NewPCG(29, 30))
	outer, n, inner := 3, 4, 5
	src, w := randF32(r, outer*n*inner, 1), randW(r, outer*inner)
	dst, arg, dsrc := make([]float32, outer*inner), make([]int32, outer*inner), make([]float32, outer*n*inner)
	fs := func() float64 { SumAxis(dst, src, outer, n, inner); return lossDot(w, dst) }
	SumAxisBackward(dsrc, toF32(w), outer, n, inner)
	CheckGrad(t, "sum", fs, src, dsrc, 1e-3, 1e-3)
	fm := func() float64 { MaxAxis(dst, arg, src, outer, n, inner); return lossDot(w, dst) }
	fm()
	MaxAxisBackward(dsrc, toF32(w), arg, outer, n, inner)
	CheckGrad(t, "max", fm, src, dsrc, 1e-4, 1e-3)
}

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
