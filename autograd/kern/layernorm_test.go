package kern

import (
	"math"
	"math/rand/v2"
	"testing"
)

func refLayerNorm(x, gamma, beta []float32, rows, cols int, eps float64) []float64 {
	out := make([]float64, rows*cols)
	for r := 0; r < rows; r++ {
		var mu, v float64
		for j := 0; j < cols; j++ {
			mu += float64(x[r*cols+j])
		}
		mu /= float64(cols)
		for j := 0; j < cols; j++ {
			d := float64(x[r*cols+j]) - mu
			v += d * d
		}
		v /= float64(cols)
		for j := 0; j < cols; j++ {
			out[r*cols+j] = (float64(x[r*cols+j])-mu)/math.Sqrt(v+eps)*float64(gamma[j]) + float64(beta[j])
		}
	}
	return out
}

func TestLayerNormHandComputed(t *testing.T) {
	// Row [1,2,3,4]: mean 2.5, var 1.25, x̂ = (x−2.5)/√1.25.
	x := []float32{1, 2, 3, 4}
	y := make([]float32, 4)
	mean, rstd := make([]float32, 1), make([]float32, 1)
	LayerNormForward(y, mean, rstd, x, []float32{1, 2, 1, 1}, []float32{0, 0, 0, 1}, 1, 4, EpsBERT)
	s := math.Sqrt(1.25)
	expectClose(t, "y", y, []float64{-1.5 / s, 2 * -0.5 / s, 0.5 / s, 1.5/s + 1}, 1e-7, 1e-7)
	expectClose(t, "mean", mean, []float64{2.5}, 0, 0)
	expectClose(t, "rstd", rstd, []float64{1 / s}, 1e-7, 0)
	// A constant row normalises to beta exactly and eps decides rstd.
	LayerNormForward(y, mean, rstd, []float32{3, 3, 3, 3}, nil, []float32{0.5, 0.5, 0.5, 0.5}, 1, 4, EpsGPT2)
	expectClose(t, "const y", y, []float64{0.5, 0.5, 0.5, 0.5}, 0, 0)
	expectClose(t, "const rstd", rstd, []float64{1 / math.Sqrt(1e-5)}, 1e-7, 0)
}

func TestLayerNormMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	rows, cols := 13, 97
	x := randF32(r, rows*cols, 3)
	for i := range x {
		x[i] += 10 // a large mean stresses cancellation
	}
	gamma, beta := randF32(r, cols, 1), randF32(r, cols, 1)
	for _, eps := range []float64{EpsBERT, EpsDeBERTa, EpsGPT2} {
		y := make([]float32, rows*cols)
		LayerNormForward(y, make([]float32, rows), make([]float32, rows), x, gamma, beta, rows, cols, float32(eps))
		expectClose(t, "y", y, refLayerNorm(x, gamma, beta, rows, cols, float64(float32(eps))), 1e-6, 1e-6)
	}
}

func TestLayerNormGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	rows, cols := 4, 7
	x := randF32(r, rows*cols, 2)
	gamma, beta := randF32(r, cols, 1.5), randF32(r, cols, 1)
	w := randW(r, rows*cols)
	y := make([]float32, rows*cols)
	mean, rstd := make([]float32, rows), make([]float32, rows)
	f := func() float64 {
		LayerNormForward(y, mean, rstd, x, gamma, beta, rows, cols, EpsDeBERTa)
		return lossDot(w, y)
	}
	f()
	dx := make([]float32, rows*cols)
	dg, db := make([]float32, cols), make([]float32, cols)
	for i := range dx {
		dx[i] = 99 // backward overwrites
	}
	LayerNormBackward(dx, dg, db, toF32(w), x, mean, rstd, gamma, rows, cols)
	CheckGrad(t, "dx", f, x, dx, 1e-2, 2e-3)
	CheckGrad(t, "dgamma", f, gamma, dg, 1e-2, 2e-3)
	CheckGrad(t, "dbeta", f, beta, db, 1e-2, 2e-3)

	// nil gamma/beta and nil gradients.
	f2 := func() float64 {
		LayerNormForward(y, mean, rstd, x, nil, nil, rows, cols, EpsBERT)
		return lossDot(w, y)
	}
	f2()
	LayerNormBackward(dx, nil, nil, toF32(w), x, mean, rstd, nil, rows, cols)
	CheckGrad(t, "dx (no affine)", f2, x, dx, 1e-2, 2e-3)
}

func TestAddLayerNormGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	rows, cols := 3, 6
	x, res := randF32(r, rows*cols, 2), randF32(r, rows*cols, 2)
	gamma, beta := randF32(r, cols, 1.5), randF32(r, cols, 1)
	w := randW(r, rows*cols)
	y, s := make([]float32, rows*cols), make([]float32, rows*cols)
	mean, rstd := make([]float32, rows), make([]float32, rows)
	f := func() float64 {
		AddLayerNormForward(y, s, mean, rstd, x, res, gamma, beta, rows, cols, EpsGPT2)
		return lossDot(w, y)
	}
	f()
	sum := make([]float32, rows*cols)
	for i := range sum {
		sum[i] = x[i] + res[i]
	}
	expectClose(t, "s", s, toF64(sum), 0, 0)
	expectClose(t, "y", y, refLayerNorm(sum, gamma, beta, rows, cols, float64(float32(EpsGPT2))), 1e-6, 1e-6)
	dx := make([]float32, rows*cols)
	LayerNormBackward(dx, nil, nil, toF32(w), s, mean, rstd, gamma, rows, cols)
	CheckGrad(t, "dx", f, x, dx, 1e-2, 2e-3)
	CheckGrad(t, "dres", f, res, dx, 1e-2, 2e-3)
}

func TestLayerNormBackwardDeterministicAcrossWorkers(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	rows, cols := 64, 128
	x, dy := randF32(r, rows*cols, 2), randF32(r, rows*cols, 1)
	gamma := randF32(r, cols, 1)
	mean, rstd, y := make([]float32, rows), make([]float32, rows), make([]float32, rows*cols)
	LayerNormForward(y, mean, rstd, x, gamma, nil, rows, cols, EpsBERT)
	run := func(workers int) ([]float32, []float32) {
		defer func(w int) { Workers = w }(Workers)
		Workers = workers
		dx, dg := make([]float32, rows*cols), make([]float32, cols)
		LayerNormBackward(dx, dg, nil, dy, x, mean, rstd, gamma, rows, cols)
		return dx, dg
	}
	dx1, dg1 := run(1)
	dx3, dg3 := run(3)
	expectClose(t, "dx", dx3, toF64(dx1), 0, 0)
	expectClose(t, "dgamma", dg3, toF64(dg1), 0, 0)
}

func toF64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func BenchmarkLayerNormForward(b *testing.B) {
	rows, cols := 8*128, 768
	r := rand.New(rand.NewPCG(1, 1))
	x, gamma, beta := randF32(r, rows*cols, 1), randF32(r, cols, 1), randF32(r, cols, 1)
	y, mean, rstd := make([]float32, rows*cols), make([]float32, rows), make([]float32, rows)
	b.SetBytes(int64(4 * rows * cols))
	for b.Loop() {
		LayerNormForward(y, mean, rstd, x, gamma, beta, rows, cols, EpsDeBERTa)
	}
}

func BenchmarkLayerNormBackward(b *testing.B) {
	rows, cols := 8*128, 768
	r := rand.New(rand.NewPCG(1, 1))
	x, gamma, dy := randF32(r, rows*cols, 1), randF32(r, cols, 1), randF32(r, rows*cols, 1)
	y, mean, rstd := make([]float32, rows*cols), make([]float32, rows), make([]float32, rows)
	LayerNormForward(y, mean, rstd, x, gamma, nil, rows, cols, EpsDeBERTa)
	dx, dg, db := make([]float32, rows*cols), make([]float32, cols), make([]float32, cols)
	b.SetBytes(int64(4 * rows * cols))
	for b.Loop() {
		LayerNormBackward(dx, dg, db, dy, x, mean, rstd, gamma, rows, cols)
	}
}
