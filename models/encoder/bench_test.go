package encoder

import (
	"fmt"
	"testing"

	"github.com/gliner-go/gliner/autograd"
)

// benchEncoder times one forward+backward of a randomly initialised
// DeBERTa-v3-style encoder on a batch of B×T tokens.
func benchEncoder(b *testing.B, hidden, layers, heads, B, T int) {
	cfgJSON := fmt.Sprintf(`{"model_type":"deberta-v2","hidden_size":%d,"num_hidden_layers":%d,"num_attention_heads":%d,
		"intermediate_size":%d,"vocab_size":8000,"max_position_embeddings":512,"relative_attention":true,
		"position_buckets":256,"pos_att_type":"p2c|c2p","norm_rel_ebd":"layer_norm","share_att_key":true,
		"position_biased_input":false,"type_vocab_size":0,"hidden_dropout_prob":0,"attention_probs_dropout_prob":0}`,
		hidden, layers, heads, 4*hidden)
	cfg, err := ParseConfig([]byte(cfgJSON))
	if err != nil {
		b.Fatal(err)
	}
	s := autograd.NewStore()
	enc, err := New(s, "enc", cfg)
	if err != nil {
		b.Fatal(err)
	}
	s.Initialize(1)
	g := autograd.NewGraph(s, true)
	ids := g.IntInput("ids", B, T)
	mask := g.IntInput("mask", B, T)
	out := enc.Forward(g, ids, mask)
	w := make([]float32, B*T*hidden)
	for i := range w {
		w[i] = float32(i%7) * 0.01
	}
	m, err := autograd.Compile(g, autograd.DotConst(out, w))
	if err != nil {
		b.Fatal(err)
	}
	idv := make([]int64, B*T)
	mv := make([]int64, B*T)
	for i := range idv {
		idv[i] = int64(i*31) % 8000
		mv[i] = 1
	}
	if err := m.SetInts("ids", idv, B, T); err != nil {
		b.Fatal(err)
	}
	if err := m.SetInts("mask", mv, B, T); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := m.Run(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(B*T)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

func BenchmarkEncoderFwdBwdH256L4(b *testing.B) { benchEncoder(b, 256, 4, 4, 8, 128) }
func BenchmarkEncoderFwdBwdH768L2(b *testing.B) { benchEncoder(b, 768, 2, 12, 8, 128) }
