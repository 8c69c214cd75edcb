package decode

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkSpanBatch decodes a batch of 8 × 100 words × max_width 12 × 25
// types with about 1% of probabilities above the threshold.
func BenchmarkSpanBatch(b *testing.B) {
	const bs, w, k, c = 8, 100, 12, 25
	rng := rand.New(rand.NewPCG(1, 2))
	probs := make([]float32, bs*w*k*c)
	for i := range probs {
		probs[i] = float32(rng.Float64() * 0.505)
	}
	labels := make([]string, c)
	for i := range labels {
		labels[i] = string(rune('a' + i))
	}
	nw := []int{100, 90, 80, 100, 70, 100, 95, 60}
	o := Options{Threshold: 0.5, FlatNER: false}
	for b.Loop() {
		if _, err := SpanBatch(probs, bs, w, k, c, nw, [][]string{labels}, o); err != nil {
			b.Fatal(err)
		}
	}
}
