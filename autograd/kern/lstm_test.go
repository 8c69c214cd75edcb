package kern

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func randLSTMWeights(r *rand.Rand, In, H int) LSTMWeights {
	return LSTMWeights{
		Wih: randF32(r, 4*H*In, 0.6), Whh: randF32(r, 4*H*H, 0.6),
		Bih: randF32(r, 4*H, 0.3), Bhh: randF32(r, 4*H, 0.3),
	}
}

func newLSTMGrads(In, H int) LSTMWeights {
	return LSTMWeights{
		Wih: make([]float32, 4*H*In), Whh: make([]float32, 4*H*H),
		Bih: make([]float32, 4*H), Bhh: make([]float32, 4*H),
	}
}

// refBiLSTM is a float64 transcription of PyTorch's LSTM cell run over each
// sequence separately (what pack_padded_sequence achieves).
func refBiLSTM(x []float32, lengths []int, B, W, In, H int, ws [2]LSTMWeights) []float64 {
	out := make([]float64, B*W*2*H)
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	for b := 0; b < B; b++ {
		for dir := 0; dir < 2; dir++ {
			w := ws[dir]
			h, c := make([]float64, H), make([]float64, H)
			for step := 0; step < lengths[b]; step++ {
				t := step
				if dir == 1 {
					t = lengths[b] - 1 - step
				}
				a := make([]float64, 4*H)
				for q := 0; q < 4*H; q++ {
					s := float64(w.Bih[q]) + float64(w.Bhh[q])
					for k := 0; k < In; k++ {
						s += float64(w.Wih[q*In+k]) * float64(x[(b*W+t)*In+k])
					}
					for k := 0; k < H; k++ {
						s += float64(w.Whh[q*H+k]) * h[k]
					}
					a[q] = s
				}
				for j := 0; j < H; j++ {
					i, f, g, o := sig(a[j]), sig(a[H+j]), math.Tanh(a[2*H+j]), sig(a[3*H+j])
					c[j] = f*c[j] + i*g
					h[j] = o * math.Tanh(c[j])
					out[(b*W+t)*2*H+dir*H+j] = h[j]
				}
			}
		}
	}
	return out
}

func TestBiLSTMHandComputed(t *testing.T) {
	// One step, H=1, In=1, all weights zero except the input weights:
	// a = x·Wih, so i = σ(x), f irrelevant (c0 = 0), g = tanh(x), o = σ(x);
	// both directions see the single step identically.
	x := []float32{0.5}
	w := LSTMWeights{Wih: []float32{1, 1, 1, 1}, Whh: make([]float32, 4), Bih: make([]float32, 4), Bhh: make([]float32, 4)}
	s, err := NewBiLSTMState(LSTMDims{Batch: 1, Seq: 1, In: 1, Hidden: 1})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 2)
	if err := BiLSTMForward(s, out, x, []int{1}, w, w); err != nil {
		t.Fatal(err)
	}
	sg := 1 / (1 + math.Exp(-0.5))
	h := sg * math.Tanh(sg*math.Tanh(0.5))
	expectClose(t, "out", out, []float64{h, h}, 1e-6, 0)
}

func TestBiLSTMMatchesReferenceAndPadding(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	B, W, In, H := 4, 6, 5, 3
	lengths := []int{3, 6, 0, 5}
	x := randF32(r, B*W*In, 1)
	ws := [2]LSTMWeights{randLSTMWeights(r, In, H), randLSTMWeights(r, In, H)}
	s, err := NewBiLSTMState(LSTMDims{B, W, In, H})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, B*W*2*H)
	for i := range out {
		out[i] = 99 // padded steps must be overwritten with zeros
	}
	if err := BiLSTMForward(s, out, x, lengths, ws[0], ws[1]); err != nil {
		t.Fatal(err)
	}
	expectClose(t, "out", out, refBiLSTM(x, lengths, B, W, In, H, ws), 1e-5, 1e-6)

	// Each sequence alone (B=1, W=len, no padding) gives the same outputs,
	// and the padding's content does not matter.
	for b, n := range lengths {
		if n == 0 {
			continue
		}
		s1, _ := NewBiLSTMState(LSTMDims{1, n, In, H})
		o1 := make([]float32, n*2*H)
		if err := BiLSTMForward(s1, o1, x[b*W*In:(b*W+n)*In], []int{n}, ws[0], ws[1]); err != nil {
			t.Fatal(err)
		}
		expectClose(t, "alone vs batched", o1, toF64(out[b*W*2*H:(b*W+n)*2*H]), 1e-6, 1e-7) // bit-identical with OpenBLAS and gonum here; a tolerance keeps the test independent of BLAS blocking
	}
	// Gradients with respect to a sequence's inputs do not depend on the
	// rest of the batch either.
	dout := randF32(r, B*W*2*H, 1)
	dx := make([]float32, B*W*In)
	if err := BiLSTMBackward(s, dx, dout, x, ws[0], ws[1], LSTMWeights{}, LSTMWeights{}); err != nil {
		t.Fatal(err)
	}
	for b, n := range lengths {
		if n == 0 {
			expectClose(t, "dx of an empty sequence", dx[b*W*In:(b+1)*W*In], make([]float64, W*In), 0, 0)
			continue
		}
		s1, _ := NewBiLSTMState(LSTMDims{1, n, In, H})
		o1, dx1 := make([]float32, n*2*H), make([]float32, n*In)
		if err := BiLSTMForward(s1, o1, x[b*W*In:(b*W+n)*In], []int{n}, ws[0], ws[1]); err != nil {
			t.Fatal(err)
		}
		if err := BiLSTMBackward(s1, dx1, dout[b*W*2*H:(b*W+n)*2*H], x[b*W*In:(b*W+n)*In], ws[0], ws[1], LSTMWeights{}, LSTMWeights{}); err != nil {
			t.Fatal(err)
		}
		expectClose(t, "dx alone vs batched", dx1, toF64(dx[b*W*In:(b*W+n)*In]), 1e-6, 1e-7)
		expectClose(t, "dx at padded steps", dx[(b*W+n)*In:(b+1)*W*In], make([]float64, (W-n)*In), 0, 0)
	}

	x2 := append([]float32(nil), x...)
	for i := 3 * In; i < W*In; i++ { // row 0's padding
		x2[i] = 1000
	}
	out2 := make([]float32, len(out))
	if err := BiLSTMForward(s, out2, x2, lengths, ws[0], ws[1]); err != nil {
		t.Fatal(err)
	}
	expectClose(t, "padding content", out2, toF64(out), 0, 0)
}

func TestBiLSTMGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	B, W, In, H := 3, 4, 3, 2
	lengths := []int{2, 4, 3}
	x := randF32(r, B*W*In, 1)
	for b, n := range lengths { // padding is zero, as words_emb's is
		clear(x[(b*W+n)*In : (b+1)*W*In])
	}
	ws := [2]LSTMWeights{randLSTMWeights(r, In, H), randLSTMWeights(r, In, H)}
	w := randW(r, B*W*2*H)
	s, _ := NewBiLSTMState(LSTMDims{B, W, In, H})
	out := make([]float32, B*W*2*H)
	f := func() float64 {
		if err := BiLSTMForward(s, out, x, lengths, ws[0], ws[1]); err != nil {
			t.Fatal(err)
		}
		return lossDot(w, out)
	}
	f()
	dx := make([]float32, len(x))
	gs := [2]LSTMWeights{newLSTMGrads(In, H), newLSTMGrads(In, H)}
	for i := range gs[0].Wih {
		gs[0].Wih[i] = 99 // overwritten
	}
	dout := toF32(w)
	if err := BiLSTMBackward(s, dx, dout, x, ws[0], ws[1], gs[0], gs[1]); err != nil {
		t.Fatal(err)
	}
	CheckGrad(t, "dx", f, x, dx, 1e-2, 2e-3)
	for dir, name := range []string{"fwd", "bwd"} {
		CheckGrad(t, name+".dWih", f, ws[dir].Wih, gs[dir].Wih, 1e-2, 2e-3)
		CheckGrad(t, name+".dWhh", f, ws[dir].Whh, gs[dir].Whh, 1e-2, 2e-3)
		CheckGrad(t, name+".dBih", f, ws[dir].Bih, gs[dir].Bih, 1e-2, 2e-3)
		CheckGrad(t, name+".dBhh", f, ws[dir].Bhh, gs[dir].Bhh, 1e-2, 2e-3)
	}

	// Deterministic across Workers, and nil gradients are skipped.
	defer func(n int) { Workers = n }(Workers)
	Workers = 1
	f()
	dx1 := make([]float32, len(x))
	g1 := newLSTMGrads(In, H)
	if err := BiLSTMBackward(s, dx1, dout, x, ws[0], ws[1], g1, LSTMWeights{}); err != nil {
		t.Fatal(err)
	}
	expectClose(t, "dx workers=1", dx1, toF64(dx), 0, 0)
	expectClose(t, "dWhh workers=1", g1.Whh, toF64(gs[0].Whh), 0, 0)
}

func TestBiLSTMBadInput(t *testing.T) {
	s, _ := NewBiLSTMState(LSTMDims{2, 3, 1, 1})
	r := rand.New(rand.NewPCG(1, 1))
	w := randLSTMWeights(r, 1, 1)
	err := BiLSTMForward(s, make([]float32, 12), make([]float32, 6), []int{3, 4}, w, w)
	if err == nil || !strings.Contains(err.Error(), "lengths[1] = 4") {
		t.Fatalf("err = %v, want it to name lengths[1] = 4", err)
	}
	s2, _ := NewBiLSTMState(LSTMDims{2, 3, 1, 1})
	if err := BiLSTMBackward(s2, nil, make([]float32, 12), make([]float32, 6), w, w, LSTMWeights{}, LSTMWeights{}); err == nil {
		t.Fatal("backward without forward accepted")
	}
	if _, err := NewBiLSTMState(LSTMDims{2, 3, 0, 1}); err == nil {
		t.Fatal("In = 0 accepted")
	}
}

func BenchmarkBiLSTMForwardBackward(b *testing.B) {
	// Realistic GLiNER size: B=8 texts × W=100 words, H=256 → 128 per direction.
	B, W, In, H := 8, 100, 256, 128
	r := rand.New(rand.NewPCG(1, 1))
	lengths := []int{100, 97, 90, 85, 80, 64, 50, 33}
	x, dout := randF32(r, B*W*In, 1), randF32(r, B*W*2*H, 1)
	ws := [2]LSTMWeights{randLSTMWeights(r, In, H), randLSTMWeights(r, In, H)}
	gs := [2]LSTMWeights{newLSTMGrads(In, H), newLSTMGrads(In, H)}
	s, _ := NewBiLSTMState(LSTMDims{B, W, In, H})
	out, dx := make([]float32, B*W*2*H), make([]float32, B*W*In)
	for b.Loop() {
		if err := BiLSTMForward(s, out, x, lengths, ws[0], ws[1]); err != nil {
			b.Fatal(err)
		}
		if err := BiLSTMBackward(s, dx, dout, x, ws[0], ws[1], gs[0], gs[1]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBiLSTMForward(b *testing.B) {
	B, W, In, H := 8, 100, 256, 128
	r := rand.New(rand.NewPCG(1, 1))
	lengths := []int{100, 97, 90, 85, 80, 64, 50, 33}
	x := randF32(r, B*W*In, 1)
	ws := [2]LSTMWeights{randLSTMWeights(r, In, H), randLSTMWeights(r, In, H)}
	s, _ := NewBiLSTMState(LSTMDims{B, W, In, H})
	out := make([]float32, B*W*2*H)
	for b.Loop() {
		if err := BiLSTMForward(s, out, x, lengths, ws[0], ws[1]); err != nil {
			b.Fatal(err)
		}
	}
}
