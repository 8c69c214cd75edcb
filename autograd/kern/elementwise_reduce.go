package kern

// SumAxis reduces the middle axis of src viewed as (outer, n, inner):
// dst[o,i] = Σ_k src[o,k,i] (dst is outer×inner), accumulated in float64
// in increasing k. A reduction along axis a of any shape is this with
// outer = product of the axes before a and inner = product of those after.
func SumAxis(dst, src []float32, outer, n, inner int) {
	checkLen("SumAxis", "src", src, outer*n*inner)
	checkLen("SumAxis", "dst", dst, outer*inner)
	ParallelFor(outer, 1, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			for i := 0; i < inner; i++ {
				var s float64
				for k := 0; k < n; k++ {
					s += float64(src[(o*n+k)*inner+i])
				}
				dst[o*inner+i] = float32(s)
			}
		}
	})
}

// SumAxisBackward OVERWRITES dsrc (outer, n, inner) with dy (outer×inner)
// broadcast along the reduced axis.
func SumAxisBackward(dsrc, dy []float32, outer, n, inner int) {
	checkLen("SumAxisBackward", "dsrc", dsrc, outer*n*inner)
	checkLen("SumAxisBackward", "dy", dy, outer*inner)
	ParallelFor(outer, 1, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			for k := 0; k < n; k++ {
				copy(dsrc[(o*n+k)*inner:(o*n+k+1)*inner], dy[o*inner:(o+1)*inner])
			}
		}
	})
}

// MaxAxis reduces the middle axis of src (outer, n, inner) by maximum:
// dst[o,i] = max_k src[o,k,i], and argmax[o,i] = the first k attaining it
// (saved for MaxAxisBackward). n must be at least 1. NaNs are not
// propagated specially.
func MaxAxis(dst []float32, argmax []int32, src []float32, outer, n, inner int) {
	checkLen("MaxAxis", "src", src, outer*n*inner)
	checkLen("MaxAxis", "dst", dst, outer*inner)
	if len(argmax) != outer*inner || n < 1 {
		panic("kern.MaxAxis: argmax must have outer×inner elements and n ≥ 1")
	}
	ParallelFor(outer, 1, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			for i := 0; i < inner; i++ {
				best, at := src[o*n*inner+i], 0
				for k := 1; k < n; k++ {
					if v := src[(o*n+k)*inner+i]; v > best {
						best, at = v, k
					}
				}
				dst[o*inner+i], argmax[o*inner+i] = best, int32(at)
			}
		}
	})
}

// MaxAxisBackward OVERWRITES dsrc (outer, n, inner): dy[o,i] goes to the
// saved argmax position, zeros elsewhere (torch.max(dim) semantics).
func MaxAxisBackward(dsrc, dy []float32, argmax []int32, outer, n, inner int) {
	checkLen("MaxAxisBackward", "dsrc", dsrc, outer*n*inner)
	checkLen("MaxAxisBackward", "dy", dy, outer*inner)
	if len(argmax) != outer*inner {
		panic("kern.MaxAxisBackward: argmax must have outer×inner elements")
	}
	ParallelFor(outer, 1, func(lo, hi int) {
		clear(dsrc[lo*n*inner : hi*n*inner])
		for o := lo; o < hi; o++ {
			for i := 0; i < inner; i++ {
				dsrc[(o*n+int(argmax[o*inner+i]))*inner+i] = dy[o*inner+i]
			}
		}
	})
}
