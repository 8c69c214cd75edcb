package models

import (
	"testing"
)

// A steady-state training step builds no graph; the cache is bounded.
func TestGraphsAreCachedPerShapeAndBounded(t *testing.T) {
	m, dir, _ := loadFixtureModel(t, "uni_span_bert")
	b := fixtureBatch(t, dir, true, m.Cfg.MaxWidth)
	for i := 0; i < 3; i++ {
		if _, err := m.Step(b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Forward(fixtureBatch(t, dir, false, m.Cfg.MaxWidth)); err != nil {
		t.Fatal(err)
	}
	if got := m.GraphsBuilt(); got != 2 {
		t.Fatalf("built %d graphs for one training and one inference shape, want 2", got)
	}
	m.MaxGraphs = 1
	if _, err := m.Step(b); err != nil { // evicts the inference graph
		t.Fatal(err)
	}
	if len(m.graphs) != 1 {
		t.Fatalf("%d graphs cached with MaxGraphs 1", len(m.graphs))
	}
	if _, err := m.Step(b); err != nil {
		t.Fatal(err)
	}
	if got := m.GraphsBuilt(); got != 2 {
		t.Fatalf("the training graph was rebuilt (%d built)", got)
	}
}
