package models_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/models"
)

// Re-export a model folder (here a golden fixture, whose tokenizer lives in
// tokenizer/) in the reference's save_pretrained layout.
func ExampleExport() {
	shared := os.Getenv("GLINER_SHARED")
	if shared == "" {
		shared = filepath.Join("..", "..", "shared")
	}
	src := filepath.Join(shared, "fixtures", "uni_span_bert")
	m, err := models.Load(src)
	if err != nil {
		log.Fatal(err)
	}
	tok, err := tokenizer.Load(filepath.Join(src, "tokenizer"))
	if err != nil {
		log.Fatal(err)
	}
	tmp, err := os.MkdirTemp("", "export-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "my-model")
	if err := models.Export(m, tok, out); err != nil {
		log.Fatal(err)
	}
	for _, f := range []string{"gliner_config.json", "model.safetensors", "tokenizer_config.json", "vocab.txt"} {
		_, err := os.Stat(filepath.Join(out, f))
		fmt.Println(f, err == nil)
	}
	// Output:
	// gliner_config.json true
	// model.safetensors true
	// tokenizer_config.json true
	// vocab.txt true
}
