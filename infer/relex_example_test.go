package infer_test

import (
	"fmt"
	"log"
	"path/filepath"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/infer"
)

// Extract entities and relations with a UniEncoderSpanRelex model: the
// relation types are required; head and tail index the text's entities.
func ExamplePipeline_PredictExamples_relations() {
	// The tiny random-weight relex model of the golden fixtures.
	p, err := infer.Load(filepath.Join(fixtures(), "uni_span_relex_deberta"))
	if err != nil {
		log.Fatal(err)
	}
	o := infer.DefaultOptions()
	o.Relations = []string{"works at", "located in", "visited"}
	o.FlatNER = false          // nested entities
	o.RelationThreshold = 0.55 // entities and pairs stay at Threshold 0.5
	ex := data.ExampleFromText("berlin is the capital of germany .")
	res, err := p.PredictExamples([]data.Example{ex}, []string{"person", "organization", "location", "date"}, o)
	if err != nil {
		log.Fatal(err)
	}
	ents := res.Entities[0]
	for _, e := range ents {
		fmt.Printf("entity %q %s %.3f\n", e.Text, e.Label, e.Score)
	}
	for _, r := range res.Relations[0] {
		fmt.Printf("relation %q -%s-> %q %.3f\n", ents[r.Head].Text, r.Label, ents[r.Tail].Text, r.Score)
	}
	// Output:
	// entity "berlin is the capital" location 0.536
	// entity "berlin is the" location 0.507
	// relation "berlin is the" -located in-> "berlin is the capital" 0.559
	// relation "berlin is the" -visited-> "berlin is the capital" 0.551
}
