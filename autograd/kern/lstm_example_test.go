package kern_test

import (
	"fmt"

	"github.com/gliner-go/gliner/autograd/kern"
)

// A bidirectional LSTM over a padded batch of two sequences (lengths 3 and
// 1) of 2-dimensional inputs, hidden size 1 per direction. The padded
// steps of the second sequence come out as zeros, and the backward
// direction of the second sequence starts at its own last step.
func ExampleBiLSTMForward() {
	d := kern.LSTMDims{Batch: 2, Seq: 3, In: 2, Hidden: 1}
	state, err := kern.NewBiLSTMState(d) // saved buffers + workspace, reusable
	if err != nil {
		panic(err)
	}
	// Gate rows i, f, g, o; Wih (4H, In), Whh (4H, H).
	w := kern.LSTMWeights{
		Wih: []float32{0.5, -0.5, 0.3, 0.2, 1, 1, -0.4, 0.6},
		Whh: []float32{0.1, 0.2, -0.3, 0.4},
		Bih: []float32{0, 0.1, 0, 0},
		Bhh: []float32{0, 0, 0, 0.1},
	}
	x := []float32{1, 0, 0, 1, 1, 1, 2, -1, 0, 0, 0, 0} // (2, 3, 2); row 1 padded after step 0
	out := make([]float32, d.Batch*d.Seq*2*d.Hidden)    // (2, 3, 2H)
	if err := kern.BiLSTMForward(state, out, x, []int{3, 1}, w, w); err != nil {
		panic(err)
	}
	for b := 0; b < 2; b++ {
		fmt.Printf("sequence %d: %.4f\n", b, out[b*6:(b+1)*6])
	}

	// Backward for the loss Σ out: overwrites dx and both directions' grads.
	dout := make([]float32, len(out))
	for i := range dout {
		dout[i] = 1
	}
	dx := make([]float32, len(x))
	g := kern.LSTMWeights{Wih: make([]float32, 8), Whh: make([]float32, 4), Bih: make([]float32, 4), Bhh: make([]float32, 4)}
	if err := kern.BiLSTMBackward(state, dx, dout, x, w, w, g, kern.LSTMWeights{}); err != nil {
		panic(err)
	}
	fmt.Printf("dx at padded steps: %v\n", dx[8:])
	// Output:
	// sequence 0: [0.1879 0.3046 0.3468 0.3518 0.4218 0.2573]
	// sequence 1: [0.1184 0.1184 0.0000 0.0000 0.0000 0.0000]
	// dx at padded steps: [0 0 0 0]
}
