package kern

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func benchAttention(b *testing.B, kind int, B, T, H, dh int) {
	r := rand.New(rand.NewPCG(3, 4))
	d := AttnDims{Batch: B, Seq: T, Heads: H, HeadDim: dh}
	n := B * T * H * dh
	rnd := func(k int) []float32 {
		v := make([]float32, k)
		for i := range v {
			v[i] = r.Float32()*2 - 1
		}
		return v
	}
	mask := make([]float32, B*T)
	for bb := 0; bb < B; bb++ {
		for t := 0; t < T-bb*8; t++ {
			mask[bb*T+t] = 1
		}
	}
	in := AttnInputs{Q: rnd(n), K: rnd(n), V: rnd(n), Mask: mask}
	dctx := rnd(n)
	g := AttnGrads{DQ: make([]float32, n), DK: make([]float32, n), DV: make([]float32, n)}
	probs := make([]float32, d.pSize())
	ctx := make([]float32, n)
	// DeBERTa-v3 settings: 256 buckets, 512 max relative positions.
	c := Disentangled{AttSpan: 256, C2P: true, P2C: true}
	var pk, pq, dpk, dpq, ws []float32
	switch kind {
	case refDeberta:
		var err error
		if c.RelIndex, err = BuildRelativeIndex(T, 256, 512); err != nil {
			b.Fatal(err)
		}
		pk, pq = rnd(2*c.AttSpan*H*dh), rnd(2*c.AttSpan*H*dh)
		dpk, dpq = make([]float32, len(pk)), make([]float32, len(pq))
		ws = make([]float32, DisentangledWorkspaceSize(d, c))
	default:
		ws = make([]float32, AttentionWorkspaceSize(d))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var err error
		switch kind {
		case refBert:
			if err = BertAttentionForward(d, in, probs, ctx, ws); err == nil {
				err = BertAttentionBackward(d, in, probs, dctx, g, ws)
			}
		case refCausal:
			if err = CausalAttentionForward(d, in, probs, ctx, ws); err == nil {
				err = CausalAttentionBackward(d, in, probs, dctx, g, ws)
			}
		default:
			if err = DisentangledAttentionForward(d, c, in, pk, pq, probs, ctx, ws); err == nil {
				err = DisentangledAttentionBackward(d, c, in, pk, pq, probs, dctx, g, dpk, dpq, ws)
			}
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAttentionFwdBwd runs forward+backward of each kernel at B=8,
// T=128 with 4×64 and 12×64 heads.
func BenchmarkAttentionFwdBwd(b *testing.B) {
	for _, kind := range []struct {
		name string
		k    int
	}{{"bert", refBert}, {"gpt2", refCausal}, {"deberta", refDeberta}} {
		for _, H := range []int{4, 12} {
			b.Run(fmt.Sprintf("%s/B8_T128_H%dx64", kind.name, H), func(b *testing.B) {
				benchAttention(b, kind.k, 8, 128, H, 64)
			})
		}
	}
}
