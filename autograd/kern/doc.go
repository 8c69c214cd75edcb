// Package kern holds the numeric kernels behind gliner-go's fused graph
// operations: matrix products through BLAS (OpenBLAS via cgo by default,
// pure Go with the `purego` build tag), and hand-written forward and
// backward passes for layer norm, GELU, dropout, softmax, attention, the
// BiLSTM, gathers and scatters. Kernels work on row-major float32 slices
// and know nothing of graphs; package autograd wraps them as Gorgonia ops.
// Every backward has a finite-difference test beside it.
package kern
