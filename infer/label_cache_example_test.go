package infer_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gliner-go/gliner/infer"
	"github.com/gliner-go/gliner/models"
)

// Encode a bi-encoder's entity types once, save them, and predict with the
// cached embeddings (the labels encoder is not run per batch).
func ExamplePipeline_EmbedLabels() {
	dir := filepath.Join(fixtures(), "bi_span_deberta") // a tiny bi-encoder
	p, err := infer.LoadWith(dir, infer.LoadOptions{LabelsTokenizerDir: dir})
	if err != nil {
		fmt.Println(err)
		return
	}
	le, err := p.EmbedLabels([]string{"person", "location", "organization"}, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	tmp, _ := os.MkdirTemp("", "labels")
	defer os.RemoveAll(tmp)
	path := filepath.Join(tmp, "labels.safetensors")
	if err := le.Save(path, p.Model.Arch.String()); err != nil {
		fmt.Println(err)
		return
	}
	back, err := models.LoadLabelEmbeddings(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := p.UseLabelEmbeddings(back); err != nil {
		fmt.Println(err)
		return
	}
	// nil labels: every cached label.
	ents, err := p.Predict([]string{"Alice lives in Paris."}, nil, infer.DefaultOptions())
	fmt.Println(back.Labels, back.Embeddings.Shape, len(ents), err)
	// Output:
	// [person location organization] [3 32] 1 <nil>
}
