package infer_test

import (
	"fmt"
	"log"
	"path/filepath"

	"os"

	"github.com/gliner-go/gliner/infer"
)

// fixtures is the golden fixtures folder ($GLINER_SHARED/fixtures, else
// ../../shared/fixtures from this package).
func fixtures() string {
	if d := os.Getenv("GLINER_SHARED"); d != "" {
		return filepath.Join(d, "fixtures")
	}
	return filepath.Join("..", "..", "shared", "fixtures")
}

// Load a model folder and find entities in raw text: offsets are Unicode
// code points into the text, end exclusive; words are inclusive.
func Example() {
	// The tiny random-weight model of the golden fixtures (its entities
	// are noise; a trained model's are not).
	dir := filepath.Join(fixtures(), "uni_span_bert")
	p, err := infer.Load(dir)
	if err != nil {
		log.Fatal(err)
	}
	o := infer.DefaultOptions()
	o.Threshold = 0.6
	ents, err := p.Predict([]string{"Berlin is the capital of Germany."}, []string{"person", "organization", "location", "date"}, o)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range ents[0] {
		fmt.Printf("%d-%d %q %s %.3f words %d-%d\n", e.Start, e.End, e.Text, e.Label, e.Score, e.StartWord, e.EndWord)
	}
	// Output:
	// 0-6 "Berlin" location 0.612 words 0-0
	// 7-13 "is the" location 0.681 words 1-2
	// 14-21 "capital" date 0.628 words 3-3
	// 22-32 "of Germany" date 0.660 words 4-5
	// 32-33 "." location 0.613 words 6-6
}
