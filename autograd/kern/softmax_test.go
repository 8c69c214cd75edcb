package kern

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestSoftmaxValues(t *testing.T) {
	// Row 0: softmax(1,2,3); row 1: position 1 masked; row 2: fully masked.
	x := []float32{1, 2, 3, 1, 1000, 1, 5, 6, 7}
	mask := []float32{1, 1, 1, 1, 0, 1, 0, 0, 0}
	y := make([]float32, 9)
	SoftmaxForward(y, x, mask, 3, 3)
	e1, e2, e3 := math.Exp(1), math.Exp(2), math.Exp(3)
	s := e1 + e2 + e3
	expectClose(t, "y", y, []float64{e1 / s, e2 / s, e3 / s, 0.5, 0, 0.5, 0, 0, 0}, 1e-7, 0)
	// Large values do not overflow.
	SoftmaxForward(y[:2], []float32{1000, 1000}, nil, 1, 2)
	expectClose(t, "large", y[:2], []float64{0.5, 0.5}, 0, 0)
	LogSoftmaxForward(y, x, mask, 3, 3)
	ls := math.Log(s)
	ninf := math.Inf(-1)
	expectClose(t, "log y", y, []float64{1 - ls, 2 - ls, 3 - ls, -math.Ln2, ninf, -math.Ln2, ninf, ninf, ninf}, 1e-7, 0)
}

func TestSoftmaxGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	rows, cols := 4, 6
	x, w := randF32(r, rows*cols, 3), randW(r, rows*cols)
	mask := make([]float32, rows*cols)
	for i := range mask {
		if r.IntN(4) != 0 || i%cols == 0 {
			mask[i] = 1
		}
	}
	y, dx := make([]float32, rows*cols), make([]float32, rows*cols)
	for _, m := range [][]float32{nil, mask} {
		f := func() float64 { SoftmaxForward(y, x, m, rows, cols); return lossDot(w, y) }
		f()
		SoftmaxBackward(dx, toF32(w), y, rows, cols)
		CheckGrad(t, "softmax", f, x, dx, 1e-3, 2e-3)

		// Log-softmax; the loss skips masked (−Inf) outputs.
		fl := func() float64 {
			LogSoftmaxForward(y, x, m, rows, cols)
			var s float64
			for i, v := range y {
				if m == nil || m[i] != 0 {
					s += w[i] * float64(v)
				}
			}
			return s
		}
		fl()
		dy := toF32(w)
		for i := range dy {
			if m != nil && m[i] == 0 {
				dy[i] = float32(math.NaN()) // must be ignored
			}
		}
		LogSoftmaxBackward(dx, dy, y, rows, cols)
		CheckGrad(t, "logsoftmax", fl, x, dx, 1e-3, 2e-3)
	}
}
