package infer

import (
	"fmt"
	"sort"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
)

// DataLabels returns the distinct entity labels of exs, sorted: the label
// set an evaluation uses when none is given.
func DataLabels(exs []data.Example) []string {
	seen := map[string]bool{}
	var out []string
	for _, ex := range exs {
		for _, e := range ex.Entities {
			if !seen[e.Label] {
				seen[e.Label] = true
				out = append(out, e.Label)
			}
		}
	}
	sort.Strings(out)
	return out
}

// EvalOptions are the reference's model.evaluate defaults: threshold 0.5,
// nested decoding (flat_ner false), single label; batches of 8.
func EvalOptions() Options {
	o := DefaultOptions()
	o.FlatNER = false
	return o
}

// Evaluate predicts entities of labels (nil: DataLabels(exs)) on exs and
// scores them against the examples' gold entities as the reference's
// evaluator does (§7): (label, start word, end word, document) sets,
// micro and per-label precision, recall and F1. Gold entities of labels
// outside the label set still count (as misses).
func (p *Pipeline) Evaluate(exs []data.Example, labels []string, o Options) (*decode.Metrics, error) {
	if labels == nil {
		labels = DataLabels(exs)
		if len(labels) == 0 {
			return nil, fmt.Errorf("evaluate: the data has no entities, so no labels to evaluate (give labels)")
		}
	}
	res, err := p.PredictExamples(exs, labels, o)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
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
	}
	return m, nil
}
