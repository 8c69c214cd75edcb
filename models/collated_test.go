package models

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/losses"
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
			var tc struct {
				ModelMaxLength int `json:"model_max_length"`
			}
			testutil.ReadJSON(t, filepath.Join(dir, "tokenizer", "tokenizer_config.json"), &tc)
			cfg := data.CollatorConfig{
				Architecture: arch, MaxWidth: m.Cfg.MaxWidth, MaxLen: m.Cfg.MaxLen, MaxTypes: m.Cfg.MaxTypes,
				MaxNegTypeRatio: m.Cfg.MaxNegTypeRatio, EntToken: m.Cfg.EntToken, SepToken: m.Cfg.SepToken,
				RelToken: m.Cfg.RelToken, ModelMaxLength: tc.ModelMaxLength,
			}
			tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer"))
			if err != nil {
				t.Fatal(err)
			}
			var aux tokenizer.Tokenizer
			if arch.BiEncoder() {
				aux = tok // the fixtures' labels encoder shares the vocabulary
			}
			c, err := data.NewCollator(cfg, tok, aux, 1)
			if err != nil {
				t.Fatal(err)
			}
			var raw struct {
				Examples []struct {
					TokenizedText []string `json:"tokenized_text"`
					NER           [][3]any `json:"ner"`
				} `json:"examples"`
				EntityTypes []string `json:"entity_types"`
			}
			testutil.ReadJSON(t, filepath.Join(dir, "batch.json"), &raw)
			var exs []data.Example
			for _, e := range raw.Examples {
				ex := data.Example{Words: e.TokenizedText}
				for _, n := range e.NER {
					ex.Entities = append(ex.Entities, data.Entity{Start: int(n[0].(float64)), End: int(n[1].(float64)), Label: n[2].(string)})
				}
				exs = append(exs, ex)
			}
			inf, err := c.Inference(exs, raw.EntityTypes, nil)
			if err != nil {
				t.Fatal(err)
			}
			out, err := m.Forward(inf)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(t, out.Logits.F, &exp.Logits); d > 1e-4 {
				t.Errorf("logits differ by %.3g", d)
			}
			tr, err := c.Collate(exs, data.CollateOptions{Labels: [][]string{raw.EntityTypes}, Targets: true})
			if err != nil {
				t.Fatal(err)
			}
			m.Loss = losses.DefaultOptions()
			st, err := m.Step(tr)
			if err != nil {
				t.Fatal(err)
			}
			want := exp.Losses["bce_sum"].Loss
			if rel := math.Abs(float64(st.Loss)-want) / want; rel > 1e-4 {
				t.Errorf("loss %v, reference %v", st.Loss, want)
			}
		})
	}
}
