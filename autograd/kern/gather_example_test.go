package kern_test

import (
	"fmt"

	"github.com/gliner-go/gliner/autograd/kern"
)

// Word pooling: each word takes the embedding of its first sub-token;
// index −1 (no such word in this text) gives a zero row.
func ExampleGatherRows() {
	B, T, W, D := 1, 4, 3, 2
	tokens := []float32{0, 0, 1, 1, 2, 2, 3, 3} // (B, T, D)
	first := []int32{1, 3, -1}                  // (B, W)
	words := make([]float32, B*W*D)
	if err := kern.GatherRows(words, tokens, first, B, T, W, D); err != nil {
		panic(err)
	}
	fmt.Println(words)
	// Output: [1 1 3 3 0 0]
}
