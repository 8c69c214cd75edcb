package kern

import "fmt"

// ScorerHiddenSaved is the size of each buffer ScorerHiddenForward saves
// for the backward pass: ta (B·W·4H), lb (B·C·4H), p (B·W·C·H).
func ScorerHiddenSaved(B, W, C, H int) (ta, lb, p int) {
	return B * W * 4 * H, B * C * 4 * H, B * W * C * H
}

// ScorerHiddenForward is the token scorer's fused pair construction and
// first out_mlp layer (urchade/GLiNER c2bb58d gliner/modeling/scorers.py,
// Scorer.forward): for t (B,W,2H) = [t0 ; t1], l (B,C,2H) = [l0 ; l1],
// weight w (4H,3H) = [Wa Wb Wc] and bias (4H) it writes h (B,W,C,4H) with
//
//	h[b,w,c] = Wa·t0[b,w] + Wb·l0[b,c] + Wc·(t1[b,w]⊙l1[b,c]) + bias
//
// which equals Linear(z) for the reference's z = [t0; l0; t1⊙l1] without
// building z (H instead of 3H floats per pair, a third of the GEMM work).
// ta, lb and p (sizes from ScorerHiddenSaved) receive Wa·t0, Wb·l0 and
// t1⊙l1 for ScorerHiddenBackward.
func ScorerHiddenForward(h, ta, lb, p, t, l, w, bias []float32, B, W, C, H int) {
	O := 4 * H
	checkLen("ScorerHiddenForward", "t", t, B*W*2*H)
	checkLen("ScorerHiddenForward", "l", l, B*C*2*H)
	checkLen("ScorerHiddenForward", "w", w, O*3*H)
	checkLen("ScorerHiddenForward", "bias", bias, O)
	checkLen("ScorerHiddenForward", "h", h, B*W*C*O)
	nta, nlb, np := ScorerHiddenSaved(B, W, C, H)
	checkLen("ScorerHiddenForward", "ta", ta, nta)
	checkLen("ScorerHiddenForward", "lb", lb, nlb)
	checkLen("ScorerHiddenForward", "p", p, np)
	Sgemm(false, true, B*W, O, H, 1, t, 2*H, w, 3*H, 0, ta, O)
	Sgemm(false, true, B*C, O, H, 1, l, 2*H, w[H:], 3*H, 0, lb, O)
	ParallelFor(B*W, 4, func(lo, hi int) {
		for bw := lo; bw < hi; bw++ {
			b := bw / W
			t1 := t[bw*2*H+H : (bw+1)*2*H]
			for c := 0; c < C; c++ {
				l1 := l[(b*C+c)*2*H+H : (b*C+c+1)*2*H]
				pr := p[(bw*C+c)*H : (bw*C+c+1)*H]
				for j := range pr {
					pr[j] = t1[j] * l1[j]
				}
			}
		}
	})
	Sgemm(false, true, B*W*C, O, H, 1, p, H, w[2*H:], 3*H, 0, h, O)
	ParallelFor(B*W, 4, func(lo, hi int) {
		for bw := lo; bw < hi; bw++ {
			b := bw / W
			tr := ta[bw*O : (bw+1)*O]
			for c := 0; c < C; c++ {
				lr := lb[(b*C+c)*O : (b*C+c+1)*O]
				or := h[(bw*C+c)*O : (bw*C+c+1)*O]
				for j := range or {
					or[j] += tr[j] + lr[j] + bias[j]
				}
			}
		}
	})
}

// ScorerHiddenBackward OVERWRITES dt, dl, dw and dbias (each may be nil)
// from dh (B,W,C,4H), the inputs and p saved by ScorerHiddenForward. dta
// (B·W·4H), dlb (B·C·4H) and dp (B·W·C·H) are workspace.
func ScorerHiddenBackward(dt, dl, dw, dbias, dh, t, l, w, p, dta, dlb, dp []float32, B, W, C, H int) {
	O := 4 * H
	checkLen("ScorerHiddenBackward", "dh", dh, B*W*C*O)
	checkOptLen("ScorerHiddenBackward", "dt", dt, B*W*2*H)
	checkOptLen("ScorerHiddenBackward", "dl", dl, B*C*2*H)
	checkOptLen("ScorerHiddenBackward", "dw", dw, O*3*H)
	checkOptLen("ScorerHiddenBackward", "dbias", dbias, O)
	checkLen("ScorerHiddenBackward", "dta", dta, B*W*O)
	checkLen("ScorerHiddenBackward", "dlb", dlb, B*C*O)
	checkLen("ScorerHiddenBackward", "dp", dp, B*W*C*H)
	// Row sums of dh over classes (dta) and over words (dlb), in float64.
	ParallelFor(B, 1, func(lo, hi int) {
		acc := make([]float64, O)
		for b := lo; b < hi; b++ {
			for wi := 0; wi < W; wi++ {
				clear(acc)
				for c := 0; c < C; c++ {
					for j, v := range dh[((b*W+wi)*C+c)*O : ((b*W+wi)*C+c+1)*O] {
						acc[j] += float64(v)
					}
				}
				for j, v := range acc {
					dta[(b*W+wi)*O+j] = float32(v)
				}
			}
			for c := 0; c < C; c++ {
				clear(acc)
				for wi := 0; wi < W; wi++ {
					for j, v := range dh[((b*W+wi)*C+c)*O : ((b*W+wi)*C+c+1)*O] {
						acc[j] += float64(v)
					}
				}
				for j, v := range acc {
					dlb[(b*C+c)*O+j] = float32(v)
				}
			}
		}
	})
	if dw != nil {
		Sgemm(true, false, O, H, B*W, 1, dta, O, t, 2*H, 0, dw, 3*H)
		Sgemm(true, false, O, H, B*C, 1, dlb, O, l, 2*H, 0, dw[H:], 3*H)
		Sgemm(true, false, O, H, B*W*C, 1, dh, O, p, H, 0, dw[2*H:], 3*H)
	}
	if dbias != nil {
		acc := make([]float64, O)
		for r := 0; r < B*W; r++ {
			for j, v := range dta[r*O : (r+1)*O] {
				acc[j] += float64(v)
			}
		}
		for j, v := range acc {
			dbias[j] = float32(v)
		}
	}
	if dt == nil && dl == nil {
		return
	}
	Sgemm(false, false, B*W*C, H, O, 1, dh, O, w[2*H:], 3*H, 0, dp, H)
	if dt != nil {
		Sgemm(false, false, B*W, H, O, 1, dta, O, w, 3*H, 0, dt, 2*H)
	}
	if dl != nil {
		Sgemm(false, false, B*C, H, O, 1, dlb, O, w[H:], 3*H, 0, dl, 2*H)
	}
	ParallelFor(B, 1, func(lo, hi int) {
		acc := make([]float64, H)
		for b := lo; b < hi; b++ {
			if dt != nil {
				for wi := 0; wi < W; wi++ {
					clear(acc)
					for c := 0; c < C; c++ {
						l1 := l[(b*C+c)*2*H+H : (b*C+c+1)*2*H]
						for j, v := range dp[((b*W+wi)*C+c)*H : ((b*W+wi)*C+c+1)*H] {
							acc[j] += float64(v) * float64(l1[j])
						}
					}
					out := dt[(b*W+wi)*2*H+H : (b*W+wi+1)*2*H]
					for j, v := range acc {
						out[j] = float32(v)
					}
				}
			}
			if dl != nil {
				for c := 0; c < C; c++ {
					clear(acc)
					for wi := 0; wi < W; wi++ {
						t1 := t[(b*W+wi)*2*H+H : (b*W+wi+1)*2*H]
						for j, v := range dp[((b*W+wi)*C+c)*H : ((b*W+wi)*C+c+1)*H] {
							acc[j] += float64(v) * float64(t1[j])
						}
					}
					out := dl[(b*C+c)*2*H+H : (b*C+c+1)*2*H]
					for j, v := range acc {
						out[j] = float32(v)
					}
				}
			}
		}
	})
}

// SpanFirstLayerForward is markerV0's out_project first layer applied to
// every span without building the (B,S,2H) concatenation
// (urchade/GLiNER c2bb58d gliner/modeling/span_rep.py, SpanMarkerV0):
//
//	Linear(ReLU([start[s] ; end[e]])) = ReLU(start)[s]·W_aᵀ + ReLU(end)[e]·W_bᵀ + b
//
// with W = [W_a | W_b] the (O,2H) weight split by columns. start, end are
// (B,W,H); si, ei the (B,S) span start and end word indices; out (B,S,O).
// The two products run once per word instead of once per span. ps, pe
// (B·W·H) receive ReLU(start), ReLU(end) and a, b (B·W·O) the per-word
// products; ps and pe are needed by SpanFirstLayerBackward.
func SpanFirstLayerForward(out, ps, pe, a, b, start, end, w, bias []float32, si, ei []int32, B, W, H, O, S int) error {
	checkLen("SpanFirstLayerForward", "start", start, B*W*H)
	checkLen("SpanFirstLayerForward", "end", end, B*W*H)
	checkLen("SpanFirstLayerForward", "w", w, O*2*H)
	checkLen("SpanFirstLayerForward", "bias", bias, O)
	checkLen("SpanFirstLayerForward", "out", out, B*S*O)
	checkLen("SpanFirstLayerForward", "ps", ps, B*W*H)
	checkLen("SpanFirstLayerForward", "pe", pe, B*W*H)
	checkLen("SpanFirstLayerForward", "a", a, B*W*O)
	checkLen("SpanFirstLayerForward", "b", b, B*W*O)
	if len(si) != B*S || len(ei) != B*S {
		return fmt.Errorf("span first layer: %d / %d span indices, want %d", len(si), len(ei), B*S)
	}
	for i, v := range si {
		if v < 0 || int(v) >= W || ei[i] < 0 || int(ei[i]) >= W {
			return fmt.Errorf("span %d: word indices (%d,%d) outside [0,%d)", i, v, ei[i], W)
		}
	}
	reluInto(ps, start)
	reluInto(pe, end)
	Sgemm(false, true, B*W, O, H, 1, ps, H, w, 2*H, 0, a, O)
	Sgemm(false, true, B*W, O, H, 1, pe, H, w[H:], 2*H, 0, b, O)
	ParallelFor(B*S, 64, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			bi := n / S
			ra := a[(bi*W+int(si[n]))*O:][:O]
			rb := b[(bi*W+int(ei[n]))*O:][:O]
			o := out[n*O : (n+1)*O]
			for j := range o {
				o[j] = ra[j] + rb[j] + bias[j]
			}
		}
	})
	return nil
}

// SpanFirstLayerBackward OVERWRITES dstart, dend, dw and dbias (each may be
// nil) from dout (B,S,O), the inputs and ps, pe saved by the forward. da,
// db (B·W·O) are workspace.
func SpanFirstLayerBackward(dstart, dend, dw, dbias, dout, start, end, w, ps, pe, da, db []float32, si, ei []int32, B, W, H, O, S int) error {
	checkLen("SpanFirstLayerBackward", "dout", dout, B*S*O)
	checkOptLen("SpanFirstLayerBackward", "dstart", dstart, B*W*H)
	checkOptLen("SpanFirstLayerBackward", "dend", dend, B*W*H)
	checkOptLen("SpanFirstLayerBackward", "dw", dw, O*2*H)
	checkOptLen("SpanFirstLayerBackward", "dbias", dbias, O)
	checkLen("SpanFirstLayerBackward", "da", da, B*W*O)
	checkLen("SpanFirstLayerBackward", "db", db, B*W*O)
	if err := ScatterAddRows(da, dout, si, B, W, S, O); err != nil {
		return err
	}
	if err := ScatterAddRows(db, dout, ei, B, W, S, O); err != nil {
		return err
	}
	if dw != nil {
		Sgemm(true, false, O, H, B*W, 1, da, O, ps, H, 0, dw, 2*H)
		Sgemm(true, false, O, H, B*W, 1, db, O, pe, H, 0, dw[H:], 2*H)
	}
	if dbias != nil {
		clear(dbias)
		for n := 0; n < B*S; n++ {
			row := dout[n*O : (n+1)*O]
			for j := range dbias {
				dbias[j] += row[j]
			}
		}
	}
	for side, x := range [][]float32{start, end} {
		g := dstart
		src, off := da, 0
		if side == 1 {
			g, src, off = dend, db, H
		}
		if g == nil {
			continue
		}
		Sgemm(false, false, B*W, H, O, 1, src, O, w[off:], 2*H, 0, g, H)
		for i, v := range x {
			if v <= 0 {
				g[i] = 0
			}
		}
	}
	return nil
}
