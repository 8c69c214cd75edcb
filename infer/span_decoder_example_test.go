package infer_test

import (
	"fmt"
	"log"
	"path/filepath"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/infer"
)

// Name entities with a UniEncoderSpanDecoder model: each entity keeps its
// class and gains the label its decoder generated (LabelModeEnrich);
// LabelModeReplace would make that label the entity's. ConstrainLabels
// limits the generated labels to the given ones (the random-weight
// fixture's unconstrained labels are byte noise).
func ExamplePipeline_PredictExamples_generatedLabels() {
	// The tiny random-weight span-decoder model of the golden fixtures
	// (decoder tokenizer in its decoder_tokenizer/ folder).
	p, err := infer.Load(filepath.Join(fixtures(), "uni_span_decoder_deberta"))
	if err != nil {
		log.Fatal(err)
	}
	o := infer.DefaultOptions()
	o.LabelMode = infer.LabelModeEnrich
	o.ConstrainLabels = true
	ex := data.ExampleFromText("berlin is the capital of germany .")
	res, err := p.PredictExamples([]data.Example{ex}, []string{"person", "organization", "location", "date"}, o)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range res.Entities[0] {
		fmt.Printf("%q %s %.3f generated %q\n", e.Text, e.Label, e.Score, e.GeneratedLabels)
	}
	// Output:
	// "berlin" organization 0.623 generated [" person"]
	// "the" organization 0.503 generated [" location"]
}
