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

const relexFixture = "uni_span_relex_deberta"

// relexBatch is fixtureBatch plus the relex fields: relation label lists,
// and for training adj_matrix, rel_matrix and the sorted gold entities.
func relexBatch(t testing.TB, dir string, trainBatch bool, maxWidth int) *data.Batch {
	t.Helper()
	b := fixtureBatch(t, dir, trainBatch, maxWidth)
	src := collatedTensors(t, dir, trainBatch)
	var maps []map[string]string
	if err := json.Unmarshal(src["rel_id_to_classes"], &maps); err != nil {
		t.Fatal(err)
	}
	for _, mp := range maps {
		b.RelIDToClass = append(b.RelIDToClass, classNames(mp))
	}
	if trainBatch {
		b.AdjMatrix = floats(t, src["adj_matrix"])
		b.RelMatrix = floats(t, src["rel_matrix"])
		var ents [][][3]any
		if err := json.Unmarshal(src["entities"], &ents); err != nil {
			t.Fatal(err)
		}
		for _, es := range ents {
			var row []data.Entity
			for _, e := range es {
				row = append(row, data.Entity{Start: int(e[0].(float64)), End: int(e[1].(float64)), Label: e[2].(string)})
			}
			b.Entities = append(b.Entities, row)
		}
	}
	return b
}

// relexExpected is the relex part of expected.json.
type relexExpected struct {
	Outputs map[string]testutil.JSONTensor `json:"outputs"`
	Decoded map[string]struct {
		Threshold      float64                        `json:"threshold"`
		FlatNER        bool                           `json:"flat_ner"`
		MultiLabel     bool                           `json:"multi_label"`
		Relations      [][][4]any                     `json:"relations"`
		ForwardOutputs map[string]testutil.JSONTensor `json:"forward_outputs"`
	} `json:"decoded"`
}

func loadRelex(t *testing.T) (*Model, string, *fixtureExpected, *relexExpected) {
	t.Helper()
	m, dir, exp := loadFixtureModel(t, relexFixture)
	var rx relexExpected
	testutil.ReadJSON(t, filepath.Join(dir, "expected.json"), &rx)
	return m, dir, exp, &rx
}

func int64sOf(t *testing.T, jt testutil.JSONTensor) []int64 {
	t.Helper()
	v, err := jt.Int64s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func boolsAsInts(v []bool) []int64 {
	out := make([]int64, len(v))
	for i, b := range v {
		if b {
			out[i] = 1
		}
	}
	return out
}

func sameInts(t *testing.T, what string, got []int64, want testutil.JSONTensor) {
	t.Helper()
	w := int64sOf(t, want)
	if fmt.Sprint(got) != fmt.Sprint(w) {
		t.Errorf("%s = %v, reference %v", what, got, w)
	}
}

// Inference: logits, the encoder/word/prompt intermediates, the relation
// prompts and, at each decoding threshold, the selected entities, pairs
// and relation logits match the reference's forward_outputs.
func TestRelexForwardMatchesReference(t *testing.T) {
	m, dir, exp, rx := loadRelex(t)
	b := relexBatch(t, dir, false, m.Cfg.MaxWidth)
	out, err := m.Forward(b)
	if err != nil {
		t.Fatal(err)
	}
	// relations_rep_layer_output and pair_rep_layer_output are recorded in
	// the training forward (gold entities); see TestRelexTrainingIntermediates.
	checkForward(t, out, exp, "relations_rep_layer_output", "pair_rep_layer_output")
	for _, name := range []string{"words_embedding", "prompts_embedding", "rel_prompts_embedding"} {
		checkClose(t, "output "+name, out.Intermediates[name].F, rx.Outputs[name])
	}
	runs := 0
	for run, d := range rx.Decoded {
		out, err := m.ForwardRelex(b, d.Threshold, d.Threshold)
		if err != nil {
			t.Fatal(err)
		}
		fo, ro := d.ForwardOutputs, out.Relex
		sameInts(t, run+" entity_spans", ro.EntitySpans, fo["entity_spans"])
		sameInts(t, run+" rel_idx", ro.PairIdx, fo["rel_idx"])
		sameInts(t, run+" rel_mask", boolsAsInts(ro.PairMask), fo["rel_mask"])
		checkShapedClose(t, run+": rel_logits", ro.RelLogits, fo["rel_logits"])
		runs++
	}
	if runs < 4 {
		t.Errorf("compared %d decoding runs", runs)
	}
}

// Training forward (gold entities and gold adj_matrix pairs): the
// adjacency and pair representations match the reference's hooks.
func TestRelexTrainingIntermediates(t *testing.T) {
	m, dir, exp, _ := loadRelex(t)
	b := relexBatch(t, dir, true, m.Cfg.MaxWidth)
	out, err := m.Step(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"relations_rep_layer_output", "pair_rep_layer_output"} {
		checkShapedClose(t, name, out.Intermediates[name], exp.Intermediates[name])
	}
	checkClose(t, "training logits", out.Logits.F, exp.Logits)
}

func TestRelexLossesAndGradientsMatchReference(t *testing.T) {
	m, dir, exp, _ := loadRelex(t)
	b := relexBatch(t, dir, true, m.Cfg.MaxWidth)
	checkLossSettings(t, m, b, exp, false, nil)
	m.Loss = losses.DefaultOptions()
	m.Store.ZeroGrad()
	if _, err := m.Step(b); err != nil {
		t.Fatal(err)
	}
	// This loss (157, summed) gives gradients up to ~40, so float32
	// rounding alone moves elements by ~1e-6: testutil.Grad's absolute
	// term, scaled to each tensor, judges near-zero elements (one of 1024
	// in query_proj: 7.66e-5 vs 7.55e-5) by that rounding.
	checkGrads(t, m, exp.Grads)
	trained := trainedNames(m, b)
	checked := checkGradNorms(t, m, exp.GradNorms)
	if checked != len(trained) || checked != len(m.Store.Params()) {
		t.Errorf("checked %d grad norms, %d parameters trained, %d parameters", checked, len(trained), len(m.Store.Params()))
	}
}

func TestRelexTrainTrajectoryMatchesReference(t *testing.T) {
	m, dir, exp, _ := loadRelex(t)
	m.Loss = losses.DefaultOptions()
	b := relexBatch(t, dir, true, m.Cfg.MaxWidth)
	checkTrajectory(t, m, b, exp.Trajectory)
}

// Decoded entities and relations (head, type, tail, score) equal the
// reference's at every threshold, flat and nested.
func TestRelexDecodedMatchesReference(t *testing.T) {
	m, dir, exp, rx := loadRelex(t)
	b := relexBatch(t, dir, false, m.Cfg.MaxWidth)
	nRels := 0
	for run, d := range exp.Decoded {
		out, err := m.ForwardRelex(b, d.Threshold, d.Threshold)
		if err != nil {
			t.Fatal(err)
		}
		o := decode.Options{Threshold: d.Threshold, FlatNER: d.FlatNER, MultiLabel: d.MultiLabel}
		ents, err := m.DecodeAsReference(out, b, o)
		if err != nil {
			t.Fatal(err)
		}
		rels, err := m.DecodeRelations(out, b, ents, d.Threshold)
		if err != nil {
			t.Fatal(err)
		}
		for i := range d.Entities {
			sameSpans(t, fmt.Sprintf("%s text %d", run, i), ents[i], d.entitySpans(i))
			wantRels := rx.Decoded[run].Relations[i]
			if len(rels[i]) != len(wantRels) {
				t.Errorf("%s text %d: %d relations %v, reference %v", run, i, len(rels[i]), rels[i], wantRels)
				continue
			}
			for j, wr := range wantRels {
				g := rels[i][j]
				if g.Head != int(wr[0].(float64)) || g.Label != wr[1].(string) || g.Tail != int(wr[2].(float64)) ||
					!testutil.CloseScalar(float64(g.Score), wr[3].(float64), testutil.Prob) {
					t.Errorf("%s text %d relation %d: %+v, reference %v", run, i, j, g, wr)
				}
				nRels++
			}
		}
	}
	if nRels == 0 {
		t.Error("no relation compared")
	}
}
