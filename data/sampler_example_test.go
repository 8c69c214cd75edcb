package data_test

import (
	"fmt"

	"github.com/gliner-go/gliner/data"
)

// A fixed batch order: the examples in order, or batches given explicitly
// (as a reference run drew them); an iterator continues across epochs.
func ExampleSequentialSampler() {
	s, _ := data.NewSequentialSampler(5, 2, false)
	fmt.Println(s.EpochBatches(0))
	o, _ := data.NewOrderSampler([][]int{{4, 1}, {0, 2, 3}}, 5)
	it, _ := data.Iterate(o, data.SamplerPosition{Step: 1})
	fmt.Println(it.Next(), it.Next(), it.Position())
	// Output:
	// [[0 1] [2 3] [4]]
	// [0 2 3] [4 1] {1 1}
}
