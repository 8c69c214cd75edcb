package decode_test

import (
	"fmt"
	"os"

	"github.com/gliner-go/gliner/decode"
)

// Decoding one text of a span model: probabilities (W=3 words, K=2 widths,
// C=2 classes), flat NER at threshold 0.5.
func ExampleSpans() {
	probs := []float32{
		0.9, 0.1, // words 0..0
		0.6, 0.2, // words 0..1
		0.1, 0.3, // words 1..1
		0.2, 0.7, // words 1..2
		0.1, 0.8, // words 2..2
		0.9, 0.9, // words 2..3: past the text's end
	}
	spans, err := decode.Spans(probs, 3, 2, 2, 3, []string{"person", "city"}, decode.DefaultOptions())
	if err != nil {
		panic(err)
	}
	for _, s := range spans {
		fmt.Printf("%d-%d %s %.1f\n", s.Start, s.End, s.Label, s.Score)
	}
	// Output:
	// 0-0 person 0.9
	// 2-2 city 0.8
}

// Accumulating evaluation metrics over documents and printing them.
func ExampleMetrics() {
	m := decode.NewMetrics()
	m.Add([]decode.Span{{Start: 0, End: 1, Label: "person"}, {Start: 4, End: 4, Label: "city"}},
		[]decode.Span{{Start: 0, End: 1, Label: "person"}, {Start: 3, End: 4, Label: "city"}})
	fmt.Printf("F1 %.2f\n", m.Micro().F1)
	_ = m.WriteTable(os.Stdout)
	// Output:
	// F1 0.50
	// label      tp   pred   gold precision    recall        f1
	// city        0      1      1     0.00%     0.00%     0.00%
	// person      1      1      1   100.00%   100.00%   100.00%
	// ---------------------------------------------------------
	// micro       1      2      2    50.00%    50.00%    50.00%
}
