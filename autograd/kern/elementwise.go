package kern

// Add writes dst = a + b (same shape). dst may alias a or b. Its backward
// is the identity for both inputs.
func Add(dst, a, b []float32) {
	checkLen("Add", "a", a, len(dst))
	checkLen("Add", "b", b, len(dst))
	if len(dst) < 2*elemGrain {
		addRange(dst, a, b, 0, len(dst)) // no closure: small calls do not allocate
		return
	}
	elementwise(len(dst), func(lo, hi int) { addRange(dst, a, b, lo, hi) })
}

func addRange(dst, a, b []float32, lo, hi int) {
	for i := lo; i < hi; i++ {
		dst[i] = a[i] + b[i]
	}
}

// AddBias writes dst[r,j] = x[r,j] + bias[j] for x (rows×cols). dst may
// alias x.
func AddBias(dst, x, bias []float32, rows, cols int) {
	checkLen("AddBias", "x", x, rows*cols)
	checkLen("AddBias", "dst", dst, rows*cols)
	checkLen("AddBias", "bias", bias, cols)
	ParallelFor(rows, rowGrain, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, dr := x[r*cols:(r+1)*cols], dst[r*cols:(r+1)*cols]
			for j, v := range xr {
				dr[j] = v + bias[j]
			}
		}
	})
}

// AddBiasBackward OVERWRITES dbias (cols) with the column sums of dy
// (rows×cols), accumulated in float64 over rows in order (identical for
// any Workers). The gradient for x is dy itself.
func AddBiasBackward(dbias, dy []float32, rows, cols int) {
	checkLen("AddBiasBackward", "dy", dy, rows*cols)
	checkLen("AddBiasBackward", "dbias", dbias, cols)
	ParallelFor(cols, 64, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			var s float64
			for r := 0; r < rows; r++ {
				s += float64(dy[r*cols+j])
			}
			dbias[j] = float32(s)
		}
	})
}

// Scale writes dst = alpha·x; its backward is Scale(dx, alpha, dy). dst
// may alias x.
func Scale(dst, x []float32, alpha float32) {
	checkLen("Scale", "x", x, len(dst))
	elementwise(len(dst), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dst[i] = alpha * x[i]
		}
	})
}

// Mul writes the elementwise product dst = a⊙b. dst may alias a or b.
func Mul(dst, a, b []float32) {
	checkLen("Mul", "a", a, len(dst))
	checkLen("Mul", "b", b, len(dst))
	elementwise(len(dst), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dst[i] = a[i] * b[i]
		}
	})
}

// MulBackward OVERWRITES da = dy⊙b and db = dy⊙a; either may be nil.
// da and db must not alias a, b or each other.
func MulBackward(da, db, dy, a, b []float32) {
	checkLen("MulBackward", "a", a, len(dy))
	checkLen("MulBackward", "b", b, len(dy))
	checkOptLen("MulBackward", "da", da, len(dy))
	checkOptLen("MulBackward", "db", db, len(dy))
	elementwise(len(dy), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if da != nil {
				da[i] = dy[i] * b[i]
			}
			if db != nil {
				db[i] = dy[i] * a[i]
			}
		}
	})
}

// SpanPairForward builds the token scorer's pair features
// (gliner/modeling/scorers.py Scorer.forward): from t (B,W,2,H) = [t0, t1]
// and l (B,C,2,H) = [l0, l1] it writes z (B,W,C,3H) with z[b,w,c] = [ t0[b,w]
// ; l0[b,c] ; t1[b,w]⊙l1[b,c] ].
func SpanPairForward(z, t, l []float32, B, W, C, H int) {
	checkLen("SpanPairForward", "t", t, B*W*2*H)
	checkLen("SpanPairForward", "l", l, B*C*2*H)
	checkLen("SpanPairForward", "z", z, B*W*C*3*H)
	ParallelFor(B*W, 4, func(lo, hi int) {
		for bw := lo; bw < hi; bw++ {
			b := bw / W
			t0 := t[bw*2*H : bw*2*H+H]
			t1 := t[bw*2*H+H : (bw+1)*2*H]
			for c := 0; c < C; c++ {
				l0 := l[(b*C+c)*2*H : (b*C+c)*2*H+H]
				l1 := l[(b*C+c)*2*H+H : (b*C+c+1)*2*H]
				zr := z[(bw*C+c)*3*H : (bw*C+c+1)*3*H]
				copy(zr[:H], t0)
				copy(zr[H:2*H], l0)
				p := zr[2*H:]
				for j := range p {
					p[j] = t1[j] * l1[j]
				}
			}
		}
	})
}

// SpanPairBackward OVERWRITES dt (B,W,2,H) and dl (B,C,2,H) (either may be
// nil) from dz (B,W,C,3H):
//
//	dt0[b,w] = Σ_c dz0,   dt1[b,w] = Σ_c dz2⊙l1[b,c],
//	dl0[b,c] = Σ_w dz1,   dl1[b,c] = Σ_w dz2⊙t1[b,w],
//
// summed in float64 in index order; one batch row per goroutine, so the
// result is identical for any Workers.
func SpanPairBackward(dt, dl, dz, t, l []float32, B, W, C, H int) {
	checkLen("SpanPairBackward", "t", t, B*W*2*H)
	checkLen("SpanPairBackward", "l", l, B*C*2*H)
	checkLen("SpanPairBackward", "dz", dz, B*W*C*3*H)
	checkOptLen("SpanPairBackward", "dt", dt, B*W*2*H)
	checkOptLen("SpanPairBackward", "dl", dl, B*C*2*H)
	ParallelFor(B, 1, func(lo, hi int) {
		acc := make([]float64, 2*H)
		for b := lo; b < hi; b++ {
			if dt != nil {
				for w := 0; w < W; w++ {
					clear(acc)
					for c := 0; c < C; c++ {
						zr := dz[((b*W+w)*C+c)*3*H : ((b*W+w)*C+c+1)*3*H]
						l1 := l[(b*C+c)*2*H+H : (b*C+c+1)*2*H]
						for j := 0; j < H; j++ {
							acc[j] += float64(zr[j])
							acc[H+j] += float64(zr[2*H+j]) * float64(l1[j])
						}
					}
					out := dt[(b*W+w)*2*H : (b*W+w+1)*2*H]
					for j := range out {
						out[j] = float32(acc[j])
					}
				}
			}
			if dl != nil {
				for c := 0; c < C; c++ {
					clear(acc)
					for w := 0; w < W; w++ {
						zr := dz[((b*W+w)*C+c)*3*H : ((b*W+w)*C+c+1)*3*H]
						t1 := t[(b*W+w)*2*H+H : (b*W+w+1)*2*H]
						for j := 0; j < H; j++ {
							acc[j] += float64(zr[H+j])
							acc[H+j] += float64(zr[2*H+j]) * float64(t1[j])
						}
					}
					out := dl[(b*C+c)*2*H : (b*C+c+1)*2*H]
					for j := range out {
						out[j] = float32(acc[j])
					}
				}
			}
		}
	})
}

// ScaleRows writes dst[r,j] = x[r,j]·s[r] for x (rows×cols): for example
// DeBERTa's embeddings·mask[..., None]. dst may alias x.
func ScaleRows(dst, x, s []float32, rows, cols int) {
	checkLen("ScaleRows", "x", x, rows*cols)
	checkLen("ScaleRows", "dst", dst, rows*cols)
	checkLen("ScaleRows", "s", s, rows)
	ParallelFor(rows, rowGrain, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, dr, v := x[r*cols:(r+1)*cols], dst[r*cols:(r+1)*cols], s[r]
			for j, xv := range xr {
				dr[j] = xv * v
			}
		}
	})
}

// ScaleRowsBackward OVERWRITES dx = dy·s[r] and ds[r] = Σ_j dy[r,j]·x[r,j]
// (float64 sum); either may be nil. dx must not alias x.
func ScaleRowsBackward(dx, ds, dy, x, s []float32, rows, cols int) {
	checkLen("ScaleRowsBackward", "x", x, rows*cols)
	checkLen("ScaleRowsBackward", "dy", dy, rows*cols)
	checkLen("ScaleRowsBackward", "s", s, rows)
	checkOptLen("ScaleRowsBackward", "dx", dx, rows*cols)
	checkOptLen("ScaleRowsBackward", "ds", ds, rows)
	ParallelFor(rows, rowGrain, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, dyr := x[r*cols:(r+1)*cols], dy[r*cols:(r+1)*cols]
			if ds != nil {
				var sum float64
				for j, g := range dyr {
					sum += float64(g) * float64(xr[j])
				}
				ds[r] = float32(sum)
			}
			if dx != nil {
				dxr, v := dx[r*cols:(r+1)*cols], s[r]
				for j, g := range dyr {
					dxr[j] = g * v
				}
			}
		}
	})
}
