package kern

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestEmbedding(t *testing.T) {
	V, D := 4, 2
	weight := []float32{0, 1, 10, 11, 20, 21, 30, 31}
	ids := []int32{2, 0, 2, 3}
	dst := make([]float32, len(ids)*D)
	if err := Embedding(dst, weight, ids, V, D); err != nil {
		t.Fatal(err)
	}
	expectClose(t, "dst", dst, []float64{20, 21, 0, 1, 20, 21, 30, 31}, 0, 0)
	dW := make([]float32, V*D)
	for i := range dW {
		dW[i] = 99 // overwritten, not accumulated into
	}
	dy := []float32{1, 2, 3, 4, 5, 6, 7, 8}
	if err := EmbeddingBackward(dW, dy, ids, V, D); err != nil {
		t.Fatal(err)
	}
	// id 2 appears twice: its rows accumulate (1+5, 2+6); id 1 unused → 0.
	expectClose(t, "dW", dW, []float64{3, 4, 0, 0, 6, 8, 7, 8}, 0, 0)
	if err := Embedding(dst, weight, []int32{0, 1, 4, 0}, V, D); err == nil || !strings.Contains(err.Error(), "id[2] = 4") {
		t.Fatalf("err = %v, want it to name id[2] = 4", err)
	}
	if err := EmbeddingBackward(dW, dy, []int32{0, -1, 0, 0}, V, D); err == nil {
		t.Fatal("id −1 accepted")
	}
}

func TestEmbeddingGradientAndDeterminism(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	V, D, n := 6, 40, 9
	weight, w := randF32(r, V*D, 1), randW(r, n*D)
	ids := []int32{5, 1, 1, 0, 5, 5, 2, 1, 0}
	dst := make([]float32, n*D)
	f := func() float64 {
		if err := Embedding(dst, weight, ids, V, D); err != nil {
			t.Fatal(err)
		}
		return lossDot(w, dst)
	}
	dW := make([]float32, V*D)
	if err := EmbeddingBackward(dW, toF32(w), ids, V, D); err != nil {
		t.Fatal(err)
	}
	CheckGrad(t, "embedding", f, weight, dW, 1e-2, 1e-4)
	defer func(w int) { Workers = w }(Workers)
	Workers = 1
	dW1 := make([]float32, V*D)
	dy := randF32(r, n*D, 1)
	if err := EmbeddingBackward(dW1, dy, ids, V, D); err != nil {
		t.Fatal(err)
	}
	Workers = 4
	if err := EmbeddingBackward(dW, dy, ids, V, D); err != nil {
		t.Fatal(err)
	}
	expectClose(t, "dW workers 4 vs 1", dW, toF64(dW1), 0, 0)
}
