package train_test

import (
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/train"
)

// BenchmarkAdamWStep: one AdamW step over 1M parameters (the benchmark
// model has about 15M; the step is linear in the count).
func BenchmarkAdamWStep(b *testing.B) {
	s := autograd.NewStore()
	p, _ := s.Add("token_rep_layer.w", []int{1000, 1000}, autograd.Normal{Std: 0.02})
	s.Initialize(1)
	for i := range p.Grad {
		p.Grad[i] = float32(i%7) * 1e-3
	}
	gs, _ := train.ParamGroups(s, train.GroupConfig{LR: 1e-5, WeightDecay: 0.01})
	opt, _ := train.NewAdamW(gs, train.AdamWOptions{})
	b.SetBytes(int64(4 * 4 * len(p.Data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		opt.Step(nil)
	}
}

// BenchmarkClipGradNorm: norm and clip over 1M gradients.
func BenchmarkClipGradNorm(b *testing.B) {
	s := autograd.NewStore()
	p, _ := s.Add("w", []int{1000, 1000}, nil)
	for i := range p.Grad {
		p.Grad[i] = 1
	}
	for i := 0; i < b.N; i++ {
		train.ClipGradNorm(s.Params(), 1e9)
	}
}
