package models

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/losses"
)

// Golden tests of the two newer architectures (UniEncoderTokenDecoder,
// UniEncoderTokenRelex) against their reference fixtures, with the shared
// harness (fixture_helpers_test.go) and the same tolerances as the other
// six (internal/testutil): forward tensors testutil.Forward, losses 1e-4
// relative, gradients testutil.Grad, the 10-step AdamW trajectory 1e-3
// relative, decoded entities and relations exactly (scores 1e-4),
// generated ids exactly.

const (
	tokenDecoderFixture = "uni_token_decoder_deberta"
	tokenRelexFixture   = "uni_token_relex_deberta"
)

// tokenArchBatch is batch.json's training or inference batch of a token
// architecture: fixtureBatch with the word count of the token labels (its
// span rows are not a (W, K) grid), the span rows and labels, and the
// decoder or relex tensors.
func tokenArchBatch(t testing.TB, dir string, train bool, arch data.Architecture, maxWidth int) *data.Batch {
	t.Helper()
	var b *data.Batch
	if arch == data.UniEncoderTokenRelex {
		b = relexBatch(t, dir, train, maxWidth)
	} else {
		b = decoderBatch(t, dir, train, maxWidth)
	}
	b.Architecture = arch
	b.NumWords = 0
	for _, n := range b.TextLengths.Data {
		b.NumWords = max(b.NumWords, int(n))
	}
	if train {
		b.NumWords = b.Labels.Shape[1]
		if arch == data.UniEncoderTokenDecoder {
			b.SpanLabels = floats(t, collatedTensors(t, dir, true)["span_labels"])
		}
	}
	return b
}

func TestTokenDecoderTrainingMatchesReference(t *testing.T) {
	m, dir, exp := loadFixtureModel(t, tokenDecoderFixture)
	if m.Arch != UniEncoderTokenDecoder || m.Decoder() == nil {
		t.Fatalf("loaded %v", m.Arch)
	}
	b := tokenArchBatch(t, dir, true, data.UniEncoderTokenDecoder, m.Cfg.MaxWidth)
	checkLossSettings(t, m, b, exp, true, func(name string, out *Output) {
		want := exp.Losses[name]
		dl := out.Intermediates["decoder_loss"].F[0]
		testutil.AssertCloseScalar(t, name+": decoder_loss", float64(dl), want.DecoderLoss, testutil.Loss)
	})
	m.Loss = losses.DefaultOptions()
	m.Loss.ReferenceCompat = true
	m.Store.ZeroGrad()
	out, err := m.Step(b)
	if err != nil {
		t.Fatal(err)
	}
	// The reference's intermediates come from its forward on this batch.
	if n := checkForward(t, out, exp); n != len(exp.Intermediates) || n < 7 {
		t.Errorf("compared %d of %d intermediates", n, len(exp.Intermediates))
	}
	outputs := decoderOutputs(t, dir)
	checkShapedClose(t, "span_logits", out.Intermediates["span_logits"], outputs["span_logits"])
	sameInts(t, "decoder_span_idx", stepDecoderPlan(t, m, b).SpanIdx, outputs["decoder_span_idx"])
	// The prefixes equal decoder_embedding at the packed rows.
	embT, embMaskT := outputs["decoder_embedding"], outputs["decoder_embedding_mask"]
	emb, _ := embT.Float32s()
	embMask := boolTensorInts(t, embMaskT)
	sh := embT.Shape
	S, Tp, D := sh[1], sh[2], sh[3]
	plan := stepDecoderPlan(t, m, b)
	if plan.Tp != Tp {
		t.Fatalf("prefix length %d, reference %d", plan.Tp, Tp)
	}
	x := out.Intermediates["decoder_inputs_embeds"]
	T := x.Shape[1]
	var gotPre, wantPre []float32
	for r, row := range plan.Rows {
		bi, n := int(row)/S, int(row)%S
		slot := bi*S + indexOf(plan.SpanIdx[bi*S:(bi+1)*S], int64(n))
		for p := 0; p < Tp; p++ {
			if embMask[slot*Tp+p] != plan.Mask[r*T+p] {
				t.Fatalf("row %d prefix mask differs at %d", r, p)
			}
			gotPre = append(gotPre, x.F[(r*T+p)*D:(r*T+p+1)*D]...)
			wantPre = append(wantPre, emb[(slot*Tp+p)*D:(slot*Tp+p+1)*D]...)
		}
	}
	testutil.AssertClose(t, "decoder prefixes (decoder_embedding)", gotPre, wantPre, []int{len(plan.Rows), Tp, D}, testutil.Forward)
	checkGrads(t, m, exp.Grads)
	trained := trainedNames(m, b)
	if trained["prompt_rep_layer.0.weight"] {
		t.Error("prompt_rep_layer trained; the reference never uses it")
	}
	checked := checkGradNorms(t, m, exp.GradNorms, DecoderPrefix+".lm_head.weight")
	if checked != len(trained) {
		t.Errorf("checked %d grad norms, %d parameters trained", checked, len(trained))
	}
}

func TestTokenDecoderTrajectoryMatchesReference(t *testing.T) {
	m, dir, exp := loadFixtureModel(t, tokenDecoderFixture)
	m.Loss = losses.DefaultOptions()
	m.Loss.ReferenceCompat = true
	checkTrajectory(t, m, tokenArchBatch(t, dir, true, data.UniEncoderTokenDecoder, m.Cfg.MaxWidth), exp.Trajectory)
}

// tokenDecoderRuns are the token decoder fixture's decoding entries.
type tokenDecoderRuns map[string]struct {
	Threshold           float64                        `json:"threshold"`
	FlatNER             bool                           `json:"flat_ner"`
	ForwardOutputs      map[string]testutil.JSONTensor `json:"forward_outputs"`
	GenIDsGreedy        [][]int64                      `json:"gen_ids_greedy"`
	GenLabelsGreedy     []string                       `json:"gen_labels_greedy"`
	SampledEqualGreedy  bool                           `json:"gen_labels_sampled_equal_greedy"`
	NumSpansToDecoder   int                            `json:"num_spans_to_decoder"`
	Entities            []fixtureGenEntities           `json:"entities"`
	EntitiesTokenLevel  []fixtureGenEntities           `json:"entities_token_level"`
	EntitiesEqualSpanLv bool                           `json:"entities_equal_span_level"`
}

type fixtureGenEntities []struct {
	Start      int      `json:"start"`
	End        int      `json:"end"`
	EntityType string   `json:"entity_type"`
	Score      float64  `json:"score"`
	Generated  []string `json:"generated_labels"`
}

func (f fixtureGenEntities) spans() []decode.Span {
	var w []decode.Span
	for _, e := range f {
		w = append(w, decode.Span{Start: e.Start, End: e.End, Label: e.EntityType, Score: float32(e.Score)})
	}
	return w
}

// Inference with the reference's two run-time fixes (fixtures README): at
// every threshold the span rows, span logits and the rows given to the
// decoder equal the reference's forward outputs, greedy generation gives
// its gen_ids_greedy, and decode_generative's entities (with generated
// labels where the reference's sampled labels equal the greedy ones) and
// the token-level entities match.
func TestTokenDecoderDecodedMatchesReference(t *testing.T) {
	m, dir, exp := loadFixtureModel(t, tokenDecoderFixture)
	m.Loss.ReferenceCompat = true
	var runs struct {
		Decoded tokenDecoderRuns `json:"decoded"`
	}
	testutil.ReadJSON(t, filepath.Join(dir, "expected.json"), &runs)
	tok, err := m.LoadDecoderTokenizer(dir)
	if err != nil {
		t.Fatal(err)
	}
	b := tokenArchBatch(t, dir, false, data.UniEncoderTokenDecoder, m.Cfg.MaxWidth)
	out, err := m.Forward(b)
	if err != nil {
		t.Fatal(err)
	}
	checkShapedClose(t, "inference logits", out.Logits, exp.Logits)
	if len(runs.Decoded) != 10 {
		t.Fatalf("fixture has %d decoding runs, want 10", len(runs.Decoded))
	}
	ids, ents, labels := 0, 0, 0
	for key, run := range runs.Decoded {
		gen, err := m.GenerateLabels(b, out, GenerateOptions{Threshold: run.Threshold, MaxNewTokens: 8, Tokenizer: tok})
		if err != nil {
			t.Fatal(err)
		}
		fo := run.ForwardOutputs
		sameInts(t, key+": span_idx", gen.Slots.SpanIdx, fo["span_idx"])
		sameInts(t, key+": span_mask", boolsAsInts(gen.Slots.SpanMask), fo["span_mask"])
		checkShapedClose(t, key+": span_logits", gen.Slots.SpanLogits, fo["span_logits"])
		sameInts(t, key+": decoder_span_idx", gen.SpanIdx, fo["decoder_span_idx"])
		if len(gen.IDs) != run.NumSpansToDecoder || len(gen.IDs) != len(run.GenIDsGreedy) {
			t.Fatalf("%s: %d generated rows, reference %d", key, len(gen.IDs), len(run.GenIDsGreedy))
		}
		for r, want := range run.GenIDsGreedy {
			if fmt.Sprint(gen.IDs[r]) != fmt.Sprint(want) {
				t.Errorf("%s: row %d generated %v, reference %v", key, r, gen.IDs[r], want)
			}
			if gen.Text[r] != run.GenLabelsGreedy[r] {
				t.Errorf("%s: row %d label %q, reference %q", key, r, gen.Text[r], run.GenLabelsGreedy[r])
			}
			ids++
		}
		o := decode.Options{Threshold: run.Threshold, FlatNER: run.FlatNER}
		got, err := m.DecodeTokenSpans(b, gen, o)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range run.Entities {
			plain := make([]decode.Span, len(got[i]))
			for j, g := range got[i] {
				plain[j] = g.Span
			}
			ents += sameSpans(t, fmt.Sprintf("%s text %d", key, i), plain, want.spans())
			if len(got[i]) != len(want) || !run.SampledEqualGreedy {
				continue
			}
			for j, w := range want {
				if fmt.Sprint(got[i][j].Generated) != fmt.Sprint(w.Generated) {
					t.Errorf("%s text %d entity %d: generated %q, reference %q", key, i, j, got[i][j].Generated, w.Generated)
				}
				labels++
			}
		}
		tokEnts, err := m.DecodeAsReference(out, b, o)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range run.EntitiesTokenLevel {
			ents += sameSpans(t, fmt.Sprintf("%s text %d (token level)", key, i), tokEnts[i], want.spans())
		}
	}
	t.Logf("%d generated rows, %d entities, %d generated entity labels compared", ids, ents, labels)
	if ids == 0 || ents == 0 || labels == 0 {
		t.Error("nothing compared")
	}
}

func TestTokenRelexTrainingMatchesReference(t *testing.T) {
	m, dir, exp := loadFixtureModel(t, tokenRelexFixture)
	if m.Arch != UniEncoderTokenRelex || m.Relex() == nil {
		t.Fatalf("loaded %v", m.Arch)
	}
	b := tokenArchBatch(t, dir, true, data.UniEncoderTokenRelex, m.Cfg.MaxWidth)
	b.SpanIdx = ints(t, collatedTensors(t, dir, true)["span_idx"])
	sm := ints(t, collatedTensors(t, dir, true)["span_mask"])
	b.SpanMask = data.Tensor[bool]{Shape: sm.Shape, Data: make([]bool, len(sm.Data))}
	for i, v := range sm.Data {
		b.SpanMask.Data[i] = v != 0
	}
	checkLossSettings(t, m, b, exp, true, nil)
	m.Loss = losses.DefaultOptions()
	m.Loss.ReferenceCompat = true
	m.Store.ZeroGrad()
	out, err := m.Step(b)
	if err != nil {
		t.Fatal(err)
	}
	if n := checkForward(t, out, exp); n != len(exp.Intermediates) || n < 10 {
		t.Errorf("compared %d of %d intermediates", n, len(exp.Intermediates))
	}
	var rx relexExpected
	testutil.ReadJSON(t, filepath.Join(dir, "expected.json"), &rx)
	checkShapedClose(t, "rel_prompts_embedding", out.Intermediates["rel_prompts_embedding"], rx.Outputs["rel_prompts_embedding"])
	checkGrads(t, m, exp.Grads)
	if _, ok := exp.Grads["pair_rep_layer.0.weight"]; !ok {
		t.Error("fixture names no pair_rep_layer gradient")
	}
	trained := trainedNames(m, b)
	if checked := checkGradNorms(t, m, exp.GradNorms); checked != len(trained) {
		t.Errorf("checked %d grad norms, %d parameters trained", checked, len(trained))
	}
	m.Store.ZeroGrad()
	checkTrajectory(t, m, b, exp.Trajectory)
}

// Inference at each threshold: the entity slots, entities (token-level
// decoding over the padded width, as the reference) and relations.
func TestTokenRelexDecodedMatchesReference(t *testing.T) {
	m, dir, exp := loadFixtureModel(t, tokenRelexFixture)
	m.Loss.ReferenceCompat = true
	var rx struct {
		Decoded map[string]struct {
			Threshold      float64                        `json:"threshold"`
			FlatNER        bool                           `json:"flat_ner"`
			Relations      [][][4]any                     `json:"relations"`
			Slots          int                            `json:"num_entity_slots"`
			Pairs          int                            `json:"num_pairs"`
			ForwardOutputs map[string]testutil.JSONTensor `json:"forward_outputs"`
			Adjacency      json.RawMessage                `json:"adjacency_matrix"`
		} `json:"decoded"`
	}
	testutil.ReadJSON(t, filepath.Join(dir, "expected.json"), &rx)
	b := tokenArchBatch(t, dir, false, data.UniEncoderTokenRelex, m.Cfg.MaxWidth)
	nEnts, nRels := 0, 0
	for run, d := range rx.Decoded {
		out, err := m.ForwardRelex(b, d.Threshold, d.Threshold)
		if err != nil {
			t.Fatal(err)
		}
		ro := out.Relex
		if ro.E != d.Slots {
			t.Errorf("%s: %d entity slots, reference %d", run, ro.E, d.Slots)
		}
		sameInts(t, run+": entity_spans", ro.EntitySpans, d.ForwardOutputs["entity_spans"])
		npairs := 0
		for _, v := range ro.PairMask {
			if v {
				npairs++
			}
		}
		if npairs != d.Pairs {
			t.Errorf("%s: %d pairs, reference %d", run, npairs, d.Pairs)
		}
		if rl, ok := d.ForwardOutputs["rel_logits"]; ok && rl.Data != nil {
			checkShapedClose(t, run+": rel_logits", ro.RelLogits, rl)
		}
		o := decode.Options{Threshold: d.Threshold, FlatNER: d.FlatNER}
		ents, err := m.DecodeAsReference(out, b, o)
		if err != nil {
			t.Fatal(err)
		}
		rels, err := m.DecodeRelations(out, b, ents, d.Threshold)
		if err != nil {
			t.Fatal(err)
		}
		for i := range ents {
			nEnts += sameSpans(t, fmt.Sprintf("%s text %d", run, i), ents[i], exp.Decoded[run].entitySpans(i))
			want := d.Relations[i]
			if len(rels[i]) != len(want) {
				t.Errorf("%s text %d: %d relations, reference %d", run, i, len(rels[i]), len(want))
				continue
			}
			for j, wr := range want {
				g := rels[i][j]
				if g.Head != int(wr[0].(float64)) || g.Label != wr[1].(string) || g.Tail != int(wr[2].(float64)) ||
					!testutil.CloseScalar(float64(g.Score), wr[3].(float64), testutil.Prob) {
					t.Errorf("%s text %d relation %d: %+v, reference %v", run, i, j, g, wr)
				}
				nRels++
			}
		}
	}
	t.Logf("%d entities, %d relations compared", nEnts, nRels)
	if nEnts == 0 || nRels == 0 {
		t.Error("nothing compared")
	}
}

// boolTensorInts reads a bool (or integer) JSON tensor as 0/1 ints.
func boolTensorInts(t *testing.T, jt testutil.JSONTensor) []int64 {
	t.Helper()
	if v, err := jt.Int64s(); err == nil {
		return v
	}
	var raw any
	if err := json.Unmarshal(jt.Data, &raw); err != nil {
		t.Fatal(err)
	}
	var out []int64
	var walk func(x any)
	walk = func(x any) {
		switch v := x.(type) {
		case []any:
			for _, y := range v {
				walk(y)
			}
		case bool:
			if v {
				out = append(out, 1)
			} else {
				out = append(out, 0)
			}
		case float64:
			out = append(out, int64(v))
		}
	}
	walk(raw)
	return out
}
