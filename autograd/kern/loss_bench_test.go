package kern

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkSpanLoss times the span loss and its backward at the benchmark
// step's size: batch 8 × 100 words × max_width 12 × 25 types.
func BenchmarkSpanLoss(b *testing.B) {
	const bs, s, c = 8, 100 * 12, 25
	rng := rand.New(rand.NewPCG(1, 2))
	logits := make([]float32, bs*s*c)
	labels := make([]float32, bs*s*c)
	for i := range logits {
		logits[i] = float32(rng.NormFloat64() * 3)
		if rng.Float64() < 0.01 {
			labels[i] = 1
		}
	}
	spanMask := make([]float32, bs*s)
	for i := range spanMask {
		spanMask[i] = 1
	}
	pm := make([]float32, bs*c)
	for i := range pm {
		pm[i] = 1
	}
	o := DefaultLossOptions()
	o.Alpha, o.Masking, o.Negatives = 0.75, MaskingSpan, 0.5
	b.ReportAllocs()
	for b.Loop() {
		res, err := SpanLoss(logits, labels, bs, s, c, spanMask, pm, o, rng)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := res.Backward([]float32{1}); err != nil {
			b.Fatal(err)
		}
	}
}
