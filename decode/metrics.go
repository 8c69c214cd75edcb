package decode

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Score is precision, recall and F1 for one label (or micro-averaged).
type Score struct {
	Label                 string
	TP, Predicted, Gold   int
	Precision, Recall, F1 float64
}

func newScore(label string, tp, pred, gold int) Score {
	s := Score{Label: label, TP: tp, Predicted: pred, Gold: gold}
	if pred > 0 {
		s.Precision = float64(tp) / float64(pred)
	}
	if gold > 0 {
		s.Recall = float64(tp) / float64(gold)
	}
	if s.Precision+s.Recall > 0 {
		s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
	}
	return s
}

type counts struct{ tp, pred, gold int }

// Metrics accumulates the reference's NER evaluation
// (gliner/evaluation/evaluator.py BaseNEREvaluator): predictions and gold
// entities are sets of (label, start, end, doc), so duplicates within a
// document count once; a prediction is a true positive when the same tuple is
// gold. Add documents batch by batch, then read Micro, PerLabel or Table.
// Undefined ratios are 0, as the reference's zero division.
type Metrics struct {
	byLabel map[string]*counts
	docs    int
}

// NewMetrics returns empty metrics.
func NewMetrics() *Metrics { return &Metrics{byLabel: map[string]*counts{}} }

type spanKey struct {
	label      string
	start, end int
}

func keySet(spans []Span) map[spanKey]bool {
	m := make(map[spanKey]bool, len(spans))
	for _, s := range spans {
		m[spanKey{s.Label, s.Start, s.End}] = true
	}
	return m
}

func (m *Metrics) label(l string) *counts {
	c := m.byLabel[l]
	if c == nil {
		c = &counts{}
		m.byLabel[l] = c
	}
	return c
}

// Add counts one document's predicted and gold entities (scores ignored).
func (m *Metrics) Add(predicted, gold []Span) {
	m.docs++
	p, g := keySet(predicted), keySet(gold)
	for k := range p {
		c := m.label(k.label)
		c.pred++
		if g[k] {
			c.tp++
		}
	}
	for k := range g {
		m.label(k.label).gold++
	}
}

// AddBatch counts a batch of documents: predicted[i] against gold[i].
func (m *Metrics) AddBatch(predicted, gold [][]Span) error {
	if len(predicted) != len(gold) {
		return fmt.Errorf("metrics: %d predicted documents, %d gold", len(predicted), len(gold))
	}
	for i := range predicted {
		m.Add(predicted[i], gold[i])
	}
	return nil
}

// Merge adds the counts of o (for example from another worker).
func (m *Metrics) Merge(o *Metrics) {
	m.docs += o.docs
	for l, c := range o.byLabel {
		d := m.label(l)
		d.tp += c.tp
		d.pred += c.pred
		d.gold += c.gold
	}
}

// Docs is the number of documents added.
func (m *Metrics) Docs() int { return m.docs }

// Micro returns the micro-averaged score (the reference's reported F1):
// counts summed over labels.
func (m *Metrics) Micro() Score {
	var tp, pred, gold int
	for _, c := range m.byLabel {
		tp += c.tp
		pred += c.pred
		gold += c.gold
	}
	return newScore("micro", tp, pred, gold)
}

// PerLabel returns each label's score, sorted by label.
func (m *Metrics) PerLabel() []Score {
	labels := make([]string, 0, len(m.byLabel))
	for l := range m.byLabel {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	out := make([]Score, len(labels))
	for i, l := range labels {
		c := m.byLabel[l]
		out[i] = newScore(l, c.tp, c.pred, c.gold)
	}
	return out
}

// WriteTable prints per-label and micro scores as an aligned text table.
func (m *Metrics) WriteTable(w io.Writer) error {
	rows := append(m.PerLabel(), m.Micro())
	width := len("label")
	for _, r := range rows {
		width = max(width, len(r.Label))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s %6s %6s %6s %9s %9s %9s\n", width, "label", "tp", "pred", "gold", "precision", "recall", "f1")
	for i, r := range rows {
		if i == len(rows)-1 {
			fmt.Fprintf(&b, "%s\n", strings.Repeat("-", width+51))
		}
		fmt.Fprintf(&b, "%-*s %6d %6d %6d %8.2f%% %8.2f%% %8.2f%%\n", width, r.Label, r.TP, r.Predicted, r.Gold,
			100*r.Precision, 100*r.Recall, 100*r.F1)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Table is WriteTable into a string.
func (m *Metrics) Table() string {
	var b strings.Builder
	_ = m.WriteTable(&b)
	return b.String()
}
