package decode

import (
	"encoding/json"
	"fmt"
)

// metricsWire is the serialized form of Metrics: the per-label counts and
// the number of documents.
type metricsWire struct {
	Docs   int               `json:"docs"`
	Labels map[string][3]int `json:"labels"` // tp, predicted, gold
}

// MarshalBinary encodes the counts, so that metrics computed on shards of a
// dataset (data-parallel evaluation) can be sent and merged.
func (m *Metrics) MarshalBinary() ([]byte, error) {
	w := metricsWire{Docs: m.docs, Labels: make(map[string][3]int, len(m.byLabel))}
	for l, c := range m.byLabel {
		w.Labels[l] = [3]int{c.tp, c.pred, c.gold}
	}
	return json.Marshal(w)
}

// UnmarshalBinary replaces m with metrics encoded by MarshalBinary.
func (m *Metrics) UnmarshalBinary(b []byte) error {
	var w metricsWire
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	m.docs, m.byLabel = w.Docs, make(map[string]*counts, len(w.Labels))
	for l, c := range w.Labels {
		m.byLabel[l] = &counts{tp: c[0], pred: c[1], gold: c[2]}
	}
	return nil
}
