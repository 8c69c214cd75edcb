package losses_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/gliner-go/gliner/losses"
)

// A span-model loss over one text of 2 spans and 2 entity types, then its
// gradient with respect to the logits.
func ExampleSpanLoss() {
	logits := []float32{2.0, -1.0, -0.5, 0.3} // (B=1, S=2, C=2)
	labels := []float32{1, 0, 0, 0}
	spanMask := []float32{1, 1}
	promptsMask := []float32{1, 1}

	opts := losses.DefaultOptions()
	opts.Alpha, opts.Gamma = 0.75, 2
	rng := rand.New(rand.NewPCG(1, 2)) // used only by negative masking
	res, err := losses.SpanLoss(logits, labels, 1, 2, 2, spanMask, promptsMask, opts, rng)
	if err != nil {
		panic(err)
	}
	grad, err := res.Backward([]float32{1})
	if err != nil {
		panic(err)
	}
	fmt.Printf("loss %.4f\n", res.Loss)
	fmt.Printf("grad %.4f\n", grad)
	// Output:
	// loss 0.0944
	// grad [-0.0037 0.0131 0.0345 0.1074]
}

// Options come from recipe strings through the parsers.
func ExampleParseReduction() {
	r, err := losses.ParseReduction("mean")
	fmt.Println(r, err)
	_, err = losses.ParseReduction("avg")
	fmt.Println(err)
	// Output:
	// mean <nil>
	// unknown loss reduction "avg" (valid: sum, mean, none)
}
