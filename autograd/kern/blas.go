package kern

import "fmt"

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices,
// where op(X) is X or Xᵀ. op(A) is m×k, op(B) is k×n, C is m×n; lda, ldb
// and ldc are the row strides of A, B and C as stored.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		// C = beta·C.
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				if beta == 0 {
					row[j] = 0
				} else {
					row[j] *= beta
				}
			}
		}
		return
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if lda < ac || ldb < bc || ldc < n || len(a) < (ar-1)*lda+ac || len(b) < (br-1)*ldb+bc || len(c) < (m-1)*ldc+n {
		panic(fmt.Sprintf("kern.Sgemm: bad sizes m=%d n=%d k=%d lda=%d ldb=%d ldc=%d len(a)=%d len(b)=%d len(c)=%d",
			m, n, k, lda, ldb, ldc, len(a), len(b), len(c)))
	}
	// Split the rows of C across workers when the product is large enough
	// (unless the BLAS library runs its own threads).
	if Workers > 1 && blasThreads <= 1 && m >= 2*Workers && int64(m)*int64(n)*int64(k) >= gemmSplitFlops {
		ParallelFor(m, (m+Workers-1)/Workers, func(lo, hi int) {
			aOff := lo * lda
			if transA {
				aOff = lo
			}
			sgemm(transA, transB, hi-lo, n, k, alpha, a[aOff:], lda, b, ldb, beta, c[lo*ldc:], ldc)
		})
		return
	}
	sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// blasThreads is the BLAS library's own thread count (SetBLASThreads).
var blasThreads = 1

// SetBLASThreads sets how many threads the BLAS library itself uses for
// one product. With n > 1, Sgemm hands each product whole to the library
// instead of splitting C's rows across Workers goroutines. It reports false
// and changes nothing when the compiled-in BLAS has no threads of its own
// (the purego build).
func SetBLASThreads(n int) bool {
	if n < 1 {
		n = 1
	}
	if !setBLASThreads(n) {
		return false
	}
	blasThreads = n
	return true
}

// gemmSplitFlops is the m·n·k above which Sgemm splits C's rows across
// goroutines.
const gemmSplitFlops = 1 << 18

// MatMul computes c = a·b (beta 0) for contiguous row-major a (m×k) and
// b (k×n). With transB, b is stored n×k and used transposed.
func MatMul(a, b, c []float32, m, k, n int, transB bool) {
	ldb := n
	if transB {
		ldb = k
	}
	Sgemm(false, transB, m, n, k, 1, a, k, b, ldb, 0, c, n)
}
