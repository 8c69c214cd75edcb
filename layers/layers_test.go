package layers

import (
	"math/rand/v2"
	"testing"

	"github.com/gliner-go/gliner/autograd"
)

func TestProjectionKeysAndGradients(t *testing.T) {
	s := autograd.NewStore()
	p, err := NewProjection(s, "prompt_rep_layer", 3, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]int{
		"prompt_rep_layer.0.weight": {8, 3}, "prompt_rep_layer.0.bias": {8},
		"prompt_rep_layer.3.weight": {2, 8}, "prompt_rep_layer.3.bias": {2},
	}
	got := s.Shapes()
	if len(got) != len(want) {
		t.Fatalf("params %v, want %v", got, want)
	}
	for n, sh := range want {
		if g, ok := got[n]; !ok || len(g) != len(sh) || g[0] != sh[0] {
			t.Fatalf("param %s: %v, want %v", n, g, sh)
		}
	}
	if _, err := s.Add("x", []int{2, 4, 3}, autograd.Normal{Std: 1}); err != nil {
		t.Fatal(err)
	}
	s.Initialize(3)
	// PyTorch's default Linear init: every weight within ±1/sqrt(fan_in).
	w, _ := s.Get("prompt_rep_layer.3.weight")
	for _, v := range w.Data {
		if v < -0.3536 || v > 0.3536 {
			t.Fatalf("weight %v outside ±1/sqrt(8)", v)
		}
	}
	g := autograd.NewGraph(s, true)
	y := p.Forward(g, g.Param("x"))
	r := rand.New(rand.NewPCG(1, 1))
	wts := make([]float32, 2*4*2)
	for i := range wts {
		wts[i] = float32(r.NormFloat64())
	}
	m, err := autograd.Compile(g, autograd.DotConst(y, wts))
	if err != nil {
		t.Fatal(err)
	}
	if err := autograd.GradCheck(m, m.TrainedParams(), 1e-2, 3e-2); err != nil {
		t.Fatal(err)
	}
}

func TestTransformerBlockGradients(t *testing.T) {
	s := autograd.NewStore()
	blk, err := NewTransformerBlock(s, "encoder.layer.0", BlockConfig{
		Hidden: 4, Intermediate: 6, Names: BERTAttentionNames, Act: autograd.ActGELU, Eps: 1e-12, InitStd: 0.5,
		Attention: autograd.AttentionConfig{Kind: autograd.AttnBERT, Heads: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Get("encoder.layer.0.attention.self.query.weight"); !ok {
		t.Fatal("BERT key names not used")
	}
	if _, err := s.Add("x", []int{2, 3, 4}, autograd.Normal{Std: 1}); err != nil {
		t.Fatal(err)
	}
	s.Initialize(5)
	g := autograd.NewGraph(s, true)
	mask := g.IntInput("mask", 2, 3)
	y := blk.Forward(g, g.Param("x"), mask, nil)
	wts := make([]float32, 24)
	for i := range wts {
		wts[i] = float32(i%5) - 2
	}
	m, err := autograd.Compile(g, autograd.DotConst(y, wts))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetInts("mask", []int64{1, 1, 1, 1, 1, 0}, 2, 3); err != nil {
		t.Fatal(err)
	}
	if err := autograd.GradCheck(m, m.TrainedParams(), 1e-2, 5e-2); err != nil {
		t.Fatal(err)
	}
}
