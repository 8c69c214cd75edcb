package kern

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// lossFn64 evaluates a loss in float64 (no float32 rounding) for fixed
// weights, returning the loss, per-element losses (none) and local grads.
type lossFn64 func(x []float64) (float64, []float64, []float64)

// checkFD compares the analytic gradient of the scalar objective
// Σ dOut·out (dOut = 1 for sum/mean) with central finite differences.
func checkFD(t *testing.T, name string, x []float64, red Reduction, group int, f lossFn64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	_, per0, local := f(x)
	var dOut []float64
	if red == ReductionNone {
		dOut = make([]float64, len(per0))
		for i := range dOut {
			dOut[i] = rng.Float64()*2 - 1
		}
	}
	obj := func(x []float64) float64 {
		l, per, _ := f(x)
		if red != ReductionNone {
			return l
		}
		s := 0.0
		for i, v := range per {
			s += dOut[i] * v
		}
		return s
	}
	const h = 1e-6
	xx := append([]float64(nil), x...)
	nonzero := 0
	for i := range x {
		xx[i] = x[i] + h
		lp := obj(xx)
		xx[i] = x[i] - h
		lm := obj(xx)
		xx[i] = x[i]
		num := (lp - lm) / (2 * h)
		an := local[i]
		if dOut != nil {
			an *= dOut[i/group]
		}
		if an != 0 {
			nonzero++
		}
		if math.Abs(an-num) > 1e-6+1e-5*math.Abs(num) {
			t.Errorf("%s: d/dx[%d] analytic %.9g, finite difference %.9g", name, i, an, num)
			return
		}
	}
	if nonzero == 0 {
		t.Errorf("%s: gradient is identically zero", name)
	}
}

// randomCase draws logits (some saturated at ±20), labels (some -100) and
// masks.
func randomCase(rng *rand.Rand, n int, probs bool) (x []float64, x32, y []float32) {
	x = make([]float64, n)
	x32 = make([]float32, n)
	y = make([]float32, n)
	for i := range x {
		switch {
		case probs:
			x[i] = 0.002 + 0.996*rng.Float64()
		case i%17 == 3:
			x[i] = 20
		case i%17 == 5:
			x[i] = -20
		default:
			x[i] = rng.Float64()*10 - 5
		}
		// Round to float32 so the float32 and float64 paths see one input.
		x32[i] = float32(x[i])
		x[i] = float64(x32[i])
		switch u := rng.Float64(); {
		case u < 0.3:
			y[i] = 1
		case u < 0.35:
			y[i] = IgnoreIndex
		}
	}
	return
}

func randomMask(rng *rand.Rand, n int) []float32 {
	m := make([]float32, n)
	for i := range m {
		if rng.Float64() < 0.8 {
			m[i] = 1
		}
	}
	return m
}

// optionGrid enumerates α, γ, margin, smoothing, reduction and masking.
func optionGrid() []LossOptions {
	var out []LossOptions
	for _, a := range []float32{-1, 0.75} {
		for _, g := range []float32{0, 2, 0.5} {
			for _, m := range []float32{0, 0.1} {
				for _, ls := range []float32{0, 0.1} {
					for _, red := range []Reduction{ReductionSum, ReductionMean, ReductionNone} {
						for _, mk := range []Masking{MaskingNone, MaskingGlobal, MaskingLabel, MaskingSpan} {
							out = append(out, LossOptions{Alpha: a, Gamma: g, ProbMargin: m, LabelSmoothing: ls,
								Reduction: red, Negatives: 0.5, Masking: mk})
						}
					}
				}
			}
		}
	}
	return out
}

func optName(o LossOptions) string {
	return fmt.Sprintf("a%v_g%v_m%v_ls%v_%s_%s_compat%v", o.Alpha, o.Gamma, o.ProbMargin, o.LabelSmoothing, o.Reduction, o.Masking, o.ReferenceCompat)
}

func TestElementGradFD(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, _, y := randomCase(rng, 200, false)
	for _, o := range optionGrid() {
		if o.Reduction != ReductionSum || o.Masking != MaskingNone {
			continue
		}
		for _, norm := range []bool{true, false} {
			xs := x
			if !norm {
				xs, _, _ = randomCase(rand.New(rand.NewPCG(3, 4)), 200, true)
			}
			ep := newElemParams(o, norm, false)
			for i := range xs {
				l, g := lossElement(xs[i], float64(y[i]), ep)
				const h = 1e-6
				lp, _ := lossElement(xs[i]+h, float64(y[i]), ep)
				lm, _ := lossElement(xs[i]-h, float64(y[i]), ep)
				num := (lp - lm) / (2 * h)
				if math.Abs(g-num) > 1e-6+1e-5*math.Abs(num) {
					t.Fatalf("%s normalize=%v: x=%v y=%v loss %v: grad %v, finite difference %v", optName(o), norm, xs[i], y[i], l, g, num)
				}
			}
		}
	}
}

func TestSpanLossGradFD(t *testing.T) {
	const b, s, c = 2, 12, 3
	for k, o := range optionGrid() {
		rng := rand.New(rand.NewPCG(uint64(k), 11))
		x, x32, y := randomCase(rng, b*s*c, false)
		sm, pm := randomMask(rng, b*s), randomMask(rng, b*c)
		w, denom, err := new(LossScratch).spanWeights(y, b, s, c, sm, pm, o, rand.New(rand.NewPCG(5, uint64(k))))
		if err != nil {
			t.Fatal(err)
		}
		f := func(x []float64) (float64, []float64, []float64) {
			sc := new(LossScratch)
			return sc.weightedLoss(x, sc.to64(&sc.y, y), w, denom, o, true, false)
		}
		checkFD(t, "span "+optName(o), x, o.Reduction, 1, f)
		// The public float32 path with the same rng draws gives the same
		// gradient up to float32 rounding.
		res, err := SpanLoss(x32, y, b, s, c, sm, pm, o, rand.New(rand.NewPCG(5, uint64(k))))
		if err != nil {
			t.Fatal(err)
		}
		compareResult(t, "span "+optName(o), res, f, x)
	}
}

// compareResult checks a float32 Result against the float64 computation.
func compareResult(t *testing.T, name string, res *LossResult, f lossFn64, x []float64) {
	t.Helper()
	l, per, local := f(x)
	if !relClose(float64(res.Loss), l, 1e-5) && math.Abs(float64(res.Loss)-l) > 1e-5 {
		t.Errorf("%s: float32 loss %v, float64 %v", name, res.Loss, l)
	}
	dOut := make([]float32, res.NumOutputs())
	for i := range dOut {
		dOut[i] = float32(i%5) - 1.5
	}
	g, err := res.Backward(dOut)
	if err != nil {
		t.Fatal(err)
	}
	for i := range g {
		want := local[i] * float64(dOut[i/res.group%len(dOut)])
		if res.Reduction != ReductionNone {
			want = local[i] * float64(dOut[0])
		}
		if math.Abs(float64(g[i])-want) > 1e-5+1e-4*math.Abs(want) {
			t.Fatalf("%s: Backward[%d] = %v, float64 %v", name, i, g[i], want)
		}
	}
	if res.Reduction == ReductionNone {
		if len(res.PerElement) != len(per) {
			t.Fatalf("%s: %d per-element losses, want %d", name, len(res.PerElement), len(per))
		}
		for i := range per {
			if math.Abs(float64(res.PerElement[i])-per[i]) > 1e-5+1e-5*math.Abs(per[i]) {
				t.Fatalf("%s: per-element loss %d = %v, float64 %v", name, i, res.PerElement[i], per[i])
			}
		}
	}
	if _, err := res.Backward(make([]float32, res.NumOutputs()+1)); err == nil {
		t.Errorf("%s: Backward accepted an upstream gradient of the wrong length", name)
	}
}

func TestTokenLossGradFD(t *testing.T) {
	const b, w, c = 2, 6, 3
	for k, o := range optionGrid() {
		for _, ch := range []int{3, 1} {
			for _, compat := range []bool{false, true} {
				o.ReferenceCompat = compat
				rng := rand.New(rand.NewPCG(uint64(k), 13))
				x, x32, y := randomCase(rng, b*w*c*ch, false)
				wm, pm := randomMask(rng, b*w), randomMask(rng, b*c)
				wt, denom, err := new(LossScratch).tokenWeights(y, b, w, c, ch, wm, pm, o, rand.New(rand.NewPCG(9, uint64(k))))
				if err != nil {
					t.Fatal(err)
				}
				f := func(x []float64) (float64, []float64, []float64) {
					sc := new(LossScratch)
					return sc.weightedLoss(x, sc.to64(&sc.y, y), wt, denom, o, true, false)
				}
				name := fmt.Sprintf("token ch%d %s", ch, optName(o))
				checkFD(t, name, x, o.Reduction, 1, f)
				res, err := TokenLoss(x32, y, b, w, c, ch, wm, pm, o, rand.New(rand.NewPCG(9, uint64(k))))
				if err != nil {
					t.Fatal(err)
				}
				compareResult(t, name, res, f, x)
			}
		}
	}
}

func TestAdjacencyLossGradFD(t *testing.T) {
	const b, e = 2, 4
	for k, o := range optionGrid() {
		rng := rand.New(rand.NewPCG(uint64(k), 17))
		x, x32, y := randomCase(rng, b*e*e, true)
		em := randomMask(rng, b*e)
		w, denom, err := new(LossScratch).adjWeights(y, b, e, em, o, rand.New(rand.NewPCG(2, uint64(k))))
		if err != nil {
			t.Fatal(err)
		}
		f := func(x []float64) (float64, []float64, []float64) {
			sc := new(LossScratch)
			return sc.weightedLoss(x, sc.to64(&sc.y, y), w, denom, o, false, false)
		}
		checkFD(t, "adjacency "+optName(o), x, o.Reduction, 1, f)
		res, err := AdjacencyLoss(x32, y, b, e, em, o, rand.New(rand.NewPCG(2, uint64(k))))
		if err != nil {
			t.Fatal(err)
		}
		compareResult(t, "adjacency "+optName(o), res, f, x)
	}
}

func TestRelationLossGradFD(t *testing.T) {
	const b, n, r = 2, 5, 3
	for k, o := range optionGrid() {
		rng := rand.New(rand.NewPCG(uint64(k), 19))
		x, x32, y := randomCase(rng, b*n*r, false)
		pmk, cm := randomMask(rng, b*n), randomMask(rng, b*r)
		w, denom, err := new(LossScratch).relWeights(y, b, n, r, pmk, cm, o, rand.New(rand.NewPCG(4, uint64(k))))
		if err != nil {
			t.Fatal(err)
		}
		f := func(x []float64) (float64, []float64, []float64) {
			sc := new(LossScratch)
			return sc.weightedLoss(x, sc.to64(&sc.y, y), w, denom, o, true, false)
		}
		checkFD(t, "relation "+optName(o), x, o.Reduction, 1, f)
		res, err := RelationLoss(x32, y, b, n, r, pmk, cm, o, rand.New(rand.NewPCG(4, uint64(k))))
		if err != nil {
			t.Fatal(err)
		}
		compareResult(t, "relation "+optName(o), res, f, x)
	}
}

func TestCrossEntropyGradFD(t *testing.T) {
	const rows, vocab = 7, 5
	rng := rand.New(rand.NewPCG(21, 22))
	x := make([]float64, rows*vocab)
	x32 := make([]float32, rows*vocab)
	for i := range x {
		x32[i] = float32(rng.Float64()*6 - 3)
		x[i] = float64(x32[i])
	}
	targets := []int64{0, 4, IgnoreIndex, 2, 3, 3, 1}
	for _, red := range []Reduction{ReductionSum, ReductionMean, ReductionNone} {
		for _, pad := range []bool{false, true} {
			o := CEOptions{Reduction: red, IgnorePadding: pad, PadID: 3}
			f := func(x []float64) (float64, []float64, []float64) {
				l, per, local, err := crossEntropy(x, targets, rows, vocab, o, false)
				if err != nil {
					t.Fatal(err)
				}
				return l, per, local
			}
			name := fmt.Sprintf("cross-entropy %s pad%v", red, pad)
			checkFD(t, name, x, red, vocab, f)
			res, err := DecoderCrossEntropy(x32, targets, rows, vocab, o)
			if err != nil {
				t.Fatal(err)
			}
			compareResult(t, name, res, f, x)
		}
	}
}
