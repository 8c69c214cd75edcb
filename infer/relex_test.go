package infer

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/internal/testutil"
)

const relexFixture = "uni_span_relex_deberta"

// relexFixtureData is the relex part of batch.json and expected.json.
type relexFixtureData struct {
	RelationTypes []string   `json:"relation_types"`
	GoldRelations [][][3]any `json:"relations"`
	Decoded       map[string]struct {
		Relations [][][4]any `json:"relations"`
	} `json:"decoded"`
}

func loadRelexFixture(t *testing.T) (*Pipeline, []data.Example, []string, *fixtureExpected, *relexFixtureData) {
	t.Helper()
	p, exs, labels, exp := loadFixture(t, relexFixture)
	dir := testutil.Fixture(t, relexFixture)
	var rx relexFixtureData
	testutil.ReadJSON(t, filepath.Join(dir, "batch.json"), &rx)
	var dec relexFixtureData
	testutil.ReadJSON(t, filepath.Join(dir, "expected.json"), &dec)
	rx.Decoded = dec.Decoded
	if len(rx.RelationTypes) == 0 || len(rx.Decoded) < 4 {
		t.Fatalf("fixture %s: %d relation types, %d decoded settings", relexFixture, len(rx.RelationTypes), len(rx.Decoded))
	}
	return p, exs, labels, exp, &rx
}

// refRelation converts the reference's [head, type, tail, score].
func refRelation(r [4]any) Relation {
	return Relation{Head: int(r[0].(float64)), Label: r[1].(string), Tail: int(r[2].(float64)), Score: r[3].(float64)}
}

func sameRelations(t *testing.T, what string, got, want []Relation) int {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d relations %v, want %d %v", what, len(got), got, len(want), want)
		return 0
	}
	for j := range want {
		g, w := got[j], want[j]
		if g.Head != w.Head || g.Tail != w.Tail || g.Label != w.Label || !testutil.CloseScalar(g.Score, w.Score, testutil.Prob) {
			t.Errorf("%s relation %d: %+v, want %+v", what, j, g, w)
		}
	}
	return len(want)
}

func sameEntities(t *testing.T, what string, got []Entity, want []decodedEntity) int {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d entities %v, want %d %v", what, len(got), got, len(want), want)
		return 0
	}
	for j, w := range want {
		g := got[j]
		if g.StartWord != w.Start || g.EndWord != w.End || g.Label != w.EntityType || !testutil.CloseScalar(g.Score, w.Score, testutil.Prob) {
			t.Errorf("%s entity %d: %+v, want %+v", what, j, g, w)
		}
	}
	return len(want)
}

// Every decoded setting of the relex fixture (threshold 0.5 and the low
// one, flat and nested; relation and adjacency thresholds = the entity
// threshold, as the reference's defaults): same entities and the same
// relations (head and tail = indices into the entities, type, score
// within 1e-4) in the reference's order; logits within 1e-4.
func TestRelexPredictMatchesReference(t *testing.T) {
	p, exs, labels, exp, rx := loadRelexFixture(t)
	nEnts, nRels := 0, 0
	for setting, want := range exp.Decoded {
		o := DefaultOptions()
		o.Threshold, o.FlatNER, o.MultiLabel = want.Threshold, want.FlatNER, want.MultiLabel
		o.Relations = rx.RelationTypes
		o.KeepLogits = true
		o.Buckets = true // ignored for relex models
		res, err := p.PredictExamples(exs, labels, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Entities) != len(want.Entities) || len(res.Relations) != len(want.Entities) {
			t.Fatalf("%s: %d texts of entities, %d of relations, want %d", setting, len(res.Entities), len(res.Relations), len(want.Entities))
		}
		for i := range want.Entities {
			nEnts += sameEntities(t, fmt.Sprintf("%s text %d", setting, i), res.Entities[i], want.Entities[i])
			var wr []Relation
			for _, r := range rx.Decoded[setting].Relations[i] {
				wr = append(wr, refRelation(r))
			}
			if res.Relations[i] == nil {
				t.Errorf("%s text %d: nil relations, want an empty list", setting, i)
			}
			nRels += sameRelations(t, fmt.Sprintf("%s text %d", setting, i), res.Relations[i], wr)
		}
		if len(res.Logits) != 1 || fmtShape(res.Logits[0].Shape) != fmtShape(exp.Logits.Shape) {
			t.Fatalf("%s: logits %d batches, want 1 of shape %v", setting, len(res.Logits), exp.Logits.Shape)
		}
		if !testutil.AssertCloseJSON(t, setting+": logits", res.Logits[0].Data, exp.Logits, testutil.Forward) {
			t.FailNow()
		}
	}
	if nEnts < 10 || nRels < 20 {
		t.Errorf("only %d entities and %d relations compared", nEnts, nRels)
	}
}

// The reference's predict_relations defaults (threshold 0.5, flat NER):
// the fixture's entities, and no relation above 0.5 between them.
func TestRelexPredictDefaults(t *testing.T) {
	p, exs, labels, exp, rx := loadRelexFixture(t)
	o := DefaultOptions()
	o.Relations = rx.RelationTypes
	res, err := p.PredictExamples(exs, labels, o)
	if err != nil {
		t.Fatal(err)
	}
	want := exp.Decoded["thr=0.500000,flat_ner=True"]
	if len(want.Entities) != 2 {
		t.Fatalf("fixture has no thr=0.500000,flat_ner=True setting for 2 texts")
	}
	for i := range want.Entities {
		sameEntities(t, fmt.Sprintf("text %d", i), res.Entities[i], want.Entities[i])
		if len(res.Relations[i]) != len(rx.Decoded["thr=0.500000,flat_ner=True"].Relations[i]) {
			t.Errorf("text %d: relations %v, reference none", i, res.Relations[i])
		}
	}
	// A lower relation threshold alone (entities and pairs still at 0.5)
	// only adds relations between the same entities.
	o.RelationThreshold = 0.01
	low, err := p.PredictExamples(exs, labels, o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want.Entities {
		sameEntities(t, fmt.Sprintf("low relation threshold, text %d", i), low.Entities[i], want.Entities[i])
		for _, r := range low.Relations[i] {
			if r.Head >= len(low.Entities[i]) || r.Tail >= len(low.Entities[i]) || r.Score <= 0.01 {
				t.Errorf("text %d: relation %+v outside %d entities or under the threshold", i, r, len(low.Entities[i]))
			}
		}
	}
}

// Two texts joined into one, cut into windows that are exactly the two
// fixture texts (window 8 = stride 8): the merged result is the union of
// both texts' entities (shifted by 8 words) and of their relations, the
// second text's indices moved past the first text's entities.
func TestRelexWindowsMergeRelations(t *testing.T) {
	p, exs, labels, exp, rx := loadRelexFixture(t)
	if len(exs[0].Words) != 8 {
		t.Fatalf("fixture text 0 has %d words, the test needs 8", len(exs[0].Words))
	}
	const setting = "thr=0.500000,flat_ner=False"
	want := exp.Decoded[setting]
	joined := data.Example{Words: append(append([]string(nil), exs[0].Words...), exs[1].Words...)}
	o := EvalOptions()
	o.Relations = rx.RelationTypes
	o.WindowWords, o.Stride = 8, 8
	res, err := p.PredictExamples([]data.Example{joined}, labels, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Windows != 2 || res.Split != 1 {
		t.Fatalf("%d windows, %d split inputs, want 2 and 1", res.Windows, res.Split)
	}
	wantEnts := append([]decodedEntity(nil), want.Entities[0]...)
	for _, e := range want.Entities[1] {
		e.Start += 8
		e.End += 8
		wantEnts = append(wantEnts, e)
	}
	sameEntities(t, "joined", res.Entities[0], wantEnts)
	var wantRels []Relation
	for _, r := range rx.Decoded[setting].Relations[0] {
		wantRels = append(wantRels, refRelation(r))
	}
	n0 := len(want.Entities[0])
	for _, r := range rx.Decoded[setting].Relations[1] {
		x := refRelation(r)
		x.Head += n0
		x.Tail += n0
		wantRels = append(wantRels, x)
	}
	if sameRelations(t, "joined", res.Relations[0], wantRels) < 30 {
		t.Errorf("too few relations compared")
	}
}

// indexRelations: relations whose entity did not survive the merge are
// skipped, a relation found by two windows is kept once with its highest
// score at its first place, indices follow the final entity list.
func TestIndexRelations(t *testing.T) {
	a := decode.Span{Start: 0, End: 1, Label: "person"}
	b := decode.Span{Start: 5, End: 5, Label: "org"}
	c := decode.Span{Start: 7, End: 8, Label: "location"}
	bOther := decode.Span{Start: 5, End: 5, Label: "location"} // same words, other label: not b
	ents := []decode.Span{a, b, c}
	got := indexRelations(ents, []spanRelation{
		{head: a, tail: b, label: "works at", score: 0.6},
		{head: c, tail: decode.Span{Start: 2, End: 3, Label: "x"}, label: "near", score: 0.9}, // tail dropped
		{head: c, tail: a, label: "near", score: 0.7},
		{head: a, tail: b, label: "works at", score: 0.8}, // again, from another window
		{head: a, tail: bOther, label: "works at", score: 0.9},
		{head: b, tail: c, label: "located in", score: 0.55},
	})
	want := []Relation{
		{Head: 0, Tail: 1, Label: "works at", Score: float64(float32(0.8))},
		{Head: 2, Tail: 0, Label: "near", Score: float64(float32(0.7))},
		{Head: 1, Tail: 2, Label: "located in", Score: float64(float32(0.55))},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("indexRelations = %v, want %v", got, want)
	}
	if got := indexRelations(ents, nil); got == nil || len(got) != 0 {
		t.Errorf("no relations: %v, want an empty list", got)
	}
}

// Evaluation scores relations strictly: gold = the reference's own
// prediction for text 1 with its last two relations removed, and for text
// 0 the fixture's gold annotation (which the untrained model misses).
func TestRelexEvaluate(t *testing.T) {
	p, exs, labels, exp, rx := loadRelexFixture(t)
	const setting = "thr=0.500000,flat_ner=False"
	want := exp.Decoded[setting]
	refRels := rx.Decoded[setting].Relations
	gold := make([]data.Example, 2)
	// Text 0: the fixture's gold entities and relations.
	var b struct {
		Examples []struct {
			NER [][3]any `json:"ner"`
		} `json:"examples"`
	}
	testutil.ReadJSON(t, filepath.Join(testutil.Fixture(t, relexFixture), "batch.json"), &b)
	gold[0] = data.Example{Words: exs[0].Words, Source: "gold.json:1"}
	for _, e := range b.Examples[0].NER {
		gold[0].Entities = append(gold[0].Entities, data.Entity{Start: int(e[0].(float64)), End: int(e[1].(float64)), Label: e[2].(string)})
	}
	for _, r := range rx.GoldRelations[0] {
		gold[0].Relations = append(gold[0].Relations, data.Relation{Head: int(r[0].(float64)), Tail: int(r[1].(float64)), Label: r[2].(string)})
	}
	// Text 1: the reference's prediction, entities reversed (gold indices
	// need not follow the predicted order), relations 0-2 of 5.
	gold[1] = data.Example{Words: exs[1].Words, Source: "gold.json:2"}
	n1 := len(want.Entities[1])
	for j := n1 - 1; j >= 0; j-- {
		e := want.Entities[1][j]
		gold[1].Entities = append(gold[1].Entities, data.Entity{Start: e.Start, End: e.End, Label: e.EntityType})
	}
	if len(refRels[1]) != 5 || len(refRels[0]) != 36 {
		t.Fatalf("reference relations: %d and %d, the test expects 36 and 5", len(refRels[0]), len(refRels[1]))
	}
	for _, r := range refRels[1][:3] {
		x := refRelation(r)
		gold[1].Relations = append(gold[1].Relations, data.Relation{Head: n1 - 1 - x.Head, Tail: n1 - 1 - x.Tail, Label: x.Label})
	}
	o := EvalOptions()
	o.Relations = rx.RelationTypes
	em, rm, err := p.EvaluateRelations(gold, labels, o)
	if err != nil {
		t.Fatal(err)
	}
	if rm == nil || rm.Docs() != 2 {
		t.Fatalf("relation metrics %v", rm)
	}
	// Predicted: 36 + 5 = 41; gold 2 + 3 = 5; found: 3 (text 1).
	if m := rm.Micro(); m.TP != 3 || m.Predicted != 41 || m.Gold != 5 {
		t.Errorf("relation micro %+v, want tp 3, predicted 41, gold 5", m)
	}
	// Per type, counted from the reference's predictions and the gold.
	predBy, goldBy, tpBy := map[string]int{}, map[string]int{}, map[string]int{}
	for _, rs := range refRels {
		for _, r := range rs {
			predBy[r[1].(string)]++
		}
	}
	for _, g := range gold {
		for _, r := range g.Relations {
			goldBy[r.Label]++
		}
	}
	for _, r := range refRels[1][:3] {
		tpBy[r[1].(string)]++
	}
	for _, s := range rm.PerLabel() {
		if s.TP != tpBy[s.Label] || s.Predicted != predBy[s.Label] || s.Gold != goldBy[s.Label] {
			t.Errorf("%s: %+v, want tp %d, predicted %d, gold %d", s.Label, s, tpBy[s.Label], predBy[s.Label], goldBy[s.Label])
		}
	}
	if len(rm.PerLabel()) != 3 {
		t.Errorf("%d relation types scored, want 3", len(rm.PerLabel()))
	}
	// Entities: text 1 all 2 found; text 0: none of the 4 gold, 4 predicted.
	if m := em.Micro(); m.TP != 2 || m.Predicted != 6 || m.Gold != 6 {
		t.Errorf("entity micro %+v, want tp 2, predicted 6, gold 6", m)
	}

	// Relation types default to the data's, sorted (another prompt order,
	// so other scores than above).
	if got := DataRelationLabels(gold); fmt.Sprint(got) != "[located in visited works at]" {
		t.Fatalf("DataRelationLabels = %q", got)
	}
	_, rm2, err := p.EvaluateRelations(gold, labels, EvalOptions())
	if err != nil {
		t.Fatal(err)
	}
	o.Relations = []string{"located in", "visited", "works at"}
	_, rm3, err := p.EvaluateRelations(gold, labels, o)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := rm2.Micro(), rm3.Micro(); a != b || a.Gold != 5 {
		t.Errorf("relation types from the data: %+v, given explicitly %+v", a, b)
	}
}

func TestRelexBadInput(t *testing.T) {
	p, exs, labels, _, rx := loadRelexFixture(t)
	check := func(what string, err error, want ...string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
			return
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", what, err, w)
			}
		}
	}
	_, err := p.PredictExamples(exs, labels, DefaultOptions())
	check("relex without relation types", err, "needs the relation types")
	o := DefaultOptions()
	o.Relations = []string{"works at", " "}
	_, err = p.PredictExamples(exs, labels, o)
	check("blank relation type", err, "relation types")
	o.Relations = rx.RelationTypes
	o.RelationThreshold = 1
	_, err = p.PredictExamples(exs, labels, o)
	check("relation threshold 1", err, "relation threshold 1 outside [0, 1)")

	span, sexs, slabels, _ := loadFixture(t, "uni_span_bert")
	o = DefaultOptions()
	o.Relations = []string{"works at"}
	_, err = span.PredictExamples(sexs, slabels, o)
	check("relation types for a span model", err, "does not extract relations", "gliner_uni_encoder_span")

	bad := []data.Example{{Words: exs[0].Words, Entities: []data.Entity{{Start: 0, End: 1, Label: "person"}},
		Relations: []data.Relation{{Head: 0, Tail: 3, Label: "works at"}}, Source: "dev.json:4"}}
	o = EvalOptions()
	o.Relations = rx.RelationTypes
	_, _, err = p.EvaluateRelations(bad, labels, o)
	check("gold relation to a missing entity", err, "dev.json:4", "missing entity")
	bad[0].Relations[0] = data.Relation{Head: 0, Tail: 0, Label: "born in"}
	_, _, err = p.EvaluateRelations(bad, labels, o)
	check("gold relation of an unknown type", err, "dev.json:4", `"born in"`, "not in the relation types")
	bad[0].Relations = nil
	_, _, err = p.EvaluateRelations(bad, labels, EvalOptions())
	check("no relation types anywhere", err, "needs relation types")
}
