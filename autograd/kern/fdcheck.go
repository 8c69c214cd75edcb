package kern

import (
	"fmt"
	"math"
	"strings"
)

// NumericGrad returns the central finite-difference gradient of the scalar
// f with respect to every element of x, in float64: x[i] is moved by ±eps
// in place (and restored), and the difference of f is divided by the
// actual float32 step taken. f should reduce the float32 outputs under
// test in float64 (for example Σ w·y with fixed weights w). It is the
// reference for the gradient checks of every hand-written backward; other
// packages' tests use it through CompareGrad.
func NumericGrad(f func() float64, x []float32, eps float32) []float64 {
	out := make([]float64, len(x))
	for i := range x {
		orig := x[i]
		x[i] = orig + eps
		hi := float64(x[i])
		fp := f()
		x[i] = orig - eps
		lo := float64(x[i])
		fm := f()
		x[i] = orig
		out[i] = (fp - fm) / (hi - lo)
	}
	return out
}

// CompareGrad checks an analytic gradient against a numeric one: element i
// agrees when |analytic − numeric| ≤ tol·(1 + |numeric|). It returns nil
// when all agree, else an error naming the count and the first few
// disagreeing elements.
func CompareGrad(analytic []float32, numeric []float64, tol float64) error {
	if len(analytic) != len(numeric) {
		return fmt.Errorf("gradient length %d, numeric %d", len(analytic), len(numeric))
	}
	var bad []string
	n := 0
	for i, a := range analytic {
		d := math.Abs(float64(a) - numeric[i])
		if d > tol*(1+math.Abs(numeric[i])) || math.IsNaN(d) {
			if n < 5 {
				bad = append(bad, fmt.Sprintf("[%d] analytic %.7g, finite difference %.7g", i, a, numeric[i]))
			}
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d gradient elements disagree: %s", n, len(analytic), strings.Join(bad, "; "))
}
