package finetune

import (
	"fmt"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/models"
)

// Evaluate scores a model on exs the way the reference's evaluator does
// (gliner/evaluation/evaluator.py in urchade/GLiNER c2bb58d): every text
// is collated for inference with the same label set and decoded by the
// model's own decoding (models.Model.Decode: span models threshold the
// span grid, token models pair start and end words inside each text),
// flat, probability > threshold; predictions are compared as (label,
// start, end) sets with the gold entities. Batches hold batchSize texts.
//
// It returns the metrics and the predictions: pred[i] are the entities
// decoded for exs[i] (word indices, end inclusive, with label and score),
// the very spans the metrics counted.
func Evaluate(m *models.Model, col *data.Collator, exs []data.Example, labels []string, batchSize int, threshold float64) (met *decode.Metrics, pred [][]decode.Span, err error) {
	if batchSize < 1 {
		return nil, nil, fmt.Errorf("evaluate: batch size %d < 1", batchSize)
	}
	if len(labels) == 0 {
		return nil, nil, fmt.Errorf("evaluate: empty label set")
	}
	met = decode.NewMetrics()
	pred = make([][]decode.Span, 0, len(exs))
	opts := decode.Options{Threshold: threshold, FlatNER: true}
	for lo := 0; lo < len(exs); lo += batchSize {
		chunk := exs[lo:min(lo+batchSize, len(exs))]
		where := fmt.Sprintf("examples %d-%d", lo, lo+len(chunk)-1)
		b, err := col.Inference(chunk, labels, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("evaluate: %s: %w", where, err)
		}
		out, err := m.Forward(b)
		if err != nil {
			return nil, nil, fmt.Errorf("evaluate: %s: forward: %w", where, err)
		}
		got, err := m.Decode(out, b, opts)
		if err != nil {
			return nil, nil, fmt.Errorf("evaluate: %s: %w", where, err)
		}
		if len(got) != len(chunk) {
			return nil, nil, fmt.Errorf("evaluate: %s: decoded %d texts of %d", where, len(got), len(chunk))
		}
		gold := make([][]decode.Span, len(chunk))
		for i, ex := range chunk {
			for _, e := range ex.Entities {
				gold[i] = append(gold[i], decode.Span{Start: e.Start, End: e.End, Label: e.Label})
			}
		}
		if err := met.AddBatch(got, gold); err != nil {
			return nil, nil, fmt.Errorf("evaluate: %s: %w", where, err)
		}
		pred = append(pred, got...)
	}
	return met, pred, nil
}
