package infer

import (
	"fmt"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
)

// DataLabels returns the distinct entity labels of exs, sorted: the label
// set an evaluation uses when none is given.
func DataLabels(exs []data.Example) []string { return data.EntityLabels(exs) }

// EvalOptions are the reference's model.evaluate defaults: threshold 0.5,
// nested decoding (flat_ner false), single label; batches of 8.
func EvalOptions() Options {
	o := DefaultOptions()
	o.FlatNER = false
	return o
}

// DataRelationLabels returns the distinct relation types of exs, sorted:
// the relation types a relex evaluation uses when none are given.
func DataRelationLabels(exs []data.Example) []string { return data.RelationLabels(exs) }

// Evaluate predicts entities of labels (nil: DataLabels(exs)) on exs and
// scores them against the examples' gold entities as the reference's
// evaluator does (gliner/evaluation/evaluator.py BaseNEREvaluator): (label,
// start word, end word, document) sets, micro and per-label precision, recall
// and F1. Gold entities of labels outside the label set still count (as
// misses). A relex model's relation scores are computed and dropped: see
// EvaluateRelations. A span decoder's labels are not generated unless
// o.LabelMode asks (with LabelModeReplace the generated labels are scored).
func (p *Pipeline) Evaluate(exs []data.Example, labels []string, o Options) (*decode.Metrics, error) {
	m, _, err := p.EvaluateRelations(exs, labels, o)
	return m, err
}

// EvaluateRelations is Evaluate that also scores a relex model's
// relations (nil for other models) as the reference's relex evaluator
// does: (type, head words, tail words, document) sets, strict (both
// entity spans and the type must match), micro and per-type P/R/F1. The
// relation types are o.Relations, else DataRelationLabels(exs); a gold
// relation of a type outside them, or pointing at an entity the example
// does not have, is an error naming the example.
func (p *Pipeline) EvaluateRelations(exs []data.Example, labels []string, o Options) (*decode.Metrics, *decode.RelationMetrics, error) {
	if labels == nil {
		labels = DataLabels(exs)
		if len(labels) == 0 {
			return nil, nil, fmt.Errorf("evaluate: the data has no entities, so no labels to evaluate (give labels)")
		}
	}
	var rm *decode.RelationMetrics
	if p.arch.Relex() {
		if len(o.Relations) == 0 {
			o.Relations = DataRelationLabels(exs)
			if len(o.Relations) == 0 {
				return nil, nil, fmt.Errorf("evaluate: a %v model needs relation types and the data has no relations (give the relation types)", p.arch)
			}
		}
		rm = decode.NewRelationMetrics(o.Relations)
		known := map[string]bool{}
		for _, r := range o.Relations {
			known[r] = true
		}
		for i := range exs {
			for j, r := range exs[i].Relations {
				switch {
				case r.Head < 0 || r.Head >= len(exs[i].Entities) || r.Tail < 0 || r.Tail >= len(exs[i].Entities):
					return nil, nil, fmt.Errorf("evaluate: %s: gold relation %d [%d, %d, %q] refers to a missing entity (%d entities)",
						exampleName(&exs[i], i), j, r.Head, r.Tail, r.Label, len(exs[i].Entities))
				case !known[r.Label]:
					return nil, nil, fmt.Errorf("evaluate: %s: gold relation %d has type %q, which is not in the relation types %v",
						exampleName(&exs[i], i), j, r.Label, o.Relations)
				}
			}
		}
	}
	if p.arch.Decoder() && o.LabelMode == "" {
		// Scores are on the class labels: no label generation unless asked.
		o.LabelMode = LabelModeOff
	}
	res, err := p.PredictExamples(exs, labels, o)
	if err != nil {
		return nil, nil, fmt.Errorf("evaluate: %w", err)
	}
	m := decode.NewMetrics()
	for i, ex := range exs {
		gold := make([]decode.Span, len(ex.Entities))
		for j, e := range ex.Entities {
			gold[j] = decode.Span{Start: e.Start, End: e.End, Label: e.Label}
		}
		pred := make([]decode.Span, len(res.Entities[i]))
		for j, e := range res.Entities[i] {
			pred[j] = decode.Span{Start: e.StartWord, End: e.EndWord, Label: e.Label, Score: float32(e.Score)}
		}
		m.Add(pred, gold)
		if rm == nil {
			continue
		}
		goldRels := make([]decode.Relation, len(ex.Relations))
		for j, r := range ex.Relations {
			goldRels[j] = decode.Relation{Head: r.Head, Tail: r.Tail, Label: r.Label}
		}
		predRels := make([]decode.Relation, len(res.Relations[i]))
		for j, r := range res.Relations[i] {
			predRels[j] = decode.Relation{Head: r.Head, Tail: r.Tail, Label: r.Label, Score: float32(r.Score)}
		}
		if err := rm.Add(exampleName(&exs[i], i), pred, predRels, gold, goldRels); err != nil {
			return nil, nil, fmt.Errorf("evaluate: %w", err)
		}
	}
	return m, rm, nil
}
