package train

import (
	"fmt"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
)

// BenchmarkAdamWStep times one AdamW step over 16M parameters (a tenth of
// DeBERTa-v3-small with its embeddings) with one goroutine and with
// kern.Workers, the serial loop AdamW.Step had before and its split.
func BenchmarkAdamWStep(b *testing.B) {
	const n = 1 << 24
	s := autograd.NewStore()
	p, err := s.Add("w", []int{n}, autograd.Normal{Std: 0.02})
	if err != nil {
		b.Fatal(err)
	}
	s.Initialize(1)
	for i := range p.Grad {
		p.Grad[i] = float32(i%13-6) * 1e-3
	}
	opt, err := NewAdamW([]*Group{{Name: "all", BaseLR: 1e-5, LR: 1e-5, WeightDecay: 0.01, Params: []*autograd.Param{p}}},
		AdamWOptions{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
	if err != nil {
		b.Fatal(err)
	}
	opt.Step(nil)
	workers := kern.Workers
	defer func() { kern.Workers = workers }()
	for _, w := range []int{1, workers} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			kern.Workers = w
			b.SetBytes(n * 4 * 4)
			for range b.N {
				opt.Step(nil)
			}
		})
	}
}
