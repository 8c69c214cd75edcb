package kern

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestDropoutScalesByInverseKeepProbability(t *testing.T) {
	// Inverted dropout: kept elements are scaled by 1/(1−p), NOT 1/p (the
	// scaling Gorgonia's Dropout uses). With p = 0.25 a kept 1 becomes 4/3.
	n := 20000
	x := make([]float32, n)
	for i := range x {
		x[i] = 1
	}
	y, mask := make([]float32, n), make([]float32, n)
	if err := DropoutForward(y, mask, x, 0.25, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	kept := 0
	var sum float64
	for i, v := range y {
		switch v {
		case 0:
		case float32(1 / 0.75):
			kept++
		default:
			t.Fatalf("y[%d] = %v, want 0 or %v", i, v, float32(1/0.75))
		}
		if mask[i] != v {
			t.Fatalf("mask[%d] = %v, want the multiplier %v", i, mask[i], v)
		}
		sum += float64(v)
	}
	// Kept fraction ≈ 0.75 (binomial sd ≈ 0.003) and the mean is preserved.
	if frac := float64(kept) / float64(n); math.Abs(frac-0.75) > 0.02 {
		t.Errorf("kept fraction %.4f, want ≈ 0.75", frac)
	}
	if mean := sum / float64(n); math.Abs(mean-1) > 0.03 {
		t.Errorf("mean %.4f, want ≈ 1", mean)
	}
	// Backward: same mask, same scale.
	dy := make([]float32, n)
	for i := range dy {
		dy[i] = 2
	}
	dx := make([]float32, n)
	DropoutBackward(dx, dy, mask)
	for i := range dx {
		if dx[i] != 2*y[i] {
			t.Fatalf("dx[%d] = %v, want %v", i, dx[i], 2*y[i])
		}
	}
}

func TestDropoutDeterministicAndEdgeCases(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	x := randF32(r, 1000, 1)
	y1, m1 := make([]float32, 1000), make([]float32, 1000)
	y2, m2 := make([]float32, 1000), make([]float32, 1000)
	if err := DropoutForward(y1, m1, x, 0.1, rand.New(rand.NewPCG(42, 0))); err != nil {
		t.Fatal(err)
	}
	defer func(w int) { Workers = w }(Workers)
	Workers = 1
	if err := DropoutForward(y2, m2, x, 0.1, rand.New(rand.NewPCG(42, 0))); err != nil {
		t.Fatal(err)
	}
	expectClose(t, "same seed", y2, toF64(y1), 0, 0)
	// p = 0 is the identity and does not consume the generator.
	g := rand.New(rand.NewPCG(5, 5))
	if err := DropoutForward(y1, m1, x, 0, g); err != nil {
		t.Fatal(err)
	}
	expectClose(t, "p=0", y1, toF64(x), 0, 0)
	if got, want := g.Uint64(), rand.New(rand.NewPCG(5, 5)).Uint64(); got != want {
		t.Error("p = 0 consumed random numbers")
	}
	if err := DropoutForward(y1, m1, x, 1, nil); err != nil {
		t.Fatal(err)
	}
	expectClose(t, "p=1", y1, make([]float64, 1000), 0, 0)
	if err := DropoutForward(y1, m1, x, 1.5, g); err == nil {
		t.Error("p = 1.5 accepted")
	}
	if err := DropoutForward(y1, m1, x, 0.5, nil); err == nil {
		t.Error("nil generator accepted")
	}
}

func TestDropoutGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	n := 30
	x, w := randF32(r, n, 2), randW(r, n)
	y, mask, dx := make([]float32, n), make([]float32, n), make([]float32, n)
	f := func() float64 {
		if err := DropoutForward(y, mask, x, 0.3, rand.New(rand.NewPCG(9, 9))); err != nil {
			t.Fatal(err)
		}
		return lossDot(w, y)
	}
	f()
	DropoutBackward(dx, toF32(w), mask)
	CheckGrad(t, "dropout", f, x, dx, 1e-2, 1e-3)
}
