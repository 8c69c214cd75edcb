package models_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/models"
)

// Load a span-decoder model folder (here the golden fixture, a tiny random
// model), collate a text with its label list, find the spans and let the
// GPT-2 labels decoder name them. The fixture's weights are random, so the
// generated labels are noise; a trained model writes entity types.
func ExampleModel_GenerateLabels() {
	shared := os.Getenv("GLINER_SHARED")
	if shared == "" {
		shared = filepath.Join("..", "..", "shared")
	}
	dir := filepath.Join(shared, "fixtures", "uni_span_decoder_deberta")
	m, err := models.Load(dir)
	if err != nil {
		log.Fatal(err)
	}
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer"))
	if err != nil {
		log.Fatal(err)
	}
	dtok, err := m.LoadDecoderTokenizer(dir) // dir/decoder_tokenizer, checked against the decoder
	if err != nil {
		log.Fatal(err)
	}
	cc := data.DefaultCollatorConfig(data.UniEncoderSpanDecoder)
	cc.MaxWidth, cc.MaxLen = m.Cfg.MaxWidth, m.Cfg.MaxLen
	col, err := data.NewCollator(cc, tok, dtok, 1)
	if err != nil {
		log.Fatal(err)
	}
	b, err := col.Collate([]data.Example{{Words: []string{"alice", "brown", "joined", "microsoft", "."}}},
		data.CollateOptions{Labels: [][]string{{"person", "organization"}}})
	if err != nil {
		log.Fatal(err)
	}
	out, err := m.Forward(b)
	if err != nil {
		log.Fatal(err)
	}
	gen, err := m.GenerateLabels(b, out, models.GenerateOptions{Threshold: 0.5, MaxNewTokens: 8, Tokenizer: dtok})
	if err != nil {
		log.Fatal(err)
	}
	ents, err := m.DecodeWithLabels(out, b, gen, decode.Options{Threshold: 0.5, FlatNER: true}, m.DefaultLabelMode())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Arch, m.DecoderMode(), m.DefaultLabelMode())
	fmt.Println("spans named:", len(gen.Text), "entities:", len(ents[0]))
	for _, e := range ents[0] {
		fmt.Println(e.Start, e.End, e.Label, len(e.Generated))
	}
	// Output:
	// gliner_uni_encoder_span_decoder span enrich
	// spans named: 3 entities: 2
	// 0 0 person 1
	// 1 1 person 1
}
