package kern

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// The finite-difference tests of the kernels moved here from models/ and
// autograd/ (dense products, fused span and scorer layers, layout and
// small elementwise kernels). Each drives the forward with random inputs,
// takes f = Σ w⊙y for fixed weights w, runs the backward with dy = w and
// compares every analytic gradient element with NumericGrad.

const (
	fdEps = 1e-2
	fdTol = 2e-3
)

// awayFromZero draws n values in ±[0.1, scale]: inputs to ReLU kernels stay
// off the kink by more than the finite-difference step.
func awayFromZero(r *rand.Rand, n int, scale float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		v := 0.1 + r.Float32()*(scale-0.1)
		if r.IntN(2) == 0 {
			v = -v
		}
		out[i] = v
	}
	return out
}

func filled(n int, v float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestLinearGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 1))
	rows, in, out := 5, 4, 3
	x, w, b := randF32(r, rows*in, 1), randF32(r, out*in, 1), randF32(r, out, 1)
	wt := randW(r, rows*out)
	for _, bias := range []bool{true, false} {
		bb := b
		if !bias {
			bb = nil
		}
		y := make([]float32, rows*out)
		f := func() float64 { LinearForward(y, x, w, bb, rows, in, out); return lossDot(wt, y) }
		f()
		dx, dw, db := filled(rows*in, 99), filled(out*in, 99), filled(out, 99)
		if !bias {
			db = nil
		}
		LinearBackward(dx, dw, db, toF32(wt), x, w, rows, in, out)
		CheckGrad(t, "linear dx", f, x, dx, fdEps, fdTol)
		CheckGrad(t, "linear dw", f, w, dw, fdEps, fdTol)
		if bias {
			CheckGrad(t, "linear db", f, b, db, fdEps, fdTol)
		}
	}
	// Hand-computed: [1 2]·[[1 0] [1 1]]ᵀ + [0.5 -1] = [1.5 2].
	y := make([]float32, 2)
	LinearForward(y, []float32{1, 2}, []float32{1, 0, 1, 1}, []float32{0.5, -1}, 1, 2, 2)
	expectClose(t, "linear value", y, []float64{1.5, 2}, 0, 0)
}

func TestConv1DGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 2))
	rows, in, out := 4, 3, 5
	x, w, b := randF32(r, rows*in, 1), randF32(r, in*out, 1), randF32(r, out, 1)
	wt := randW(r, rows*out)
	y := make([]float32, rows*out)
	f := func() float64 { Conv1DForward(y, x, w, b, rows, in, out); return lossDot(wt, y) }
	f()
	dx, dw, db := filled(rows*in, 99), filled(in*out, 99), filled(out, 99)
	Conv1DBackward(dx, dw, db, toF32(wt), x, w, rows, in, out)
	CheckGrad(t, "conv1d dx", f, x, dx, fdEps, fdTol)
	CheckGrad(t, "conv1d dw", f, w, dw, fdEps, fdTol)
	CheckGrad(t, "conv1d db", f, b, db, fdEps, fdTol)
	// Conv1D with W equals Linear with Wᵀ.
	wT := make([]float32, out*in)
	for i := 0; i < in; i++ {
		for o := 0; o < out; o++ {
			wT[o*in+i] = w[i*out+o]
		}
	}
	lin := make([]float32, rows*out)
	LinearForward(lin, x, wT, b, rows, in, out)
	Conv1DForward(y, x, w, b, rows, in, out)
	expectClose(t, "conv1d = linear(Wᵀ)", y, toF64(lin), 1e-6, 1e-6)
}

func TestBatchMatMulNTGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 3))
	B, M, K, N := 2, 3, 4, 5
	a, b := randF32(r, B*M*K, 1), randF32(r, B*N*K, 1)
	wt := randW(r, B*M*N)
	c := make([]float32, B*M*N)
	f := func() float64 { BatchMatMulNTForward(c, a, b, B, M, K, N); return lossDot(wt, c) }
	f()
	da, db := filled(B*M*K, 99), filled(B*N*K, 99)
	BatchMatMulNTBackward(da, db, toF32(wt), a, b, B, M, K, N)
	CheckGrad(t, "bmm_nt da", f, a, da, fdEps, fdTol)
	CheckGrad(t, "bmm_nt db", f, b, db, fdEps, fdTol)
}

// scorerHiddenRef is the reference's Linear([t0; l0; t1⊙l1]) in float64.
func scorerHiddenRef(t, l, w, bias []float32, B, W, C, H int) []float64 {
	O := 4 * H
	out := make([]float64, B*W*C*O)
	for b := 0; b < B; b++ {
		for wi := 0; wi < W; wi++ {
			for c := 0; c < C; c++ {
				z := make([]float64, 3*H)
				tr := t[(b*W+wi)*2*H:]
				lr := l[(b*C+c)*2*H:]
				for j := 0; j < H; j++ {
					z[j] = float64(tr[j])
					z[H+j] = float64(lr[j])
					z[2*H+j] = float64(tr[H+j]) * float64(lr[H+j])
				}
				for o := 0; o < O; o++ {
					s := float64(bias[o])
					for j, v := range z {
						s += float64(w[o*3*H+j]) * v
					}
					out[((b*W+wi)*C+c)*O+o] = s
				}
			}
		}
	}
	return out
}

func TestScorerHiddenValuesAndGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 4))
	B, W, C, H := 2, 3, 2, 2
	O := 4 * H
	tt, l := randF32(r, B*W*2*H, 1), randF32(r, B*C*2*H, 1)
	w, bias := randF32(r, O*3*H, 1), randF32(r, O, 1)
	nta, nlb, np := ScorerHiddenSaved(B, W, C, H)
	ta, lb, p := make([]float32, nta), make([]float32, nlb), make([]float32, np)
	h := make([]float32, B*W*C*O)
	ScorerHiddenForward(h, ta, lb, p, tt, l, w, bias, B, W, C, H)
	expectClose(t, "scorer_hidden value", h, scorerHiddenRef(tt, l, w, bias, B, W, C, H), 1e-5, 1e-5)
	wt := randW(r, len(h))
	f := func() float64 { ScorerHiddenForward(h, ta, lb, p, tt, l, w, bias, B, W, C, H); return lossDot(wt, h) }
	f()
	dt, dl, dw, db := filled(len(tt), 99), filled(len(l), 99), filled(len(w), 99), filled(O, 99)
	ScorerHiddenBackward(dt, dl, dw, db, toF32(wt), tt, l, w, p, make([]float32, B*W*O), make([]float32, B*C*O), make([]float32, B*W*C*H), B, W, C, H)
	CheckGrad(t, "scorer_hidden dt", f, tt, dt, fdEps, fdTol)
	CheckGrad(t, "scorer_hidden dl", f, l, dl, fdEps, fdTol)
	CheckGrad(t, "scorer_hidden dw", f, w, dw, fdEps, fdTol)
	CheckGrad(t, "scorer_hidden dbias", f, bias, db, fdEps, fdTol)
}

func TestSpanFirstLayerValuesAndGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 5))
	B, W, H, O := 2, 4, 3, 5
	si := []int32{0, 1, 2, 3, 1, 0}
	ei := []int32{0, 2, 3, 3, 1, 2}
	S := len(si) / B
	st, en := awayFromZero(r, B*W*H, 1), awayFromZero(r, B*W*H, 1)
	w, bias := randF32(r, O*2*H, 1), randF32(r, O, 1)
	ps, pe := make([]float32, B*W*H), make([]float32, B*W*H)
	a, bb := make([]float32, B*W*O), make([]float32, B*W*O)
	out := make([]float32, B*S*O)
	run := func() {
		if err := SpanFirstLayerForward(out, ps, pe, a, bb, st, en, w, bias, si, ei, B, W, H, O, S); err != nil {
			t.Fatal(err)
		}
	}
	run()
	// Reference: Linear(ReLU([start[s]; end[e]])) per span, in float64.
	want := make([]float64, B*S*O)
	for n := 0; n < B*S; n++ {
		b := n / S
		for o := 0; o < O; o++ {
			s := float64(bias[o])
			for j := 0; j < H; j++ {
				s += float64(w[o*2*H+j]) * max(float64(st[(b*W+int(si[n]))*H+j]), 0)
				s += float64(w[o*2*H+H+j]) * max(float64(en[(b*W+int(ei[n]))*H+j]), 0)
			}
			want[n*O+o] = s
		}
	}
	expectClose(t, "span_first_layer value", out, want, 1e-5, 1e-5)
	wt := randW(r, len(out))
	f := func() float64 { run(); return lossDot(wt, out) }
	dst, den, dw, db := filled(len(st), 99), filled(len(en), 99), filled(len(w), 99), filled(O, 99)
	if err := SpanFirstLayerBackward(dst, den, dw, db, toF32(wt), st, en, w, ps, pe, make([]float32, B*W*O), make([]float32, B*W*O), si, ei, B, W, H, O, S); err != nil {
		t.Fatal(err)
	}
	CheckGrad(t, "span_first_layer dstart", f, st, dst, fdEps, fdTol)
	CheckGrad(t, "span_first_layer dend", f, en, den, fdEps, fdTol)
	CheckGrad(t, "span_first_layer dw", f, w, dw, fdEps, fdTol)
	CheckGrad(t, "span_first_layer dbias", f, bias, db, fdEps, fdTol)
	bad := []int32{0, 1, 4, 3, 1, 0}
	if err := SpanFirstLayerForward(out, ps, pe, a, bb, st, en, w, bias, bad, ei, B, W, H, O, S); err == nil || !strings.Contains(err.Error(), "outside [0,4)") {
		t.Errorf("out-of-range span index: err = %v", err)
	}
}

func TestSigmoidPairMaskGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 6))
	B, E := 2, 3
	x := randF32(r, B*E*E, 2)
	m := []float32{1, 1, 0, 1, 0, 1}
	y := make([]float32, len(x))
	SigmoidPairMaskForward(y, x, m, B, E)
	// (b=0,i=0,j=2) has m_j = 0; (b=1,i=0,j=0) is σ(x).
	if y[2] != 0 || y[9] == 0 {
		t.Errorf("pair mask values: y[2] = %g (want 0), y[9] = %g (want σ(x) > 0)", y[2], y[9])
	}
	wt := randW(r, len(y))
	f := func() float64 { SigmoidPairMaskForward(y, x, m, B, E); return lossDot(wt, y) }
	dx := filled(len(x), 99)
	SigmoidPairMaskBackward(dx, toF32(wt), x, m, B, E)
	CheckGrad(t, "sigmoid_pair_mask dx", f, x, dx, 1e-3, fdTol)
}

func TestScaledSumAndDotConst(t *testing.T) {
	w := []float32{0.5, -2, 3}
	x := []float32{1, 0.25, 2}
	if got := ScaledSumForward(w, x); got != 0.5-0.5+6 {
		t.Errorf("scaled sum = %g, want 6", got)
	}
	f := func() float64 { return float64(ScaledSumForward(w, x)) }
	dx := make([]float32, 3)
	for i := range dx {
		dx[i] = ScaledSumBackward(w, i, 1)
	}
	CheckGrad(t, "scaled_sum dx", f, x, dx, fdEps, fdTol)
	if got := DotConstForward(x, w); got != 6 {
		t.Errorf("dot const = %g, want 6", got)
	}
	g := func() float64 { return float64(DotConstForward(x, w)) }
	DotConstBackward(dx, w, 1)
	CheckGrad(t, "dot_const dx", g, x, dx, fdEps, fdTol)
}

func TestAddGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 7))
	a, b := randF32(r, 6, 1), randF32(r, 6, 1)
	wt := randW(r, 6)
	y := make([]float32, 6)
	f := func() float64 { Add(y, a, b); return lossDot(wt, y) }
	// Add's backward is the identity for both inputs.
	CheckGrad(t, "add da", f, a, toF32(wt), fdEps, fdTol)
	CheckGrad(t, "add db", f, b, toF32(wt), fdEps, fdTol)
}

func TestLayoutKernelsGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 8))
	rows := 3
	widths := []int{2, 3, 1}
	xs := [][]float32{randF32(r, rows*2, 1), randF32(r, rows*3, 1), randF32(r, rows*1, 1)}
	y := make([]float32, rows*6)
	ConcatLastForward(y, xs, widths, rows)
	if y[6] != xs[0][2] || y[8] != xs[1][3] || y[11] != xs[2][1] {
		t.Errorf("concat layout: row 1 = %v", y[6:12])
	}
	wt := randW(r, len(y))
	f := func() float64 { ConcatLastForward(y, xs, widths, rows); return lossDot(wt, y) }
	dxs := [][]float32{filled(rows*2, 99), nil, filled(rows, 99)}
	ConcatLastBackward(dxs, toF32(wt), widths, rows)
	CheckGrad(t, "concat dx0", f, xs[0], dxs[0], fdEps, fdTol)
	CheckGrad(t, "concat dx2", f, xs[2], dxs[2], fdEps, fdTol)

	cols, off, width := 5, 1, 3
	x := randF32(r, rows*cols, 1)
	c := make([]float32, rows*width)
	ColumnsForward(c, x, rows, cols, off, width)
	if c[3] != x[6] {
		t.Errorf("columns: c[3] = %g, want x[6] = %g", c[3], x[6])
	}
	wc := randW(r, len(c))
	fc := func() float64 { ColumnsForward(c, x, rows, cols, off, width); return lossDot(wc, c) }
	dx := filled(len(x), 99)
	ColumnsBackward(dx, toF32(wc), rows, cols, off, width)
	CheckGrad(t, "columns dx", fc, x, dx, fdEps, fdTol)

	blocks, T, D, N := 2, 2, 3, 4
	xa, table := randF32(r, blocks*T*D, 1), randF32(r, N*D, 1)
	ya := make([]float32, len(xa))
	wa := randW(r, len(ya))
	fa := func() float64 { AddLeadingRowsForward(ya, xa, table, blocks, T, D); return lossDot(wa, ya) }
	dxa, dtab := filled(len(xa), 99), filled(len(table), 99)
	AddLeadingRowsBackward(dxa, dtab, toF32(wa), blocks, T, D)
	CheckGrad(t, "add_leading_rows dx", fa, xa, dxa, fdEps, fdTol)
	CheckGrad(t, "add_leading_rows dtable", fa, table, dtab, fdEps, fdTol)

	mask := []int64{1, 0, 1}
	xm := randF32(r, 3*D, 1)
	ym := make([]float32, len(xm))
	wm := randW(r, len(ym))
	fm := func() float64 { MaskRowsForward(ym, xm, mask, D); return lossDot(wm, ym) }
	fm()
	if ym[D] != 0 || ym[2*D] != xm[2*D] {
		t.Errorf("mask rows: %v", ym)
	}
	dxm := filled(len(xm), 99)
	MaskRowsBackward(dxm, toF32(wm), mask, D)
	CheckGrad(t, "mask_rows dx", fm, xm, dxm, fdEps, fdTol)

	xb := randF32(r, 2*D, 1)
	yb := make([]float32, 3*len(xb))
	wb := randW(r, len(yb))
	fb := func() float64 { BroadcastRowsForward(yb, xb, 3); return lossDot(wb, yb) }
	dxb := filled(len(xb), 99)
	BroadcastRowsBackward(dxb, toF32(wb), 3)
	CheckGrad(t, "broadcast_rows dx", fb, xb, dxb, fdEps, fdTol)
}

func TestMaskedMeanValuesAndGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 9))
	N, T, D := 3, 4, 2
	m := []int64{1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0}
	x := randF32(r, N*T*D, 1)
	y := make([]float32, N*D)
	MaskedMeanForward(y, x, m, N, T, D)
	want := []float64{
		(float64(x[0]) + float64(x[2])) / 2, (float64(x[1]) + float64(x[3])) / 2,
		(float64(x[8]) + float64(x[10]) + float64(x[12]) + float64(x[14])) / 4, (float64(x[9]) + float64(x[11]) + float64(x[13]) + float64(x[15])) / 4,
		0, 0, // an all-zero mask row pools to 0 (denominator clamped to 1e-9)
	}
	expectClose(t, "masked_mean value", y, want, 1e-6, 1e-7)
	wt := randW(r, len(y))
	f := func() float64 { MaskedMeanForward(y, x, m, N, T, D); return lossDot(wt, y) }
	dx := filled(len(x), 99)
	MaskedMeanBackward(dx, toF32(wt), m, N, T, D)
	CheckGrad(t, "masked_mean dx", f, x, dx, fdEps, fdTol)
}

func TestDecoderInputsValuesAndGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 10))
	M, T, D, V := 2, 4, 3, 5
	slots := []int64{DecoderSlotZero, DecoderSlotSpan, 3, 3, DecoderSlotSpan, 0, 4, DecoderSlotZero}
	spans, wte := randF32(r, M*D, 1), randF32(r, V*D, 1)
	y := make([]float32, M*T*D)
	if err := DecoderInputsForward(y, spans, wte, slots, M, T, D, V); err != nil {
		t.Fatal(err)
	}
	if y[0] != 0 || y[D] != spans[0] || y[2*D] != wte[3*D] || y[4*D] != spans[D] {
		t.Errorf("decoder inputs layout: %v", y)
	}
	wt := randW(r, len(y))
	f := func() float64 {
		if err := DecoderInputsForward(y, spans, wte, slots, M, T, D, V); err != nil {
			t.Fatal(err)
		}
		return lossDot(wt, y)
	}
	ds, dw := filled(len(spans), 99), filled(len(wte), 99)
	DecoderInputsBackward(ds, dw, toF32(wt), slots, M, T, D, V)
	CheckGrad(t, "decoder_inputs dspans", f, spans, ds, fdEps, fdTol)
	CheckGrad(t, "decoder_inputs dwte", f, wte, dw, fdEps, fdTol)
	slots[2] = int64(V)
	if err := DecoderInputsForward(y, spans, wte, slots, M, T, D, V); err == nil || !strings.Contains(err.Error(), "slot (0,2) = 5") {
		t.Errorf("bad slot: err = %v", err)
	}
}
