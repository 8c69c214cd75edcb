package decode

import (
	"math"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestMetricsHandMade(t *testing.T) {
	m := NewMetrics()
	// Doc 0: 2 of 3 predictions right; one gold per missed.
	m.Add(
		[]Span{{0, 1, "per", 0.9}, {3, 3, "loc", 0.8}, {5, 6, "per", 0.7}},
		[]Span{{0, 1, "per", 1}, {3, 3, "loc", 1}, {5, 5, "per", 1}},
	)
	// Doc 1, added as a batch: a duplicate prediction counts once; a right
	// span with the wrong label is wrong.
	if err := m.AddBatch(
		[][]Span{{{2, 4, "org", 0.9}, {2, 4, "org", 0.6}, {7, 7, "per", 0.5}}},
		[][]Span{{{2, 4, "org", 1}, {7, 7, "loc", 1}}},
	); err != nil {
		t.Fatal(err)
	}
	micro := m.Micro()
	// tp = 3 (per 0-1, loc 3-3, org 2-4); pred = 5; gold = 5.
	if micro.TP != 3 || micro.Predicted != 5 || micro.Gold != 5 || !near(micro.Precision, 0.6) || !near(micro.Recall, 0.6) || !near(micro.F1, 0.6) {
		t.Errorf("micro %+v", micro)
	}
	per := m.PerLabel()
	want := []Score{
		{"loc", 1, 1, 2, 1, 0.5, 2.0 / 3},
		{"org", 1, 1, 1, 1, 1, 1},
		{"per", 1, 3, 2, 1.0 / 3, 0.5, 0.4},
	}
	if len(per) != len(want) {
		t.Fatalf("per-label %+v", per)
	}
	for i := range want {
		g, w := per[i], want[i]
		if g.Label != w.Label || g.TP != w.TP || g.Predicted != w.Predicted || g.Gold != w.Gold ||
			!near(g.Precision, w.Precision) || !near(g.Recall, w.Recall) || !near(g.F1, w.F1) {
			t.Errorf("label %s: %+v, want %+v", w.Label, g, w)
		}
	}
	if m.Docs() != 2 {
		t.Errorf("docs %d", m.Docs())
	}
	tab := m.Table()
	for _, s := range []string{"label", "loc", "org", "per", "micro", "60.00%", "66.67%"} {
		if !strings.Contains(tab, s) {
			t.Errorf("table lacks %q:\n%s", s, tab)
		}
	}
	if err := m.AddBatch(make([][]Span, 2), make([][]Span, 1)); err == nil {
		t.Error("mismatched batch accepted")
	}
}

func TestMetricsEmptyAndMerge(t *testing.T) {
	m := NewMetrics()
	if s := m.Micro(); s.Precision != 0 || s.Recall != 0 || s.F1 != 0 {
		t.Errorf("empty metrics %+v", s)
	}
	m.Add(nil, []Span{{0, 0, "a", 1}})
	o := NewMetrics()
	o.Add([]Span{{0, 0, "a", 1}}, []Span{{0, 0, "a", 1}})
	m.Merge(o)
	s := m.Micro()
	if s.TP != 1 || s.Predicted != 1 || s.Gold != 2 || !near(s.F1, 2*0.5/1.5) || m.Docs() != 2 {
		t.Errorf("merged %+v docs %d", s, m.Docs())
	}
}
