package infer

import (
	"strings"
	"testing"

	"github.com/gliner-go/gliner/internal/testutil"
)

// BenchmarkPredict runs the whole pipeline (split, collate, forward,
// decode, offsets) on 32 short texts with the tiny fixture model, with and
// without shape buckets.
func BenchmarkPredict(b *testing.B) {
	p, err := Load(testutil.Fixture(b, "uni_span_deberta"))
	if err != nil {
		b.Fatal(err)
	}
	base := []string{"Alice Brown joined Microsoft in London yesterday.", "Berlin is the capital of Germany.",
		"The summit in Paris ended on Friday with a statement from the United Nations.", "Zoë visited 東京 in May."}
	var texts []string
	for i := range 32 {
		texts = append(texts, strings.Repeat(base[i%len(base)]+" ", 1+i%3))
	}
	labels := []string{"person", "organization", "location", "date"}
	for _, buckets := range []bool{false, true} {
		name := "plain"
		if buckets {
			name = "buckets"
		}
		b.Run(name, func(b *testing.B) {
			o := DefaultOptions()
			o.Buckets = buckets
			for b.Loop() {
				if _, err := p.Predict(texts, labels, o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
