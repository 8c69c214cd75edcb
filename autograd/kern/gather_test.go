package kern

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestGatherRowsValues(t *testing.T) {
	// B=2, N=3, D=2: src[b,n] = (10b+n, −(10b+n)).
	src := []float32{0, 0, 1, -1, 2, -2, 10, -10, 11, -11, 12, -12}
	idx := []int32{2, -1, 0, 1, 1, -1}
	dst := make([]float32, 2*3*2)
	if err := GatherRows(dst, src, idx, 2, 3, 3, 2); err != nil {
		t.Fatal(err)
	}
	expectClose(t, "dst", dst, []float64{2, -2, 0, 0, 0, 0, 11, -11, 11, -11, 0, 0}, 0, 0)
	ddst := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	dsrc := make([]float32, len(src))
	for i := range dsrc {
		dsrc[i] = 99
	}
	if err := ScatterAddRows(dsrc, ddst, idx, 2, 3, 3, 2); err != nil {
		t.Fatal(err)
	}
	// b=0: n=0 ← m=2 (5,6); n=2 ← m=0 (1,2). b=1: n=1 ← m=0+m=1 (16,18).
	expectClose(t, "dsrc", dsrc, []float64{5, 6, 0, 0, 1, 2, 0, 0, 16, 18, 0, 0}, 0, 0)
}

func TestGatherRowsBadIndex(t *testing.T) {
	dst := make([]float32, 4)
	err := GatherRows(dst, make([]float32, 6), []int32{0, 3}, 1, 3, 2, 2)
	if err == nil || !strings.Contains(err.Error(), "index[0,1] = 3") {
		t.Fatalf("err = %v, want it to name index[0,1] = 3", err)
	}
	if err := ScatterAddRows(make([]float32, 6), dst, []int32{-2, 0}, 1, 3, 2, 2); err == nil {
		t.Fatal("index −2 accepted")
	}
}

func TestGatherRowsGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	B, N, M, D := 2, 4, 5, 3
	src, w := randF32(r, B*N*D, 1), randW(r, B*M*D)
	idx := []int32{3, 3, -1, 0, 1, 2, -1, 2, 2, 0}
	dst, dsrc := make([]float32, B*M*D), make([]float32, B*N*D)
	f := func() float64 {
		if err := GatherRows(dst, src, idx, B, N, M, D); err != nil {
			t.Fatal(err)
		}
		return lossDot(w, dst)
	}
	if err := ScatterAddRows(dsrc, toF32(w), idx, B, N, M, D); err != nil {
		t.Fatal(err)
	}
	CheckGrad(t, "gather", f, src, dsrc, 1e-2, 1e-4)
}
