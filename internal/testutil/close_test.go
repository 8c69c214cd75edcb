package testutil

import (
	"math"
	"strings"
	"testing"
)

// The element that failed on an AVX-512 machine (issue 12 A): a gradient of
// 2.88e-4 in span_rep_layer.out_project.0.weight, a tensor of RMS 4.19.
// Its absolute error, 1.2e-6, is float32 rounding at the tensor's scale.
func TestCompareScalesATolToTheTensor(t *testing.T) {
	want := make([]float64, 8192)
	got := make([]float32, len(want))
	for i := range want {
		want[i] = 4.19 * math.Sin(float64(i)) * math.Sqrt2
		got[i] = float32(want[i])
	}
	want[1987], got[1987] = 0.00028835237, 0.00028711557
	if err := Compare(got, want, []int{64, 128}, Grad); err != nil {
		t.Errorf("rounding-sized error on a small element rejected: %v", err)
	}
	// A large element 2e-3 off relative is still an error, and the
	// message says where and by how much.
	got[5] = float32(want[5] * (1 + 2e-3))
	err := Compare(got, want, []int{64, 128}, Grad)
	if err == nil {
		t.Fatal("a 2e-3 relative error on a large element passed")
	}
	for _, s := range []string{"mismatched elements: 1 / 8192", "at index [0, 5]", "greatest absolute difference"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message %q lacks %q", err, s)
		}
	}
}

func TestCompareNonFinite(t *testing.T) {
	inf := math.Inf(1)
	if err := Compare([]float64{math.NaN(), inf, 1}, []float64{math.NaN(), inf, 1}, nil, Forward); err != nil {
		t.Errorf("equal NaN/Inf rejected: %v", err)
	}
	for _, got := range [][]float64{{1, inf, 1}, {math.NaN(), -inf, 1}, {math.NaN(), inf, math.NaN()}} {
		if Compare(got, []float64{math.NaN(), inf, 1}, nil, Forward) == nil {
			t.Errorf("%v accepted against [NaN +Inf 1]", got)
		}
	}
	if Compare([]float32{1, 2}, []float64{1}, nil, Forward) == nil {
		t.Error("length mismatch accepted")
	}
}

func TestCloseScalar(t *testing.T) {
	if !CloseScalar(100.005, 100, Loss) || CloseScalar(100.02, 100, Loss) {
		t.Error("Loss is not 1e-4 relative")
	}
	if !CloseScalar(0.5+9e-5, 0.5, Prob) || CloseScalar(0.5+2e-4, 0.5, Prob) {
		t.Error("Prob is not 1e-4 absolute")
	}
	// A gradient norm that is rounding noise: 1e-6 absolute.
	if !CloseScalar(9.2e-7, 1.2e-6, GradNorm) || CloseScalar(2.3e-6, 1.2e-6, GradNorm) || CloseScalar(10.02, 10, GradNorm) {
		t.Error("GradNorm is not max(1e-3 relative, 1e-6)")
	}
}
