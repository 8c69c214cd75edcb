package kern

import "fmt"

// GatherRows copies rows of src (B,N,D) into dst (B,M,D):
// dst[b,m] = src[b, idx[b,m]], and a zero row where idx[b,m] = −1. It is
// the gather behind word pooling (first sub-token of each word), prompt
// extraction and span start/end indexing. An index outside [−1, N) is an
// error naming its position (nothing is written past that batch row).
func GatherRows(dst, src []float32, idx []int32, B, N, M, D int) error {
	checkLen("GatherRows", "src", src, B*N*D)
	checkLen("GatherRows", "dst", dst, B*M*D)
	if len(idx) != B*M {
		panic(fmt.Sprintf("kern.GatherRows: len(idx) = %d, want %d", len(idx), B*M))
	}
	if err := checkIndices("GatherRows", idx, B, M, N); err != nil {
		return err
	}
	ParallelFor(B*M, 64, func(lo, hi int) {
		for bm := lo; bm < hi; bm++ {
			out := dst[bm*D : (bm+1)*D]
			k := idx[bm]
			if k < 0 {
				clear(out)
				continue
			}
			b := bm / M
			copy(out, src[(b*N+int(k))*D:(b*N+int(k)+1)*D])
		}
	})
	return nil
}

func checkIndices(fn string, idx []int32, B, M, N int) error {
	for i, k := range idx {
		if k < -1 || int(k) >= N {
			return fmt.Errorf("kern.%s: index[%d,%d] = %d outside [-1, %d)", fn, i/M, i%M, k, N)
		}
	}
	return nil
}

// ScatterAddRows is GatherRows' backward: it OVERWRITES dsrc (B,N,D) with
// dsrc[b,n] = Σ_{m: idx[b,m]=n} ddst[b,m]; rows gathered by −1 contribute
// nothing. Repeated indices accumulate in increasing m, one batch row per
// goroutine, so the result is identical for any Workers. It returns an
// error for an index outside [−1, N).
func ScatterAddRows(dsrc, ddst []float32, idx []int32, B, N, M, D int) error {
	checkLen("ScatterAddRows", "dsrc", dsrc, B*N*D)
	checkLen("ScatterAddRows", "ddst", ddst, B*M*D)
	if len(idx) != B*M {
		panic(fmt.Sprintf("kern.ScatterAddRows: len(idx) = %d, want %d", len(idx), B*M))
	}
	if err := checkIndices("ScatterAddRows", idx, B, M, N); err != nil {
		return err
	}
	ParallelFor(B, 1, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			clear(dsrc[b*N*D : (b+1)*N*D])
			for m := 0; m < M; m++ {
				k := idx[b*M+m]
				if k < 0 {
					continue
				}
				acc := dsrc[(b*N+int(k))*D : (b*N+int(k)+1)*D]
				g := ddst[(b*M+m)*D : (b*M+m+1)*D]
				for j, v := range g {
					acc[j] += v
				}
			}
		}
	})
	return nil
}
