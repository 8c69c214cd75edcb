package models

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/losses"
)

var uniSpanFixtures = []string{"uni_span_bert", "uni_span_deberta"}

// goldenFixtures are the fixtures of the implemented architectures.
var goldenFixtures = []string{
	"uni_span_bert", "uni_span_deberta", "uni_token_bert", "uni_token_deberta",
	"bi_span_deberta", "bi_token_deberta",
}

func TestForwardMatchesReference(t *testing.T) {
	for _, f := range goldenFixtures {
		t.Run(f, func(t *testing.T) {
			m, dir, exp := loadFixtureModel(t, f)
			out, err := m.Forward(fixtureBatch(t, dir, false, m.Cfg.MaxWidth))
			if err != nil {
				t.Fatal(err)
			}
			checkForward(t, out, exp)
			// The forward outputs the heads score.
			for _, name := range []string{"words_embedding", "prompts_embedding"} {
				var want testutil.JSONTensor
				if err := json.Unmarshal(exp.Outputs[name], &want); err != nil {
					t.Fatalf("outputs.%s: %v", name, err)
				}
				checkClose(t, "output "+name, out.Intermediates[name].F, want)
			}
		})
	}
}

func TestLossesAndGradientsMatchReference(t *testing.T) {
	for _, f := range goldenFixtures {
		t.Run(f, func(t *testing.T) {
			m, dir, exp := loadFixtureModel(t, f)
			b := fixtureBatch(t, dir, true, m.Cfg.MaxWidth)
			// The reference's arithmetic, quirks included (BiEncoderSpan
			// passes label smoothing as the margin in gliner/modeling/base.py
			// BiEncoderSpanModel.loss).
			checkLossSettings(t, m, b, exp, true, nil)
			// Gradients of the default loss (bce, sum).
			m.Loss = losses.DefaultOptions()
			m.Store.ZeroGrad()
			if _, err := m.Step(b); err != nil {
				t.Fatal(err)
			}
			checkGrads(t, m, exp.Grads)
			checked := checkGradNorms(t, m, exp.GradNorms)
			// Parameters the reference reports no gradient for (the BERT
			// pooler) must get none here either: torch's optimizer skips them.
			trained := trainedNames(m, b)
			for _, p := range m.Store.Params() {
				if _, ok := exp.GradNorms[p.Name]; !ok && trained[p.Name] {
					t.Errorf("%s is trained here but has no gradient in the reference", p.Name)
				}
			}
			if checked != len(trained) {
				t.Errorf("checked %d grad norms, %d parameters trained", checked, len(trained))
			}
		})
	}
}

// The reference's decoded entities (flat, nested, multi-label, several
// thresholds) are reproduced from this model's logits by DecodeAsReference,
// compared inside each text's length (the reference's token decoder also
// emits entities over the padding words of shorter texts). Decode, which
// never looks at padding words, must agree wherever the reference accepted
// no padding entity (only accepted entities block others).
func TestDecodedEntitiesMatchReference(t *testing.T) {
	for _, f := range goldenFixtures {
		t.Run(f, func(t *testing.T) {
			m, dir, exp := loadFixtureModel(t, f)
			b := fixtureBatch(t, dir, false, m.Cfg.MaxWidth)
			out, err := m.Forward(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(exp.Decoded) < 5 {
				t.Fatalf("fixture has %d decoding runs", len(exp.Decoded))
			}
			compared, ownCompared := 0, 0
			for run, d := range exp.Decoded {
				o := decode.Options{Threshold: d.Threshold, FlatNER: d.FlatNER, MultiLabel: d.MultiLabel}
				asRef, err := m.DecodeAsReference(out, b, o)
				if err != nil {
					t.Fatal(err)
				}
				own, err := m.Decode(out, b, o)
				if err != nil {
					t.Fatal(err)
				}
				for i := range d.Entities {
					n := int(b.TextLengths.Data[i])
					var want []decode.Span
					padding := false
					for _, e := range d.entitySpans(i) {
						if e.End < n {
							want = append(want, e)
						} else {
							padding = true
						}
					}
					var got []decode.Span
					for _, g := range asRef[i] {
						if g.End < n {
							got = append(got, g)
						}
					}
					compared += sameSpans(t, fmt.Sprintf("%s text %d (as reference)", run, i), got, want)
					if !padding {
						ownCompared += sameSpans(t, fmt.Sprintf("%s text %d", run, i), own[i], want)
					}
				}
			}
			if compared == 0 || ownCompared == 0 {
				t.Errorf("compared %d / %d decoded entities", compared, ownCompared)
			}
		})
	}
}
