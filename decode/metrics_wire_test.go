package decode

import (
	"reflect"
	"testing"
)

// TestMetricsWire: metrics of two shards, sent through MarshalBinary and
// merged, equal the metrics of the whole set.
func TestMetricsWire(t *testing.T) {
	docs := []struct{ pred, gold []Span }{
		{[]Span{{Start: 0, End: 1, Label: "person"}}, []Span{{Start: 0, End: 1, Label: "person"}, {Start: 3, End: 3, Label: "date"}}},
		{[]Span{{Start: 2, End: 2, Label: "date"}, {Start: 2, End: 2, Label: "date"}}, []Span{{Start: 2, End: 2, Label: "date"}}},
		{[]Span{{Start: 1, End: 4, Label: "org"}}, nil},
	}
	whole, a, b := NewMetrics(), NewMetrics(), NewMetrics()
	for i, d := range docs {
		whole.Add(d.pred, d.gold)
		if i < 2 {
			a.Add(d.pred, d.gold)
		} else {
			b.Add(d.pred, d.gold)
		}
	}
	merged := NewMetrics()
	for _, m := range []*Metrics{a, b} {
		buf, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		got := NewMetrics()
		if err := got.UnmarshalBinary(buf); err != nil {
			t.Fatal(err)
		}
		merged.Merge(got)
	}
	if merged.Docs() != 3 || !reflect.DeepEqual(merged.PerLabel(), whole.PerLabel()) || merged.Micro() != whole.Micro() {
		t.Fatalf("merged %+v (%d docs), want %+v", merged.PerLabel(), merged.Docs(), whole.PerLabel())
	}
	if m := whole.Micro(); m.TP != 2 || m.Predicted != 3 || m.Gold != 3 {
		t.Fatalf("micro %+v, want tp 2 predicted 3 gold 3", m)
	}
	if err := NewMetrics().UnmarshalBinary([]byte("{")); err == nil {
		t.Fatal("truncated metrics accepted")
	}
}
