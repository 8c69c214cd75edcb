package decode

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// Model entities map to the first decoded entity with the same span;
// pairs with a dropped or padding entity, masked pairs and probabilities
// not above the threshold give nothing; order is pair then class.
func TestRelations(t *testing.T) {
	ents := []Span{{Start: 4, End: 7, Label: "person"}, {Start: 0, End: 1, Label: "org"}, {Start: 0, End: 1, Label: "loc"}}
	model := [][2]int{{0, 1}, {4, 7}, {6, 7}} // (6,7) was dropped by greedy decoding
	pairs := [][2]int{{0, 1}, {1, 0}, {0, 2}, {1, 1}, {-1, -1}}
	mask := []bool{true, true, true, false, false}
	probs := []float32{
		0.9, 0.2, 0.7, // (0,1)
		0.5, 0.51, 0.1, // (1,0): 0.5 is not above 0.5
		0.99, 0.99, 0.99, // (0,2): entity 2 dropped
		0.99, 0.99, 0.99, // masked
		0.99, 0.99, 0.99, // padding
	}
	got, err := Relations(ents, model, pairs, mask, probs, 3, []string{"works at", "located in"}, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	// Class 3 has no label (only two relation types): skipped.
	want := "[{1 0 works at 0.9} {0 1 located in 0.51}]"
	if fmt.Sprint(got) != want {
		t.Errorf("relations %v, want %s", got, want)
	}
	if _, err := Relations(ents, model, pairs, mask[:2], probs, 3, nil, 0.5); err == nil {
		t.Error("mask length mismatch: no error")
	}
}

// Strict relation metrics: type and both entity spans must match; entity
// labels do not matter; duplicates count once.
func TestRelationMetrics(t *testing.T) {
	gold := []Span{{Start: 0, End: 1, Label: "person"}, {Start: 3, End: 3, Label: "org"}, {Start: 5, End: 5, Label: "loc"}}
	goldRels := []Relation{{Head: 0, Tail: 1, Label: "works at"}, {Head: 1, Tail: 2, Label: "located in"}}
	pred := []Span{{Start: 3, End: 3, Label: "loc"}, {Start: 0, End: 1, Label: "person"}, {Start: 5, End: 6, Label: "loc"}}
	predRels := []Relation{
		{Head: 1, Tail: 0, Label: "works at"},   // TP (entity label differs: still a match)
		{Head: 1, Tail: 0, Label: "works at"},   // duplicate
		{Head: 0, Tail: 2, Label: "located in"}, // tail span differs: FP
		{Head: 0, Tail: 1, Label: "works at"},   // reversed: FP
	}
	m := NewRelationMetrics([]string{"works at", "located in"})
	if err := m.Add("doc 0", pred, predRels, gold, goldRels); err != nil {
		t.Fatal(err)
	}
	mi := m.Micro()
	if mi.TP != 1 || mi.Predicted != 3 || mi.Gold != 2 || math.Abs(mi.F1-0.4) > 1e-12 {
		t.Errorf("micro %+v", mi)
	}
	per := map[string]Score{}
	for _, s := range m.PerLabel() {
		per[s.Label] = s
	}
	if s := per["works at"]; s.TP != 1 || s.Predicted != 2 || s.Gold != 1 {
		t.Errorf("works at %+v", s)
	}
	if s := per["located in"]; s.TP != 0 || s.Predicted != 1 || s.Gold != 1 {
		t.Errorf("located in %+v", s)
	}
	if m.Docs() != 1 || !strings.Contains(m.Table(), "works at") {
		t.Errorf("docs %d, table %q", m.Docs(), m.Table())
	}
}

func TestRelationMetricsBadInput(t *testing.T) {
	ents := []Span{{Start: 0, End: 0, Label: "a"}, {Start: 2, End: 2, Label: "b"}}
	m := NewRelationMetrics([]string{"works at"})
	err := m.Add("train.jsonl line 7", ents, nil, ents, []Relation{{Head: 0, Tail: 4, Label: "works at"}})
	if err == nil || !strings.Contains(err.Error(), "train.jsonl line 7") || !strings.Contains(err.Error(), "missing entity") {
		t.Errorf("gold relation to entity 4 of 2: %v", err)
	}
	err = m.Add("train.jsonl line 8", ents, nil, ents, []Relation{{Head: 0, Tail: 1, Label: "born in"}})
	if err == nil || !strings.Contains(err.Error(), "train.jsonl line 8") || !strings.Contains(err.Error(), `"born in"`) {
		t.Errorf("gold relation type outside the label list: %v", err)
	}
	if m.Docs() != 0 {
		t.Errorf("bad documents were counted: %d", m.Docs())
	}
}

func ExampleRelations() {
	ents := []Span{{Start: 0, End: 1, Label: "person"}, {Start: 3, End: 3, Label: "organization"}}
	// The model selected the same two spans, scored pairs (0,1) and (1,0)
	// against two relation types.
	rels, _ := Relations(ents, [][2]int{{0, 1}, {3, 3}}, [][2]int{{0, 1}, {1, 0}}, []bool{true, true},
		[]float32{0.8, 0.1, 0.3, 0.2}, 2, []string{"works at", "founded"}, 0.5)
	for _, r := range rels {
		fmt.Printf("%s -[%s]-> %s %.1f\n", ents[r.Head].Label, r.Label, ents[r.Tail].Label, r.Score)
	}
	// Output: person -[works at]-> organization 0.8
}
