package kern

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestParseEnums(t *testing.T) {
	for i, n := range []string{"sum", "mean", "none"} {
		r, err := ParseReduction(n)
		if err != nil || r != Reduction(i) || r.String() != n {
			t.Errorf("ParseReduction(%q) = %v, %v", n, r, err)
		}
	}
	for i, n := range []string{"none", "global", "label", "span"} {
		m, err := ParseMasking(n)
		if err != nil || m != Masking(i) || m.String() != n {
			t.Errorf("ParseMasking(%q) = %v, %v", n, m, err)
		}
	}
	if _, err := ParseReduction("avg"); err == nil || !strings.Contains(err.Error(), "sum, mean, none") {
		t.Errorf("ParseReduction(avg) error %v, want the valid values listed", err)
	}
	if _, err := ParseMasking("tokens"); err == nil || !strings.Contains(err.Error(), "none, global, label, span") {
		t.Errorf("ParseMasking(tokens) error %v, want the valid values listed", err)
	}
}

func TestNegativeMaskSemantics(t *testing.T) {
	// (B=1, S=4, C=3): span 1 and class 2 have no positive.
	labels := []float32{
		1, 0, 0,
		0, 0, 0,
		0, 1, 0,
		1, 1, 0,
	}
	// negatives 0 drops every proposed element deterministically.
	rng := rand.New(rand.NewPCG(1, 1))
	cases := map[Masking][]float32{
		MaskingGlobal: {1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0},
		MaskingLabel:  {1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0},
		MaskingSpan:   {1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1},
	}
	for m, want := range cases {
		got, err := NegativeMask(labels, 1, 4, 3, 1, m, 0, rng)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: mask %v, want %v", m, got, want)
		}
	}
	// negatives >= 1 and masking none are no-ops that draw nothing.
	for _, m := range []Masking{MaskingNone, MaskingGlobal} {
		got, err := NegativeMask(labels, 1, 4, 3, 1, m, 1, nil)
		if err != nil || got != nil {
			t.Errorf("%s, negatives 1: %v, %v; want nil, nil", m, got, err)
		}
	}
	if _, err := NegativeMask(labels, 1, 4, 3, 1, MaskingGlobal, 0.5, nil); err == nil {
		t.Error("nil rng with negatives 0.5 was accepted")
	}
	if _, err := NegativeMask(labels, 1, 4, 2, 1, MaskingGlobal, 0.5, rng); err == nil {
		t.Error("labels of the wrong size were accepted")
	}
}

func TestNegativeMaskRateAndSeed(t *testing.T) {
	labels := make([]float32, 20000)
	a, err := NegativeMask(labels, 1, 20000, 1, 1, MaskingGlobal, 0.3, rand.New(rand.NewPCG(42, 0)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NegativeMask(labels, 1, 20000, 1, 1, MaskingGlobal, 0.3, rand.New(rand.NewPCG(42, 0)))
	kept := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different masks at %d", i)
		}
		kept += int(a[i])
	}
	if kept < 5700 || kept > 6300 {
		t.Errorf("kept %d of 20000 negatives with probability 0.3", kept)
	}
}

func TestSpanLossMaskingAndNone(t *testing.T) {
	// One example, 2 spans × 2 classes; span 1 masked, class 1 masked.
	logits := []float32{0.5, -1, 2, 3}
	labels := []float32{1, 0, 0, 1}
	o := DefaultLossOptions()
	res, err := SpanLoss(logits, labels, 1, 2, 2, []float32{1, 0}, []float32{1, 0}, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	l0, _ := LossElement(0.5, 1, o, true)
	if res.Loss != l0 {
		t.Errorf("masked span loss %v, want only element 0: %v", res.Loss, l0)
	}
	o.Reduction = ReductionMean
	res, _ = SpanLoss(logits, labels, 1, 2, 2, []float32{1, 1}, []float32{1, 1}, o, nil)
	var sum float32
	for i := range logits {
		l, _ := LossElement(logits[i], labels[i], o, true)
		sum += l
	}
	if !relClose(float64(res.Loss), float64(sum/2), 1e-6) {
		t.Errorf("mean over 2 valid spans: %v, want %v", res.Loss, sum/2)
	}
	o.Reduction = ReductionNone
	res, _ = SpanLoss(logits, labels, 1, 2, 2, []float32{1, 1}, []float32{1, 0}, o, nil)
	if len(res.PerElement) != 4 || res.PerElement[1] != 0 || res.PerElement[3] != 0 || res.PerElement[0] == 0 {
		t.Errorf("none reduction per-element %v, want class 1 zeroed", res.PerElement)
	}
	if _, err := SpanLoss(logits, labels, 1, 2, 2, []float32{1}, []float32{1, 0}, o, nil); err == nil || !strings.Contains(err.Error(), "span_mask") {
		t.Errorf("short span mask: error %v", err)
	}
}

func TestElementSaturates(t *testing.T) {
	o := DefaultLossOptions()
	// float32 sigmoid(30) is exactly 1: the negative term is clamped at eps.
	l, g := LossElement(30, 0, o, true)
	if !relClose(float64(l), 13.815510557964274, 1e-6) || g != 0 {
		t.Errorf("Element(30, 0) = %v, %v; want 13.8155, 0", l, g)
	}
	l, g = LossElement(1, IgnoreIndex, o, true)
	if l != 0 || g != 0 {
		t.Errorf("ignored element: %v, %v", l, g)
	}
}

func TestTokenLossReferenceCompat(t *testing.T) {
	logits := []float32{0.1, 0.2, -0.3, 1, 2, -2}
	labels := []float32{0, 0, 0, 0, 0, 0} // (1,1,2,3), no positives
	o := DefaultLossOptions()
	o.Masking, o.Negatives = MaskingGlobal, 0
	comp := o
	comp.ReferenceCompat = true
	a, err := TokenLoss(logits, labels, 1, 1, 2, 3, []float32{1}, []float32{1, 1}, o, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := TokenLoss(logits, labels, 1, 1, 2, 3, []float32{1}, []float32{1, 1}, comp, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Loss != 0 || b.Loss == 0 {
		t.Errorf("masking applied: %v (want 0), reference compat: %v (want > 0)", a.Loss, b.Loss)
	}
}
