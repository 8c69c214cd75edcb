package kern

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Reporter is the part of testing.TB that CheckGrad uses.
type Reporter interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// CheckGrad compares an analytic gradient with NumericGrad's central
// finite differences of the scalar f with respect to every element of x
// (f evaluated in float64 over the float32 outputs of the kernels under
// test), failing t when CompareGrad reports a disagreement.
func CheckGrad(t Reporter, name string, f func() float64, x []float32, analytic []float32, eps, tol float64) {
	t.Helper()
	if len(x) != len(analytic) {
		t.Fatalf("%s: len(x)=%d but len(analytic)=%d", name, len(x), len(analytic))
		return
	}
	if err := CompareGrad(analytic, NumericGrad(f, x, float32(eps)), tol); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}

// lossDot is Σ w[i]·y[i] in float64: the scalar loss used by gradient checks
// (its gradient with respect to y is w).
func lossDot(w []float64, y []float32) float64 {
	var s float64
	for i := range y {
		s += w[i] * float64(y[i])
	}
	return s
}

func toF32(w []float64) []float32 {
	out := make([]float32, len(w))
	for i, v := range w {
		out[i] = float32(v)
	}
	return out
}

func randF32(r *rand.Rand, n int, scale float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = (r.Float32()*2 - 1) * scale
	}
	return out
}

// randW draws loss weights that are exact in float32 and float64 alike
// (multiples of 1/64), so toF32(w) equals w.
func randW(r *rand.Rand, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(r.IntN(129)-64) / 64
	}
	return out
}

func expectClose(t *testing.T, name string, got []float32, want []float64, rtol, atol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", name, len(got), len(want))
	}
	bad := 0
	for i := range got {
		if float64(got[i]) == want[i] {
			continue // also equal infinities
		}
		d := math.Abs(float64(got[i]) - want[i])
		if d > atol+rtol*math.Abs(want[i]) || math.IsNaN(d) {
			if bad < 5 {
				t.Errorf("%s[%d] = %.9g, want %.9g (diff %.3g)", name, i, got[i], want[i], d)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements differ", name, bad, len(got))
	}
}

type recorder struct{ errors int }

func (r *recorder) Helper()                   {}
func (r *recorder) Errorf(string, ...any)     { r.errors++ }
func (r *recorder) Fatalf(f string, a ...any) { r.errors++ }

func TestCheckGradCatchesWrongGradient(t *testing.T) {
	// A self-test of the helper: a correct gradient passes, a wrong one is
	// reported (run against a recording testing.T).
	x := []float32{0.3, -1.2, 2}
	f := func() float64 {
		var s float64
		for _, v := range x {
			s += float64(v) * float64(v) * float64(v)
		}
		return s
	}
	good := []float32{3 * 0.09, 3 * 1.44, 12}
	CheckGrad(t, "cube", f, x, good, 1e-3, 1e-3)
	rec := &recorder{}
	CheckGrad(rec, "cube-wrong", f, x, []float32{0.27, 4.32, 11}, 1e-3, 1e-3)
	if rec.errors != 1 {
		t.Fatal("CheckGrad accepted a wrong gradient")
	}
}
