package kern

import (
	"math/rand/v2"
	"testing"
)

func naiveGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			c[i*ldc+j] = alpha*float32(s) + beta*c[i*ldc+j]
		}
	}
}

func TestSgemmAllTransposes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	m, n, k := 7, 5, 9
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			a := make([]float32, m*k)
			b := make([]float32, k*n)
			for i := range a {
				a[i] = r.Float32()*2 - 1
			}
			for i := range b {
				b[i] = r.Float32()*2 - 1
			}
			lda, ldb := k, n
			if ta {
				lda = m
			}
			if tb {
				ldb = k
			}
			c := make([]float32, m*n)
			want := make([]float32, m*n)
			for i := range c {
				c[i] = float32(i)
				want[i] = float32(i)
			}
			Sgemm(ta, tb, m, n, k, 0.5, a, lda, b, ldb, 2, c, n)
			naiveGemm(ta, tb, m, n, k, 0.5, a, lda, b, ldb, 2, want, n)
			for i := range c {
				if d := c[i] - want[i]; d > 1e-5 || d < -1e-5 {
					t.Fatalf("%s transA=%v transB=%v: c[%d]=%v want %v", BLASBackend, ta, tb, i, c[i], want[i])
				}
			}
		}
	}
}

func TestParallelForCoversRange(t *testing.T) {
	for _, n := range []int{0, 1, 5, 100, 1001} {
		seen := make([]int32, n)
		ParallelFor(n, 3, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				seen[i]++
			}
		})
		for i, s := range seen {
			if s != 1 {
				t.Fatalf("n=%d: index %d visited %d times", n, i, s)
			}
		}
	}
}

func BenchmarkSgemm256(b *testing.B) {
	n := 256
	x := make([]float32, n*n)
	y := make([]float32, n*n)
	z := make([]float32, n*n)
	for i := range x {
		x[i] = float32(i%7) * 0.1
		y[i] = float32(i%5) * 0.1
	}
	b.SetBytes(int64(2 * n * n * n))
	for i := 0; i < b.N; i++ {
		MatMul(x, y, z, n, n, n, false)
	}
}
