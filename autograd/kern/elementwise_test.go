package kern

import (
	"math/rand/v2"
	"testing"
)

func TestElementwiseValues(t *testing.T) {
	a, b := []float32{1, 2, 3, 4}, []float32{10, 20, 30, 40}
	d := make([]float32, 4)
	Add(d, a, b)
	expectClose(t, "add", d, []float64{11, 22, 33, 44}, 0, 0)
	Mul(d, a, b)
	expectClose(t, "mul", d, []float64{10, 40, 90, 160}, 0, 0)
	Scale(d, a, -0.5)
	expectClose(t, "scale", d, []float64{-0.5, -1, -1.5, -2}, 0, 0)
	AddBias(d, a, []float32{100, 200}, 2, 2)
	expectClose(t, "addbias", d, []float64{101, 202, 103, 204}, 0, 0)
	db := []float32{7, 7}
	AddBiasBackward(db, a, 2, 2)
	expectClose(t, "dbias", db, []float64{4, 6}, 0, 0)
	da, dbb := make([]float32, 4), make([]float32, 4)
	MulBackward(da, dbb, []float32{1, 1, 2, 2}, a, b)
	expectClose(t, "dmul a", da, []float64{10, 20, 60, 80}, 0, 0)
	expectClose(t, "dmul b", dbb, []float64{1, 2, 6, 8}, 0, 0)
}

func TestAddBiasGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	rows, cols := 5, 3
	x, bias, w := randF32(r, rows*cols, 1), randF32(r, cols, 1), randW(r, rows*cols)
	y, db := make([]float32, rows*cols), make([]float32, cols)
	f := func() float64 { AddBias(y, x, bias, rows, cols); return lossDot(w, y) }
	AddBiasBackward(db, toF32(w), rows, cols)
	CheckGrad(t, "dbias", f, bias, db, 1e-2, 1e-3)
}

func TestSpanPair(t *testing.T) {
	// Values: B=1, W=1, C=2, H=1: t = [t0=2, t1=3]; l = [[5,7],[11,13]].
	z := make([]float32, 6)
	SpanPairForward(z, []float32{2, 3}, []float32{5, 7, 11, 13}, 1, 1, 2, 1)
	expectClose(t, "z", z, []float64{2, 5, 21, 2, 11, 39}, 0, 0)

	r := rand.New(rand.NewPCG(23, 24))
	B, W, C, H := 2, 3, 4, 5
	tt, l := randF32(r, B*W*2*H, 1), randF32(r, B*C*2*H, 1)
	w := randW(r, B*W*C*3*H)
	z = make([]float32, B*W*C*3*H)
	f := func() float64 { SpanPairForward(z, tt, l, B, W, C, H); return lossDot(w, z) }
	dt, dl := make([]float32, len(tt)), make([]float32, len(l))
	SpanPairBackward(dt, dl, toF32(w), tt, l, B, W, C, H)
	CheckGrad(t, "dt", f, tt, dt, 1e-2, 1e-3)
	CheckGrad(t, "dl", f, l, dl, 1e-2, 1e-3)
}

func TestScaleRows(t *testing.T) {
	d := make([]float32, 4)
	ScaleRows(d, []float32{1, 2, 3, 4}, []float32{0, 2}, 2, 2)
	expectClose(t, "scalerows", d, []float64{0, 0, 6, 8}, 0, 0)

	r := rand.New(rand.NewPCG(33, 34))
	rows, cols := 4, 5
	x, s, w := randF32(r, rows*cols, 1), randF32(r, rows, 2), randW(r, rows*cols)
	y, dx, ds := make([]float32, rows*cols), make([]float32, rows*cols), make([]float32, rows)
	f := func() float64 { ScaleRows(y, x, s, rows, cols); return lossDot(w, y) }
	ScaleRowsBackward(dx, ds, toF32(w), x, s, rows, cols)
	CheckGrad(t, "dx", f, x, dx, 1e-2, 1e-3)
	CheckGrad(t, "ds", f, s, ds, 1e-2, 1e-3)
}
