package models

import (
	"testing"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/internal/testutil"
)

// benchDecoderBatch collates the decoder fixture's two examples with its
// four entity types (training targets when train).
func benchDecoderBatch(b *testing.B, train bool) (*Model, *data.Batch) {
	dir := testutil.Fixture(b, decoderFixture)
	m, err := Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	tok := fixtureTokenizer(b, dir)
	dtok, err := m.LoadDecoderTokenizer(dir)
	if err != nil {
		b.Fatal(err)
	}
	cc := data.DefaultCollatorConfig(data.UniEncoderSpanDecoder)
	cc.MaxWidth, cc.MaxLen = m.Cfg.MaxWidth, m.Cfg.MaxLen
	col, err := data.NewCollator(cc, tok, dtok, 1)
	if err != nil {
		b.Fatal(err)
	}
	exs := []data.Example{
		{Words: []string{"alice", "brown", "joined", "microsoft", "in", "london", "yesterday", "."},
			Entities: []data.Entity{{Start: 0, End: 1, Label: "person"}, {Start: 3, End: 3, Label: "organization"}, {Start: 5, End: 5, Label: "location"}, {Start: 6, End: 6, Label: "date"}}},
		{Words: []string{"berlin", "is", "the", "capital", "of", "germany", "."},
			Entities: []data.Entity{{Start: 0, End: 0, Label: "location"}, {Start: 5, End: 5, Label: "location"}}},
	}
	batch, err := col.Collate(exs, data.CollateOptions{Labels: [][]string{{"person", "organization", "location", "date"}}, Targets: train})
	if err != nil {
		b.Fatal(err)
	}
	return m, batch
}

// One UniEncoderSpanDecoder training step (forward and backward, decoder
// included) on the decoder fixture's two texts (6 gold spans).
func BenchmarkSpanDecoderStep(b *testing.B) {
	m, batch := benchDecoderBatch(b, true)
	for b.Loop() {
		m.Store.ZeroGrad()
		if _, err := m.Step(batch); err != nil {
			b.Fatal(err)
		}
	}
}

// Greedy generation of 8 tokens for the spans the fixture model keeps at
// threshold 0.5.
func BenchmarkSpanDecoderGenerate(b *testing.B) {
	m, batch := benchDecoderBatch(b, false)
	out, err := m.Forward(batch)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := m.GenerateLabels(batch, out, GenerateOptions{Threshold: 0.5, MaxNewTokens: 8}); err != nil {
			b.Fatal(err)
		}
	}
}
