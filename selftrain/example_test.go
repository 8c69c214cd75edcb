package selftrain

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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

// Run drives the rounds; here with a stand-in teacher, student and
// evaluator (RunRecipe wires the inference pipeline and the training
// loop instead).
func ExampleRun() {
	dir, _ := os.MkdirTemp("", "selftrain-example")
	defer os.RemoveAll(dir)
	corpus := filepath.Join(dir, "corpus.txt")
	os.WriteFile(corpus, []byte("Ann met Bob in Rome .\nCarl saw Dan in Oslo .\nEve went to Paris .\n"), 0o644)
	teacher := filepath.Join(dir, "teacher")
	writeFakeModel(teacher, 7)
	cfg := Config{OutputDir: filepath.Join(dir, "out"), Teacher: teacher, Corpus: Corpus{Paths: []string{corpus}},
		Rules:  Rules{Labels: []string{"person", "place"}, Threshold: 0.6, Low: 0.3, MaskUncertain: true},
		Rounds: 2, Seed: 1, LabelSmoothing: 0.1,
		Dev: []data.Example{{Words: strings.Fields("Ann went to Rome ."), Entities: []data.Entity{{Start: 0, End: 0, Label: "person"}}}}}
	res, err := Run(context.Background(), cfg, Env{LoadTeacher: loadFakeTeacher, Student: &fakeStudent{Steps: 3}, Evaluator: fakeEvaluator{}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range res.Rounds[1:] {
		fmt.Printf("round %d: %d weak examples, %d steps\n", r.Round, r.Labelling.Examples, r.Steps)
	}
	fmt.Println("stopped:", res.Reason)
	// Output:
	// round 1: 3 weak examples, 3 steps
	// round 2: 3 weak examples, 3 steps
	// stopped: rounds
}
