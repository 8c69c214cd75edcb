package kern

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestActivationKnownValues(t *testing.T) {
	x := []float32{-3, -1, -0.5, 0, 0.5, 1, 3}
	y := make([]float32, len(x))
	// Exact GELU: x·Φ(x); Φ(1) = 0.841344746068543, Φ(3) = 0.998650101968370,
	// Φ(0.5) = 0.691462461274013 (standard normal tables).
	GELUForward(y, x)
	expectClose(t, "gelu", y, []float64{
		-3 * (1 - 0.998650101968370), -(1 - 0.841344746068543), -0.5 * (1 - 0.691462461274013),
		0, 0.5 * 0.691462461274013, 0.841344746068543, 3 * 0.998650101968370}, 1e-7, 3e-7) // erf32 is within 1.5e-7 of erf, as torch's own
	// gelu_new at 1: ½(1 + tanh(√(2/π)·1.044715)).
	GELUNewForward(y, x)
	expectClose(t, "gelu_new(1)", y[5:6], []float64{0.5 * (1 + math.Tanh(math.Sqrt(2/math.Pi)*1.044715))}, 1e-7, 0)
	expectClose(t, "gelu_new(0)", y[3:4], []float64{0}, 0, 0)
	ReLUForward(y, x)
	expectClose(t, "relu", y, []float64{0, 0, 0, 0, 0.5, 1, 3}, 0, 0)
	TanhForward(y, x)
	expectClose(t, "tanh", y, []float64{-0.995054753686730, -0.761594155955765, -0.462117157260010, 0, 0.462117157260010, 0.761594155955765, 0.995054753686730}, 1e-7, 0)
	SigmoidForward(y, x)
	expectClose(t, "sigmoid", y, []float64{0.047425873177567, 0.268941421369995, 0.377540668798145, 0.5, 0.622459331201855, 0.731058578630005, 0.952574126822433}, 1e-7, 0)
	SigmoidForward(y[:2], []float32{-200, 200})
	expectClose(t, "sigmoid extremes", y[:2], []float64{0, 1}, 0, 0)
}

func TestActivationGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	n := 40
	x := randF32(r, n, 4)
	w := randW(r, n)
	y, dx := make([]float32, n), make([]float32, n)
	type act struct {
		name    string
		fwd     func(y, x []float32)
		bwd     func(dx, dy, saved []float32)
		usesOut bool
	}
	for _, a := range []act{
		{"gelu", GELUForward, GELUBackward, false},
		{"gelu_new", GELUNewForward, GELUNewBackward, false},
		{"relu", ReLUForward, ReLUBackward, true},
		{"tanh", TanhForward, TanhBackward, true},
		{"sigmoid", SigmoidForward, SigmoidBackward, true},
	} {
		f := func() float64 { a.fwd(y, x); return lossDot(w, y) }
		f()
		saved := x
		if a.usesOut {
			saved = y
		}
		a.bwd(dx, toF32(w), saved)
		CheckGrad(t, a.name, f, x, dx, 1e-3, 2e-3)
	}
}

func BenchmarkGELUForward(b *testing.B) {
	n := 8 * 128 * 3072
	r := rand.New(rand.NewPCG(1, 1))
	x, y := randF32(r, n, 4), make([]float32, n)
	b.SetBytes(int64(4 * n))
	for b.Loop() {
		GELUForward(y, x)
	}
}

func BenchmarkGELUBackward(b *testing.B) {
	n := 8 * 128 * 3072
	r := rand.New(rand.NewPCG(1, 1))
	x, dy, dx := randF32(r, n, 4), randF32(r, n, 1), make([]float32, n)
	b.SetBytes(int64(4 * n))
	for b.Loop() {
		GELUBackward(dx, dy, x)
	}
}

// erf32 reproduces PyTorch's vectorised float32 erf: the A&S form is within
// 1.5e-7 of erf, and its float32 evaluation (1 − r·t·e cancels near 0)
// adds a few ulps: 4.5e-7 at worst on [-6, 6], as torch's own.
func TestErf32MatchesErfWithinTorchsError(t *testing.T) {
	worst := 0.0
	for i := -60000; i <= 60000; i++ {
		x := float32(i) / 10000
		d := math.Abs(float64(erf32(x)) - math.Erf(float64(x)))
		worst = math.Max(worst, d)
		if erf32(-x) != -erf32(x) {
			t.Fatalf("erf32 not odd at %v", x)
		}
	}
	if worst > 5e-7 {
		t.Fatalf("max |erf32 − erf| = %.3g", worst)
	}
	if erf32(10) != 1 || erf32(-10) != -1 {
		t.Fatalf("erf32(±10) = %v, %v", erf32(10), erf32(-10))
	}
	t.Logf("max |erf32 − erf| on [-6, 6] = %.3g", worst)
}
