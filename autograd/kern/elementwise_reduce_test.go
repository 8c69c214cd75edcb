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
