package kern

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestLossScratchReuse checks that a LossScratch reused across calls of
// different sizes, reductions and maskings gives exactly the results of
// the package-level functions (fresh buffers), and that a repeated call
// of one size allocates nothing.
func TestLossScratchReuse(t *testing.T) {
	var sc LossScratch
	rng := rand.New(rand.NewPCG(3, 4))
	type shape struct{ b, s, c int }
	for i, sh := range []shape{{2, 7, 3}, {1, 3, 2}, {3, 9, 4}, {2, 7, 3}} {
		n := sh.b * sh.s * sh.c
		_, x, y := randomCase(rng, n, false)
		sm, pm := randomMask(rng, sh.b*sh.s), randomMask(rng, sh.b*sh.c)
		for _, red := range []Reduction{ReductionSum, ReductionMean, ReductionNone} {
			for _, m := range []Masking{MaskingNone, MaskingLabel, MaskingSpan} {
				o := DefaultLossOptions()
				o.Reduction, o.Masking, o.Negatives = red, m, 0.5
				seed := uint64(10*i) + uint64(red)
				want, err := SpanLoss(x, y, sh.b, sh.s, sh.c, sm, pm, o, rand.New(rand.NewPCG(seed, 1)))
				if err != nil {
					t.Fatal(err)
				}
				got, err := sc.SpanLoss(x, y, sh.b, sh.s, sh.c, sm, pm, o, rand.New(rand.NewPCG(seed, 1)))
				if err != nil {
					t.Fatal(err)
				}
				dOut := []float32{0.7}
				if red == ReductionNone {
					dOut = make([]float32, n)
					for j := range dOut {
						dOut[j] = float32(j%5) - 2
					}
				}
				wg, err := want.Backward(dOut)
				if err != nil {
					t.Fatal(err)
				}
				gg := make([]float32, n)
				if err := got.BackwardInto(gg, dOut); err != nil {
					t.Fatal(err)
				}
				if got.Loss != want.Loss || !slices.Equal(got.PerElement, want.PerElement) || !slices.Equal(gg, wg) {
					t.Fatalf("%v %s %s: scratch loss %v per %v grad %v, fresh %v %v %v", sh, red, m, got.Loss, got.PerElement, gg, want.Loss, want.PerElement, wg)
				}
			}
		}
	}
	if err := (&LossResult{local: make([]float32, 3), group: 1}).BackwardInto(make([]float32, 2), []float32{1}); err == nil {
		t.Error("BackwardInto into a short buffer: no error")
	}
	_, x, y := randomCase(rng, 2*7*3, false)
	sm, pm := randomMask(rng, 2*7), randomMask(rng, 2*3)
	o := DefaultLossOptions()
	g, one := make([]float32, len(x)), []float32{1}
	allocs := testing.AllocsPerRun(5, func() {
		r, err := sc.SpanLoss(x, y, 2, 7, 3, sm, pm, o, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.BackwardInto(g, one); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("reused SpanLoss + BackwardInto: %v allocations per call, want 0", allocs)
	}
}
