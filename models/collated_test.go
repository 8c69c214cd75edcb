package models

import (
	"testing"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/losses"

	"github.com/gliner-go/gliner/internal/testutil"
)

// End to end from words: the fixtures' examples collated by data.Collator
// (not read from batch.json) give the reference's logits and default loss.
func TestCollatorBatchesGiveTheReferenceNumbers(t *testing.T) {
	for _, f := range goldenFixtures {
		t.Run(f, func(t *testing.T) {
			m, dir, exp := loadFixtureModel(t, f)
			arch, err := data.ParseArchitecture(m.Arch.String())
			if err != nil {
				t.Fatal(err)
			}
			var aux tokenizer.Tokenizer
			if arch.BiEncoder() {
				aux = fixtureTokenizer(t, dir) // the fixtures' labels encoder shares the vocabulary
			}
			c := fixtureCollator(t, m, dir, arch, aux)
			exs, types, _ := fixtureExamples(t, dir)
			inf, err := c.Inference(exs, types, nil)
			if err != nil {
				t.Fatal(err)
			}
			out, err := m.Forward(inf)
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, "logits", out.Logits.F, exp.Logits)
			tr, err := c.Collate(exs, data.CollateOptions{Labels: [][]string{types}, Targets: true})
			if err != nil {
				t.Fatal(err)
			}
			m.Loss = losses.DefaultOptions()
			st, err := m.Step(tr)
			if err != nil {
				t.Fatal(err)
			}
			want := exp.Losses["bce_sum"].Loss
			testutil.AssertCloseScalar(t, "loss", float64(st.Loss), want, testutil.Loss)
		})
	}
}
