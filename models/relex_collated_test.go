package models

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/losses"
)

// relexCollator is data.Collator set up as the relex fixture's reference
// processor, and the fixture's examples with their relations.
func relexCollator(t *testing.T, m *Model, dir string) (*data.Collator, []data.Example, []string, []string) {
	t.Helper()
	exs, types, relTypes := fixtureExamples(t, dir)
	return fixtureCollator(t, m, dir, data.UniEncoderSpanRelex, nil), exs, types, relTypes
}

// End to end from words: data.Collator's relex batches give the
// reference's logits and relation logits at inference, and train.
func TestRelexCollatorBatches(t *testing.T) {
	m, dir, exp, rx := loadRelex(t)
	c, exs, types, relTypes := relexCollator(t, m, dir)
	inf, err := c.Inference(exs, types, relTypes)
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Forward(inf)
	if err != nil {
		t.Fatal(err)
	}
	checkClose(t, "logits", out.Logits.F, exp.Logits)
	want := rx.Decoded["thr=0.500000,flat_ner=True"].ForwardOutputs["rel_logits"]
	checkClose(t, "rel_logits", out.Relex.RelLogits.F, want)
	tr, err := c.Collate(exs, data.CollateOptions{Labels: [][]string{types}, RelLabels: [][]string{relTypes}, Targets: true})
	if err != nil {
		t.Fatal(err)
	}
	m.Loss = losses.DefaultOptions()
	st, err := m.Step(tr)
	if err != nil {
		t.Fatal(err)
	}
	// The negative pairs are drawn at random, so the total is not the
	// reference's; it must be finite and positive.
	if math.IsNaN(float64(st.Loss)) || st.Loss <= 0 {
		t.Errorf("loss %v", st.Loss)
	}
	if got := st.Intermediates["relations_rep_layer_output"].Shape; len(got) != 3 || got[1] != 4 {
		t.Errorf("adjacency shape %v, want (2,4,4)", got)
	}
}

// Bad relex input is a clear error naming the example: a relation that
// points at a missing entity, a batch whose relation label list does not
// match its <<REL>> tokens, a gold relation whose entity has no labelled
// span of its own, rel_matrix wider than the prompts, a relation type
// outside a fixed label list.
func TestRelexBadInputIsAnError(t *testing.T) {
	m, dir, _, _ := loadRelex(t)
	c, exs, types, relTypes := relexCollator(t, m, dir)
	bad := append([]data.Example(nil), exs...)
	bad[1].Relations = []data.Relation{{Head: 0, Tail: 5, Label: "located in"}}
	if _, err := c.Collate(bad, data.CollateOptions{Labels: [][]string{types}, RelLabels: [][]string{relTypes}, Targets: true}); err == nil ||
		!strings.Contains(err.Error(), "example 1") || !strings.Contains(err.Error(), "missing entity") {
		t.Errorf("relation to entity 5 of 2: %v", err)
	}

	b := relexBatch(t, dir, false, m.Cfg.MaxWidth)
	b.RelIDToClass = [][]string{relTypes, relTypes[:2]}
	if _, err := m.Forward(b); err == nil || !strings.Contains(err.Error(), "example 1") || !strings.Contains(err.Error(), "<<REL>>") {
		t.Errorf("relation label list shorter than the prompt: %v", err)
	}

	tb := relexBatch(t, dir, true, m.Cfg.MaxWidth)
	// A third entity on the span of the first, in no relation: aligned,
	// same loss.
	want, err := m.Step(tb)
	if err != nil {
		t.Fatal(err)
	}
	tb.Entities = [][]data.Entity{tb.Entities[0], append(append([]data.Entity(nil), tb.Entities[1]...), tb.Entities[1][0])}
	if got, err := m.Step(tb); err != nil || got.Loss != want.Loss {
		t.Errorf("a duplicate entity without relations: loss %v, %v; want %v", got, err, want.Loss)
	}
	// The tail of example 1's gold relation has no labelled span.
	tb.Entities[1] = []data.Entity{tb.Entities[1][0], {Start: 2, End: 2, Label: "location"}}
	if _, err := m.Step(tb); err == nil || !strings.Contains(err.Error(), "example 1") || !strings.Contains(err.Error(), "gold relation between entities 0 and 1") {
		t.Errorf("relation to an entity without a labelled span: %v", err)
	}

	tb = relexBatch(t, dir, true, m.Cfg.MaxWidth)
	tb.RelMatrix = data.Tensor[float32]{Shape: []int{2, 12, 4}, Data: make([]float32, 2*12*4)}
	if _, err := m.Step(tb); err == nil || !strings.Contains(err.Error(), "rel_matrix has 4 relation types") {
		t.Errorf("rel_matrix wider than the prompts: %v", err)
	}

	// A gold relation whose type is not in a fixed relation label list.
	tr, err := c.Collate(exs, data.CollateOptions{Labels: [][]string{types}, RelLabels: [][]string{{"works at"}}, Targets: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Step(tr); err == nil || !strings.Contains(err.Error(), "relation label list") {
		t.Errorf("gold relation type outside the label list: %v", err)
	}
}

// The reference scales the span loss by span_loss_coef only when there are
// relation targets (gliner/modeling/base.py
// UniEncoderSpanRelexModel.forward): with them the total is span_coef·span +
// adj_coef·adj + rel_coef·rel, without them plain span.
func TestRelexLossCoefficients(t *testing.T) {
	step := func(spanCoef, adjCoef, relCoef float64, withRelations bool) float64 {
		m, dir, _, _ := loadRelex(t)
		m.Cfg.SpanLossCoef, m.Cfg.AdjacencyLossCoef, m.Cfg.RelationLossCoef = spanCoef, adjCoef, relCoef
		m.Loss = losses.DefaultOptions()
		b := relexBatch(t, dir, true, m.Cfg.MaxWidth)
		if !withRelations {
			b.RelMatrix = data.Tensor[float32]{}
		}
		out, err := m.Step(b)
		if err != nil {
			t.Fatal(err)
		}
		return float64(out.Loss)
	}
	total := step(1, 1, 1, true)
	span := step(2, 1, 1, true) - total
	adj := step(1, 2, 1, true) - total
	rel := step(1, 1, 2, true) - total
	if math.Abs(span+adj+rel-total) > 1e-3*total || span <= 0 || adj <= 0 || rel <= 0 {
		t.Errorf("span %v + adjacency %v + relation %v != total %v", span, adj, rel, total)
	}
	if got := step(2, 1, 1, false); math.Abs(got-span) > 1e-3*span {
		t.Errorf("without relation targets: loss %v, want the unscaled span loss %v", got, span)
	}
	if got := step(3, 0.5, 0.25, true); math.Abs(got-(3*span+0.5*adj+0.25*rel)) > 1e-3*total {
		t.Errorf("coefficients 3, 0.5, 0.25: loss %v, want %v", got, 3*span+0.5*adj+0.25*rel)
	}
}

// Export writes the relex fixture's folder byte for byte (weights and
// gliner_config.json with the relex fields), and the reloaded model scores
// relations as the original.
func TestRelexExportRoundTrip(t *testing.T) {
	src, out := exportFixture(t, relexFixture)
	for _, f := range []string{"model.safetensors", "gliner_config.json"} {
		want, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the reference's (%d vs %d bytes)", f, len(got), len(want))
		}
	}
	m2, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Cfg.RelTokenIndex != 322 || m2.Cfg.ClassTokenIndex != 320 {
		t.Errorf("reloaded rel_token_index %d class_token_index %d", m2.Cfg.RelTokenIndex, m2.Cfg.ClassTokenIndex)
	}
	_, dir, _, rx := loadRelex(t)
	b := relexBatch(t, dir, false, m2.Cfg.MaxWidth)
	o, err := m2.Forward(b)
	if err != nil {
		t.Fatal(err)
	}
	want := rx.Decoded["thr=0.500000,flat_ner=True"].ForwardOutputs["rel_logits"]
	checkClose(t, "reloaded rel_logits", o.Relex.RelLogits.F, want)
}
