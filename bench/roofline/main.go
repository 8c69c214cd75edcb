// Command roofline measures this machine's single-precision matrix-product
// rate at a DeBERTa encoder's dense shapes through gliner-go's own GEMM
// path (kern.Sgemm: OpenBLAS in the default cgo build), for
// scripts/bench_cpu_vs_reference.sh. For N = batch·seq tokens, hidden H and
// FFN width F it times, for each of the three dense layers (H→H, H→F,
// F→H), the forward product x·Wᵀ, the input gradient dy·W and the weight
// gradient dyᵀ·x, and prints one line per shape:
//
//	gemm NAME M K N TRANSA TRANSB GFLOPS
//
// GFLOPS is 2·M·N·K over the best of -reps timed repetitions.
//
// usage: go run ./bench/roofline -tokens 3072 -hidden 768 -ffn 3072 -blas-threads 1
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/gliner-go/gliner/autograd/kern"
)

func main() {
	tokens := flag.Int("tokens", 8*384, "rows of the activations (batch·seq)")
	hidden := flag.Int("hidden", 768, "hidden size")
	ffn := flag.Int("ffn", 3072, "FFN width")
	reps := flag.Int("reps", 3, "timed repetitions per shape (the best is printed)")
	warmup := flag.Int("warmup", 1, "untimed repetitions per shape")
	threads := flag.Int("blas-threads", 1, "OpenBLAS threads per product; 1 splits C's rows across goroutines (kern.Workers)")
	workers := flag.Int("workers", kern.Workers, "goroutines for the row split (kern.Workers)")
	flag.Parse()
	kern.Workers = *workers
	if !kern.SetBLASThreads(*threads) {
		fmt.Fprintf(os.Stderr, "roofline: the %s backend has no threads of its own; -blas-threads must be 1\n", kern.BLASBackend)
		os.Exit(2)
	}
	N, H, F := *tokens, *hidden, *ffn
	type shape struct {
		name    string
		m, k, n int
		ta, tb  bool
	}
	var shapes []shape
	for _, io := range [][2]int{{H, H}, {H, F}, {F, H}} {
		in, out := io[0], io[1]
		shapes = append(shapes,
			shape{"fwd", N, in, out, false, true},
			shape{"dx", N, out, in, false, false},
			shape{"dw", out, N, in, true, false})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = rng.Float32() - 0.5
		}
		return v
	}
	for _, s := range shapes {
		a, b, c := fill(s.m*s.k), fill(s.k*s.n), make([]float32, s.m*s.n)
		lda, ldb := s.k, s.n
		if s.ta {
			lda = s.m
		}
		if s.tb {
			ldb = s.k
		}
		best := 0.0
		for r := 0; r < *warmup+*reps; r++ {
			t0 := time.Now()
			kern.Sgemm(s.ta, s.tb, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, c, s.n)
			dt := time.Since(t0).Seconds()
			if r >= *warmup {
				best = max(best, 2*float64(s.m)*float64(s.n)*float64(s.k)/dt/1e9)
			}
		}
		tai, tbi := 0, 0
		if s.ta {
			tai = 1
		}
		if s.tb {
			tbi = 1
		}
		fmt.Printf("gemm %s %d %d %d %d %d %.2f\n", s.name, s.m, s.k, s.n, tai, tbi, best)
	}
}
