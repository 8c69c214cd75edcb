package selftrain

import (
	"fmt"

	"github.com/gliner-go/gliner/data"
)

// Rules decide, for one document's teacher output, which entities become
// weak labels and which are masked from the loss.
func ExampleRules_Decide() {
	r := Rules{Labels: []string{"person", "place"}, Threshold: 0.6, Thresholds: map[string]float64{"place": 0.8}, Low: 0.3}
	teacher := []Prediction{
		{Start: 0, End: 0, Label: "person", Score: 0.9},
		{Start: 2, End: 3, Label: "person", Score: 0.5},
		{Start: 5, End: 5, Label: "place", Score: 0.7},
		{Start: 8, End: 8, Label: "person", Score: 0.1},
	}
	confident, uncertain := r.Decide(teacher, nil, nil, false)
	fmt.Println("weak labels:", confident)
	fmt.Println("masked:", uncertain)
	// Output:
	// weak labels: [{0 0 person 0.9}]
	// masked: [{2 3 person 0.5} {5 5 place 0.7}]
}

// Mix adds gold examples to the weak ones until they make the ratio.
func ExampleMix() {
	weak := []WeakExample{{Example: data.Example{Source: "weak:0"}}, {Example: data.Example{Source: "weak:1"}},
		{Example: data.Example{Source: "weak:2"}}}
	gold := []data.Example{{Source: "gold:0"}, {Source: "gold:1"}}
	train, n := Mix(weak, gold, 0.25, 42)
	fmt.Println(len(train), "examples,", n, "gold")
	// Output:
	// 4 examples, 1 gold
}
