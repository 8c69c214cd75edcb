package kern

import (
	"path/filepath"
	"testing"

	"github.com/gliner-go/gliner/internal/testutil"
)

type fixtureLoss struct {
	Kwargs struct {
		Alpha          float32 `json:"alpha"`
		Gamma          float32 `json:"gamma"`
		LabelSmoothing float32 `json:"label_smoothing"`
		Reduction      string  `json:"reduction"`
		Negatives      float32 `json:"negatives"`
		Masking        string  `json:"masking"`
	} `json:"kwargs"`
	Loss        float64  `json:"loss"`
	DecoderLoss *float64 `json:"decoder_loss"`
}

type fixtureExpected struct {
	Logits  testutil.JSONTensor `json:"logits"`
	Outputs struct {
		PromptsMask testutil.JSONTensor  `json:"prompts_embedding_mask"`
		Mask        testutil.JSONTensor  `json:"mask"`
		DecoderLoss *testutil.JSONTensor `json:"decoder_loss"`
	} `json:"outputs"`
	Intermediates struct {
		DecoderLMLogits *testutil.JSONTensor `json:"decoder_lm_logits"`
	} `json:"intermediates"`
	Losses map[string]fixtureLoss `json:"losses"`
}

type fixtureBatch struct {
	Collated struct {
		Labels        testutil.JSONTensor  `json:"labels"`
		SpanMask      *testutil.JSONTensor `json:"span_mask"`
		DecoderLabels *testutil.JSONTensor `json:"decoder_labels"`
	} `json:"collated"`
}

func fixtureF32(t *testing.T, name string, x *testutil.JSONTensor) []float32 {
	t.Helper()
	v, err := x.Float32s()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

func loadFixture(t *testing.T, name string) (fixtureExpected, fixtureBatch) {
	t.Helper()
	dir := testutil.Fixture(t, name)
	var e fixtureExpected
	var b fixtureBatch
	testutil.ReadJSON(t, filepath.Join(dir, "expected.json"), &e)
	testutil.ReadJSON(t, filepath.Join(dir, "batch.json"), &b)
	if len(e.Losses) != 6 {
		t.Fatalf("%s: %d loss settings in expected.json, want 6", name, len(e.Losses))
	}
	return e, b
}

func fixtureOptions(t *testing.T, l fixtureLoss) LossOptions {
	t.Helper()
	red, err := ParseReduction(l.Kwargs.Reduction)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMasking(l.Kwargs.Masking)
	if err != nil {
		t.Fatal(err)
	}
	return LossOptions{Alpha: l.Kwargs.Alpha, Gamma: l.Kwargs.Gamma, LabelSmoothing: l.Kwargs.LabelSmoothing,
		Reduction: red, Negatives: l.Kwargs.Negatives, Masking: m}
}

// relClose is |got-want| <= tol·max(|want|, 1e-6).
func relClose(got, want, tol float64) bool {
	return testutil.CloseScalar(got, want, testutil.Tol{ATol: tol, Floor: 1e-6})
}

func TestGoldenSpanLoss(t *testing.T) {
	cases := []struct {
		fixture string
		quirk   bool // label smoothing passed as margin (base.py BiEncoderSpanModel.loss)
		decoder bool // loss = span + decoder_loss_coef·decoder_loss
	}{
		{"uni_span_bert", false, false},
		{"uni_span_deberta", false, false},
		{"bi_span_deberta", true, false},
		{"uni_span_decoder_deberta", true, true},
	}
	for _, tc := range cases {
		t.Run(tc.fixture, func(t *testing.T) {
			e, b := loadFixture(t, tc.fixture)
			logits := fixtureF32(t, "logits", &e.Logits)
			labels := fixtureF32(t, "labels", &b.Collated.Labels)
			spanMask := fixtureF32(t, "span_mask", b.Collated.SpanMask)
			pmask := fixtureF32(t, "prompts_embedding_mask", &e.Outputs.PromptsMask)
			B, S, C := b.Collated.Labels.Shape[0], b.Collated.Labels.Shape[1], b.Collated.Labels.Shape[2]
			for name, l := range e.Losses {
				o := fixtureOptions(t, l)
				if tc.quirk {
					o = o.SmoothingAsMargin()
				}
				res, err := SpanLoss(logits, labels, B, S, C, spanMask, pmask, o, nil)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				want := l.Loss
				got := float64(res.Loss)
				if tc.decoder {
					// decoder_loss_coef 0.5, span_loss_coef 1 (gliner_config.json).
					got += 0.5 * *l.DecoderLoss
				}
				if !relClose(got, want, 1e-4) {
					t.Errorf("%s: loss %.6f, reference %.6f", name, got, want)
				}
			}
		})
	}
}

func TestGoldenTokenLoss(t *testing.T) {
	for _, name := range []string{"uni_token_bert", "uni_token_deberta", "bi_token_deberta"} {
		t.Run(name, func(t *testing.T) {
			e, b := loadFixture(t, name)
			logits := fixtureF32(t, "logits", &e.Logits)
			labels := fixtureF32(t, "labels", &b.Collated.Labels)
			mask := fixtureF32(t, "mask", &e.Outputs.Mask)
			pmask := fixtureF32(t, "prompts_embedding_mask", &e.Outputs.PromptsMask)
			sh := b.Collated.Labels.Shape
			for key, l := range e.Losses {
				o := fixtureOptions(t, l)
				for _, compat := range []bool{false, true} {
					o.ReferenceCompat = compat
					res, err := TokenLoss(logits, labels, sh[0], sh[1], sh[2], sh[3], mask, pmask, o, nil)
					if err != nil {
						t.Fatalf("%s: %v", key, err)
					}
					if !relClose(float64(res.Loss), l.Loss, 1e-4) {
						t.Errorf("%s (compat %v): loss %.6f, reference %.6f", key, compat, res.Loss, l.Loss)
					}
				}
			}
		})
	}
}

func TestGoldenDecoderCrossEntropy(t *testing.T) {
	e, b := loadFixture(t, "uni_span_decoder_deberta")
	lg := e.Intermediates.DecoderLMLogits
	if lg == nil || b.Collated.DecoderLabels == nil || e.Outputs.DecoderLoss == nil {
		t.Fatal("decoder fixture lacks decoder_lm_logits, decoder_labels or decoder_loss")
	}
	logits := fixtureF32(t, "decoder_lm_logits", lg)
	labels, err := b.Collated.DecoderLabels.Int64s()
	if err != nil {
		t.Fatal(err)
	}
	m, tt, v := lg.Shape[0], lg.Shape[1], lg.Shape[2]
	tl := b.Collated.DecoderLabels.Shape[1]
	tp := tt - tl + 1 // prefix length: targets = [-100]×Tp ++ labels, shifted by one
	targets := make([]int64, m*tt)
	for r := 0; r < m; r++ {
		for j := 0; j < tt; j++ {
			if j < tp-1 {
				targets[r*tt+j] = IgnoreIndex
			} else {
				targets[r*tt+j] = labels[r*tl+j-(tp-1)]
			}
		}
	}
	want := fixtureF32(t, "decoder_loss", e.Outputs.DecoderLoss)[0]
	res, err := DecoderCrossEntropy(logits, targets, m*tt, v, CEOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !relClose(float64(res.Loss), float64(want), 1e-4) {
		t.Errorf("decoder loss %.6f, reference %.6f", res.Loss, want)
	}
	// Ignoring padding (pad = <|endoftext|> = 269) must lower the loss.
	res2, err := DecoderCrossEntropy(logits, targets, m*tt, v, CEOptions{IgnorePadding: true, PadID: 269})
	if err != nil {
		t.Fatal(err)
	}
	if !(res2.Loss < res.Loss) {
		t.Errorf("ignoring padding: loss %v, want below %v", res2.Loss, res.Loss)
	}
}
