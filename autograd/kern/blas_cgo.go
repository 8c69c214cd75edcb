//go:build cgo && !purego

package kern

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
void openblas_set_num_threads(int);
*/
import "C"

import "unsafe"

// BLASBackend names the matrix-product implementation compiled in.
const BLASBackend = "openblas"

// OpenBLAS runs single-threaded: its own spinning threads fight the Go
// goroutines of ParallelFor (measured 10–30× slowdowns of the attention
// kernels), so large products are split across goroutines by Sgemm instead.
func init() { C.openblas_set_num_threads(1) }

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := C.enum_CBLAS_TRANSPOSE(C.CblasNoTrans), C.enum_CBLAS_TRANSPOSE(C.CblasNoTrans)
	if transA {
		ta = C.CblasTrans
	}
	if transB {
		tb = C.CblasTrans
	}
	C.cblas_sgemm(C.CblasRowMajor, ta, tb, C.blasint(m), C.blasint(n), C.blasint(k), C.float(alpha),
		(*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb), C.float(beta),
		(*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

func setBLASThreads(n int) bool {
	C.openblas_set_num_threads(C.int(n))
	return true
}
