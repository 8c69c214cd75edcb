package testutil

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// Tol bounds a golden comparison the way torch.testing.assert_close does,
// element by element
//
//	|got - want| <= ATol·Scale(want) + RTol·|want|
//
// except that the absolute term is scaled to the reference tensor's
// magnitude: Scale is the root mean square of the reference's finite values
// (at least Floor). Float32 arithmetic rounds every product and sum at the
// magnitude of its terms, not of its result, so an element that comes out
// small after cancellation (a gradient 3e-4 in a tensor of RMS 4) carries an
// absolute error of the tensor's order; a purely relative bound fails there
// on a machine whose BLAS sums in another order (AVX-512 kernels), while the
// scaled absolute term keeps the large elements checked at RTol.
//
// NaN matches only NaN and an infinity only the same infinity.
type Tol struct {
	RTol, ATol float64
	// Floor is the least Scale (0: none). A reference that is all zeros has
	// Scale Floor.
	Floor float64
}

// The bounds of the project's golden tests. They follow the numerics: the
// reference itself, rerun on another x86-64 CPU, moves logits and
// intermediates by about 1e-6 and gradients by up to about 1e-3 relative,
// and this code's BLAS builds differ among themselves by as much. Measured
// on the models package's golden tests under -tags purego and under
// OpenBLAS 0.3.21 with each of its x86-64 kernel sets (OPENBLAS_CORETYPE
// Prescott, Nehalem, Sandybridge, Haswell, SkylakeX, Cooperlake), the
// least ATol that passes at these RTol is 1.9e-6 (forward) and 2.0e-6
// (gradients): the bounds leave a factor of 5.
var (
	// Forward bounds the float32 outputs of a forward pass (logits, hidden
	// states, embeddings).
	Forward = Tol{RTol: 1e-5, ATol: 1e-5}
	// Grad bounds gradients, which sum over the batch and every layer
	// above: RTol 1e-3 (the reference's own spread across CPUs) and ATol
	// 1e-5 of the tensor's RMS.
	Grad = Tol{RTol: 1e-3, ATol: 1e-5}
	// GradNorm bounds a parameter's gradient norm: 1e-3 relative, or 1e-6
	// absolute for the norms that are rounding noise (a BERT key bias gets
	// none in exact arithmetic: softmax ignores a shift of every score).
	GradNorm = Tol{ATol: 1e-3, Floor: 1e-3}
	// Loss bounds a scalar loss (Scale is |want|): 1e-4 relative, where
	// the builds measured spread at most 4.6e-7.
	Loss = Tol{RTol: 1e-4}
	// Prob bounds a probability (an entity or relation score) absolutely.
	Prob = Tol{ATol: 1e-4, Floor: 1}
)

// Mismatch describes the worst violation of a Tol.
type Mismatch struct {
	N, Of      int     // elements out of bounds, of the total
	Index      int     // flat index of the greatest absolute difference
	Got, Want  float64 // values there
	AbsDiff    float64 // the greatest |got-want| among the failing elements
	Allowed    float64 // the bound at Index
	MaxRel     float64 // the greatest |got-want|/|want| among the failing elements
	RelIndex   int
	Scale      float64
	Shape      []int
	Mismatched []int // the first few failing flat indices
}

// Error formats m like torch.testing.assert_close.
func (m *Mismatch) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mismatched elements: %d / %d (%.1f%%)\n", m.N, m.Of, 100*float64(m.N)/float64(max(m.Of, 1)))
	fmt.Fprintf(&b, "  greatest absolute difference: %.6g at index %s (got %.9g, reference %.9g; allowed %.3g)\n",
		m.AbsDiff, indexString(m.Index, m.Shape), m.Got, m.Want, m.Allowed)
	fmt.Fprintf(&b, "  greatest relative difference: %.6g at index %s\n", m.MaxRel, indexString(m.RelIndex, m.Shape))
	fmt.Fprintf(&b, "  reference scale (RMS) %.6g", m.Scale)
	return b.String()
}

// indexString writes flat index i in shape's row-major coordinates.
func indexString(i int, shape []int) string {
	if len(shape) == 0 {
		return fmt.Sprintf("[%d]", i)
	}
	c := make([]int, len(shape))
	r := i
	for k := len(shape) - 1; k >= 0; k-- {
		if shape[k] > 0 {
			c[k] = r % shape[k]
			r /= shape[k]
		}
	}
	if r != 0 { // the shape does not cover i
		return fmt.Sprintf("[%d]", i)
	}
	return strings.ReplaceAll(fmt.Sprint(c), " ", ", ")
}

// Scale is the root mean square of want's finite values, at least floor.
func Scale[U float32 | float64](want []U, floor float64) float64 {
	var s float64
	n := 0
	for _, w := range want {
		x := float64(w)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			continue
		}
		s += x * x
		n++
	}
	if n > 0 {
		s = math.Sqrt(s / float64(n))
	}
	return math.Max(s, floor)
}

// Compare checks got against want under tol and returns nil when every
// element is within bounds. shape (may be nil) only labels the index of a
// failure. A length mismatch is reported as an error.
func Compare[T, U float32 | float64](got []T, want []U, shape []int, tol Tol) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d values, reference %d (shape %v)", len(got), len(want), shape)
	}
	scale := Scale(want, tol.Floor)
	atol := tol.ATol * scale
	m := Mismatch{Of: len(want), Scale: scale, Shape: shape, AbsDiff: -1, MaxRel: -1}
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		d := math.Abs(g - w)
		allowed := atol + tol.RTol*math.Abs(w)
		switch {
		case math.IsNaN(w) || math.IsNaN(g) || math.IsInf(w, 0) || math.IsInf(g, 0):
			if (math.IsNaN(w) && math.IsNaN(g)) || g == w {
				continue
			}
			d = math.Inf(1)
		case d <= allowed:
			continue
		}
		m.N++
		if len(m.Mismatched) < 8 {
			m.Mismatched = append(m.Mismatched, i)
		}
		if !(d <= m.AbsDiff) { // NaN differences count as the greatest
			m.AbsDiff, m.Index, m.Got, m.Want, m.Allowed = d, i, g, w, allowed
		}
		if r := d / math.Abs(w); !(r <= m.MaxRel) {
			m.MaxRel, m.RelIndex = r, i
		}
	}
	if m.N == 0 {
		return nil
	}
	return &m
}

// AssertClose reports (t.Errorf) what when got is not within tol of want and
// returns whether it was.
func AssertClose[T, U float32 | float64](tb testing.TB, what string, got []T, want []U, shape []int, tol Tol) bool {
	tb.Helper()
	if err := Compare(got, want, shape, tol); err != nil {
		tb.Errorf("%s: %v", what, err)
		return false
	}
	return true
}

// AssertCloseJSON is AssertClose against a fixture tensor, whose shape
// labels the failure.
func AssertCloseJSON[T float32 | float64](tb testing.TB, what string, got []T, want JSONTensor, tol Tol) bool {
	tb.Helper()
	w, err := want.Floats()
	if err != nil {
		tb.Fatalf("%s: reference: %v", what, err)
	}
	return AssertClose(tb, what, got, w, want.Shape, tol)
}

// CloseScalar reports whether one value is within tol of the reference
// (Scale is |want|, at least tol.Floor).
func CloseScalar(got, want float64, tol Tol) bool {
	return Compare([]float64{got}, []float64{want}, nil, tol) == nil
}

// AssertCloseScalar is AssertClose for one value.
func AssertCloseScalar(tb testing.TB, what string, got, want float64, tol Tol) bool {
	tb.Helper()
	if !CloseScalar(got, want, tol) {
		tb.Errorf("%s = %.9g, reference %.9g (|diff| %.3g, rel %.3g; allowed rtol %g atol %g·max(|ref|, %g))",
			what, got, want, math.Abs(got-want), math.Abs(got-want)/math.Abs(want), tol.RTol, tol.ATol, tol.Floor)
		return false
	}
	return true
}
