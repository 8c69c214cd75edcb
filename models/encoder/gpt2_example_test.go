package encoder

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gliner-go/gliner/autograd"
)

// A left-padded prefix with its mask generates what the unpadded prefix
// generates (positions from the mask cumsum, padded keys masked out); an
// all-ones mask is the same as none; the constraint hook restricts tokens
// and ends a row with EOS when nothing is allowed; finished rows are
// filled with Pad.
func TestGPT2GenerateMaskAndConstraint(t *testing.T) {
	s, m := tinyGPT2(t, true)
	gpt2RandFill(s, 4)
	const D, eos = 8, 10
	rng := rand.New(rand.NewPCG(5, 5))
	prefix := make([]float32, 2*3*D)
	for i := range prefix {
		prefix[i] = float32(rng.NormFloat64())
	}
	opt := GPT2Generation{MaxNewTokens: 5, EOS: eos, Pad: 3}
	plain, err := m.Generate(s, prefix, 2, 3, nil, opt)
	gpt2Must(t, err)
	ones, err := m.Generate(s, prefix, 2, 3, []int64{1, 1, 1, 1, 1, 1}, opt)
	gpt2Must(t, err)
	if fmt.Sprint(plain) != fmt.Sprint(ones) {
		t.Fatalf("no mask %v, all-ones mask %v", plain, ones)
	}
	// Row 0 left-padded by one zero slot, row 1 by two random ones.
	padded := make([]float32, 2*4*D)
	copy(padded[D:4*D], prefix[:3*D])
	for i := 4 * D; i < 6*D; i++ {
		padded[i] = 9
	}
	copy(padded[6*D:], prefix[4*D:6*D])
	short, err := m.Generate(s, prefix[4*D:], 1, 2, nil, opt)
	gpt2Must(t, err)
	got, err := m.Generate(s, padded, 2, 4, []int64{0, 1, 1, 1, 0, 0, 1, 1}, opt)
	gpt2Must(t, err)
	if fmt.Sprint(got[0][:len(plain[0])]) != fmt.Sprint(plain[0]) || fmt.Sprint(got[1][:len(short[0])]) != fmt.Sprint(short[0]) {
		t.Fatalf("masked generation %v, unpadded %v and %v", got, plain[0], short[0])
	}

	calls := 0
	opt.Allowed = func(row int, generated []int64) []int64 {
		calls++
		if row == 0 && len(generated) < 2 {
			return []int64{4, 6}
		}
		return nil // only EOS
	}
	con, err := m.Generate(s, prefix, 2, 3, nil, opt)
	gpt2Must(t, err)
	if len(con[0]) != 3 || (con[0][0] != 4 && con[0][0] != 6) || (con[0][1] != 4 && con[0][1] != 6) || con[0][2] != eos ||
		len(con[1]) != 3 || con[1][0] != eos || con[1][1] != 3 || con[1][2] != 3 {
		t.Fatalf("constrained generation %v", con)
	}
	if calls != 4 {
		t.Fatalf("constraint called %d times, want 4 (finished rows are not asked)", calls)
	}
	if _, err := m.Generate(s, prefix, 2, 3, nil, GPT2Generation{MaxNewTokens: 9, EOS: eos}); err == nil {
		t.Fatal("generation past n_positions accepted")
	}
}

func TestStabilizeLogits(t *testing.T) {
	inf := float32(math.Inf(1))
	v := []float32{-inf, 2e9, -2e9, 0.5}
	StabilizeLogits(v)
	want := []float32{-1e9 + 1e-6, 1e9 + 1e-6, -1e9 + 1e-6, 0.5 + 1e-6}
	for i := range v {
		if v[i] != want[i] {
			t.Fatalf("stabilized %v, want %v", v, want)
		}
	}
}

// Build a GPT-2 labels decoder from its config, run a teacher-forced
// forward over token ids and generate greedily from a prefix of
// embeddings.
func ExampleGPT2() {
	cfg, err := ParseGPT2Config([]byte(`{"model_type":"gpt2","vocab_size":16,"n_positions":16,
		"n_embd":8,"n_layer":1,"n_head":2,"eos_token_id":15}`))
	if err != nil {
		panic(err)
	}
	s := autograd.NewStore()
	m, err := NewGPT2(s, "decoder.decoder_layer.model", cfg)
	if err != nil {
		panic(err)
	}
	s.Initialize(1)

	g := autograd.NewGraph(s, false)
	ids := g.IntInput("ids", 1, 4)
	mask := g.IntInput("mask", 1, 4)
	logits := m.Forward(g, m.Embed(g, ids), mask, nil) // (1,4,16)
	mach, err := autograd.Compile(g, nil, logits)
	if err != nil {
		panic(err)
	}
	_ = mach.SetInts("ids", []int64{1, 2, 3, 4}, 1, 4)
	_ = mach.SetInts("mask", []int64{1, 1, 1, 1}, 1, 4)
	if err := mach.Run(); err != nil {
		panic(err)
	}
	fmt.Println("logits", logits.Shape())

	prefix := make([]float32, 2*3*8) // two spans, prefix length 3
	out, err := m.Generate(s, prefix, 2, 3, nil, GPT2Generation{MaxNewTokens: 4, EOS: cfg.EOS(), Pad: cfg.EOS()})
	if err != nil {
		panic(err)
	}
	fmt.Println("generated rows", len(out), "tokens", len(out[0]))
	fmt.Println("tied head key", m.TiedHeadKey())
	// Output:
	// logits [1 4 16]
	// generated rows 2 tokens 4
	// tied head key decoder.decoder_layer.model.lm_head.weight
}
