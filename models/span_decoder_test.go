package models

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/losses"
)

const decoderFixture = "uni_span_decoder_deberta"

// decoderBatch is fixtureBatch plus the decoder tensors of batch.json.
func decoderBatch(t testing.TB, dir string, train bool, maxWidth int) *data.Batch {
	t.Helper()
	b := fixtureBatch(t, dir, train, maxWidth)
	src := collatedTensors(t, dir, train)
	b.DecoderInputIDs = ints(t, src["decoder_input_ids"])
	b.DecoderAttentionMask = ints(t, src["decoder_attention_mask"])
	b.DecoderWordsMask = ints(t, src["decoder_words_mask"])
	if train {
		b.DecoderLabelsIDs = ints(t, src["decoder_labels_ids"])
		b.DecoderLabelsMask = ints(t, src["decoder_labels_mask"])
		b.DecoderLabels = ints(t, src["decoder_labels"])
	}
	return b
}

// decoderOutputs is expected.json's outputs as tensors (the decoder
// fixture's are all tensors).
func decoderOutputs(t *testing.T, dir string) map[string]testutil.JSONTensor {
	t.Helper()
	var e struct {
		Outputs map[string]testutil.JSONTensor `json:"outputs"`
	}
	testutil.ReadJSON(t, filepath.Join(dir, "expected.json"), &e)
	return e.Outputs
}

func TestSpanDecoderForwardMatchesReference(t *testing.T) {
	m, dir, exp := loadFixtureModel(t, decoderFixture)
	if m.Arch != UniEncoderSpanDecoder || m.Decoder() == nil {
		t.Fatalf("loaded %v without decoder", m.Arch)
	}
	out, err := m.Forward(decoderBatch(t, dir, false, m.Cfg.MaxWidth))
	if err != nil {
		t.Fatal(err)
	}
	n := checkForward(t, out, exp, "decoder_lm_logits") // a training-batch output, checked below
	if n < 5 {
		t.Errorf("compared only %d intermediates", n)
	}
}

// The training forward under ReferenceCompat: the kept spans
// (decoder_span_idx), the decoder prefixes (decoder_embedding), the
// teacher-forced LM logits, every loss setting with its decoder_loss, the
// named gradients and every gradient norm.
func TestSpanDecoderLossesAndGradientsMatchReference(t *testing.T) {
	m, dir, exp := loadFixtureModel(t, decoderFixture)
	outputs := decoderOutputs(t, dir)
	b := decoderBatch(t, dir, true, m.Cfg.MaxWidth)
	checkLossSettings(t, m, b, exp, true, func(name string, out *Output) {
		want := exp.Losses[name]
		dl := out.Intermediates["decoder_loss"].F[0]
		t.Logf("%s: loss %v (reference %v), decoder_loss %v (reference %v)", name, out.Loss, want.Loss, dl, want.DecoderLoss)
		testutil.AssertCloseScalar(t, name+": decoder_loss", float64(dl), want.DecoderLoss, testutil.Loss)
	})

	m.Loss = losses.DefaultOptions()
	m.Loss.ReferenceCompat = true
	m.Store.ZeroGrad()
	out, err := m.Step(b)
	if err != nil {
		t.Fatal(err)
	}
	want := exp.Intermediates["decoder_lm_logits"]
	got := out.Intermediates["decoder_lm_logits"]
	if len(got.Shape) != 3 || got.Shape[0] != want.Shape[0] || got.Shape[1] != want.Shape[1] || got.Shape[2] != want.Shape[2] {
		t.Fatalf("decoder_lm_logits shape %v, reference %v", got.Shape, want.Shape)
	}
	testutil.AssertCloseJSON(t, "decoder_lm_logits", got.F, want, testutil.Forward)
	// Kept spans and their prefixes.
	selT := outputs["decoder_span_idx"]
	sel, _ := selT.Int64s()
	plan := stepDecoderPlan(t, m, b)
	if len(plan.SpanIdx) != len(sel) {
		t.Fatalf("decoder_span_idx has %d entries, reference %d", len(plan.SpanIdx), len(sel))
	}
	for i := range sel {
		if plan.SpanIdx[i] != sel[i] {
			t.Fatalf("decoder_span_idx[%d] = %d, reference %d", i, plan.SpanIdx[i], sel[i])
		}
	}
	embT := outputs["decoder_embedding"]
	emb, _ := embT.Float32s()
	embMaskT := outputs["decoder_embedding_mask"]
	embMask, _ := embMaskT.Int64s()
	S, Tp, D := embT.Shape[1], embT.Shape[2], embT.Shape[3]
	if plan.Tp != Tp {
		t.Fatalf("prefix length %d, reference %d", plan.Tp, Tp)
	}
	x := out.Intermediates["decoder_inputs_embeds"]
	T := x.Shape[1]
	var gotPre, wantPre []float32
	for r, row := range plan.Rows {
		bi, n := int(row)/S, int(row)%S
		slot := bi*S + indexOf(sel[bi*S:(bi+1)*S], int64(n))
		for p := 0; p < Tp; p++ {
			if embMask[slot*Tp+p] != plan.Mask[r*T+p] {
				t.Fatalf("span %d prefix mask differs at %d", r, p)
			}
			gotPre = append(gotPre, x.F[(r*T+p)*D:(r*T+p+1)*D]...)
			wantPre = append(wantPre, emb[(slot*Tp+p)*D:(slot*Tp+p+1)*D]...)
		}
	}
	testutil.AssertClose(t, "decoder prefixes (decoder_embedding)", gotPre, wantPre, []int{len(plan.Rows), Tp, D}, testutil.Forward)

	checkGrads(t, m, exp.Grads)
	if _, ok := exp.Grads[DecoderPrefix+".transformer.h.0.attn.c_attn.weight"]; !ok {
		t.Error("fixture names no decoder gradient")
	}
	trained := trainedNames(m, b)
	// lm_head is tied: its gradient is part of wte's.
	checked := checkGradNorms(t, m, exp.GradNorms, DecoderPrefix+".lm_head.weight")
	if checked != len(trained) {
		t.Errorf("checked %d grad norms, %d parameters trained", checked, len(trained))
	}
}

func indexOf(v []int64, x int64) int {
	for i, y := range v {
		if y == x {
			return i
		}
	}
	return -1
}

func TestSpanDecoderTrajectoryMatchesReference(t *testing.T) {
	m, dir, exp := loadFixtureModel(t, decoderFixture)
	m.Loss = losses.DefaultOptions()
	m.Loss.ReferenceCompat = true
	b := decoderBatch(t, dir, true, m.Cfg.MaxWidth)
	checkTrajectory(t, m, b, exp.Trajectory)
}

// decoderRuns are the fixture's decoding runs with generated labels.
type decoderRuns map[string]struct {
	Threshold  float64             `json:"threshold"`
	FlatNER    bool                `json:"flat_ner"`
	MultiLabel bool                `json:"multi_label"`
	GenLabels  []string            `json:"gen_labels"`
	SpanIdx    testutil.JSONTensor `json:"decoder_span_idx"`
	Generation struct {
		MaxNewTokens int `json:"max_new_tokens"`
	} `json:"generation"`
	Entities [][]struct {
		Start      int      `json:"start"`
		End        int      `json:"end"`
		EntityType string   `json:"entity_type"`
		Score      float64  `json:"score"`
		Generated  []string `json:"generated_labels"`
	} `json:"entities"`
}

// Generation on the fixture's inference batch at each decoding run's
// threshold: the kept spans equal the reference's decoder_span_idx, the
// generated labels equal its gen_labels (the reference sampled at
// temperature 0.01, so a label may differ only after a step whose top two
// scores are within 0.05 of each other), and the decoded entities carry the
// reference's classes, scores and generated labels.
func TestSpanDecoderGenerationMatchesReference(t *testing.T) {
	m, dir, _ := loadFixtureModel(t, decoderFixture)
	m.Loss.ReferenceCompat = true
	var exp struct {
		Decoded decoderRuns `json:"decoded"`
	}
	testutil.ReadJSON(t, filepath.Join(dir, "expected.json"), &exp)
	tok, err := m.LoadDecoderTokenizer(dir)
	if err != nil {
		t.Fatal(err)
	}
	b := decoderBatch(t, dir, false, m.Cfg.MaxWidth)
	out, err := m.Forward(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.Decoded) != 4 {
		t.Fatalf("fixture has %d decoding runs, want 4", len(exp.Decoded))
	}
	const nearTie = 0.05
	checked, exact, ents := 0, 0, 0
	for key, run := range exp.Decoded {
		if run.Generation.MaxNewTokens != 8 {
			t.Fatalf("%s: max_new_tokens %d", key, run.Generation.MaxNewTokens)
		}
		var margins [][]float32
		observe := func(step, r int, row []float32) {
			for len(margins) <= r {
				margins = append(margins, nil)
			}
			a, second := 0, float32(math.Inf(-1))
			for i, v := range row {
				if v > row[a] {
					a = i
				}
			}
			for i, v := range row {
				if i != a && v > second {
					second = v
				}
			}
			margins[r] = append(margins[r], row[a]-second)
		}
		gen, err := m.GenerateLabels(b, out, GenerateOptions{Threshold: run.Threshold, MaxNewTokens: 8, Tokenizer: tok, Observe: observe})
		if err != nil {
			t.Fatal(err)
		}
		sel, _ := run.SpanIdx.Int64s()
		if len(sel) != len(gen.SpanIdx) {
			t.Fatalf("%s: decoder_span_idx has %d entries, reference %d", key, len(gen.SpanIdx), len(sel))
		}
		for i := range sel {
			if sel[i] != gen.SpanIdx[i] {
				t.Fatalf("%s: decoder_span_idx[%d] = %d, reference %d", key, i, gen.SpanIdx[i], sel[i])
			}
		}
		if len(gen.Text) != len(run.GenLabels) {
			t.Fatalf("%s: %d generated labels, reference %d", key, len(gen.Text), len(run.GenLabels))
		}
		for r, ref := range run.GenLabels {
			checked++
			if gen.Text[r] == ref {
				exact++
				continue
			}
			k := 0
			for k < len(margins[r]) && margins[r][k] >= nearTie {
				k++
			}
			if k == len(margins[r]) {
				t.Errorf("%s: span %d: generated %q, reference %q, with no near-tie step (margins %v)", key, r, gen.Text[r], ref, margins[r])
				continue
			}
			t.Logf("%s: span %d: greedy %q, reference %q: first near tie at step %d (margin %.4f)", key, r, gen.Text[r], ref, k, margins[r][k])
		}
		if run.MultiLabel {
			continue
		}
		got, err := m.DecodeWithLabels(out, b, gen, decode.Options{Threshold: run.Threshold, FlatNER: run.FlatNER}, LabelsEnrich)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range run.Entities {
			if len(got[i]) != len(want) {
				t.Fatalf("%s text %d: %d entities %v, reference %d", key, i, len(got[i]), got[i], len(want))
			}
			for j, w := range want {
				g := got[i][j]
				if g.Start != w.Start || g.End != w.End || g.Label != w.EntityType || !testutil.CloseScalar(float64(g.Score), w.Score, testutil.Prob) {
					t.Errorf("%s text %d entity %d: %+v, reference %+v", key, i, j, g.Span, w)
				}
				if len(w.Generated) != 1 || len(g.Generated) != 1 {
					t.Errorf("%s text %d entity %d: generated %q, reference %q", key, i, j, g.Generated, w.Generated)
					continue
				}
				// Both sides attach the label of the same kept-span row.
				r := spanRow(sel, gen.S, i, w.Start*m.Cfg.MaxWidth+w.End-w.Start)
				if r < 0 || w.Generated[0] != run.GenLabels[r] || g.Generated[0] != gen.Text[r] {
					t.Errorf("%s text %d entity %d: generated %q, reference %q (row %d)", key, i, j, g.Generated[0], w.Generated[0], r)
				}
				ents++
			}
		}
	}
	t.Logf("generated labels: %d of %d identical to the reference's (the others differ after a near tie); %d decoded entities compared", exact, checked, ents)
	if exact*4 < checked*3 {
		t.Errorf("only %d of %d generated labels identical", exact, checked)
	}
}

// spanRow is the kept-span row (batch-major) of example b's flat span.
func spanRow(sel []int64, S, b, flat int) int {
	r := 0
	for bi := 0; bi*S < len(sel); bi++ {
		for s := 0; s < S && sel[bi*S+s] >= 0; s++ {
			if bi == b && sel[bi*S+s] == int64(flat) {
				return r
			}
			r++
		}
	}
	return -1
}
