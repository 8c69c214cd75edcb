package kern_test

import (
	"fmt"

	"github.com/gliner-go/gliner/autograd/kern"
)

// A BERT attention over one sequence of three tokens whose last token is
// padding: with zero queries every valid key gets the same weight, the
// padded key none, and the context is the mean of the valid values.
func ExampleBertAttentionForward() {
	d := kern.AttnDims{Batch: 1, Seq: 3, Heads: 1, HeadDim: 2}
	in := kern.AttnInputs{
		Q:    make([]float32, 6),
		K:    []float32{1, 2, 3, 4, 5, 6},
		V:    []float32{1, 0, 3, 2, 100, 100},
		Mask: []float32{1, 1, 0},
	}
	probs := make([]float32, 9)
	ctx := make([]float32, 6)
	ws := make([]float32, kern.AttentionWorkspaceSize(d))
	if err := kern.BertAttentionForward(d, in, probs, ctx, ws); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("probs row 0:", probs[0:3])
	fmt.Println("ctx row 0:", ctx[0:2])

	// The backward overwrites the gradients it is given (nil = not needed).
	dctx := []float32{1, 0, 0, 0, 0, 0}
	dv := make([]float32, 6)
	if err := kern.BertAttentionBackward(d, in, probs, dctx, kern.AttnGrads{DV: dv}, ws); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("dV:", dv)
	// Output:
	// probs row 0: [0.5 0.5 0]
	// ctx row 0: [2 1]
	// dV: [0.5 0 0.5 0 0 0]
}

// DeBERTa-v3's relative index for a sequence of 4 tokens with the GLiNER
// fixtures' settings (position_buckets 256, max_relative_positions −1 ⇒
// max_position_embeddings 64): δ(i,j) = i − j + 256.
func ExampleBuildRelativeIndex() {
	idx, err := kern.BuildRelativeIndex(4, 256, 64)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := 0; i < 4; i++ {
		fmt.Println(idx[i*4 : i*4+4])
	}
	fmt.Println(kern.RelativePositionBucket(300, 256, 512), kern.RelativePositionBucket(-300, 256, 512))
	// Output:
	// [256 255 254 253]
	// [257 256 255 254]
	// [258 257 256 255]
	// [259 258 257 256]
	// 207 -207
}
