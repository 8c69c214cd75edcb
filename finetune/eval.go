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
func Evaluate(m *models.Model, col *data.Collator, exs []data.Example, labels []string, batchSize int, threshold float64) (*decode.Metrics, error) {
	if batchSize < 1 {
		return nil, fmt.Errorf("evaluate: batch size %d < 1", batchSize)
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("evaluate: empty label set")
	}
	met := decode.NewMetrics()
	opts := decode.Options{Threshold: threshold, FlatNER: true}
	for lo := 0; lo < len(exs); lo += batchSize {
		chunk := exs[lo:min(lo+batchSize, len(exs))]
		where := fmt.Sprintf("examples %d-%d", lo, lo+len(chunk)-1)
		b, err := col.Inference(chunk, labels, nil)
		if err != nil {
			return nil, fmt.Errorf("evaluate: %s: %w", where, err)
		}
		out, err := m.Forward(b)
		if err != nil {
			return nil, fmt.Errorf("evaluate: %s: forward: %w", where, err)
		}
		pred, err := m.Decode(out, b, opts)
		if err != nil {
			return nil, fmt.Errorf("evaluate: %s: %w", where, err)
		}
		if len(pred) != len(chunk) {
			return nil, fmt.Errorf("evaluate: %s: decoded %d texts of %d", where, len(pred), len(chunk))
		}
		gold := make([][]decode.Span, len(chunk))
		for i, ex := range chunk {
			for _, e := range ex.Entities {
				gold[i] = append(gold[i], decode.Span{Start: e.Start, End: e.End, Label: e.Label})
			}
		}
		if err := met.AddBatch(pred, gold); err != nil {
			return nil, fmt.Errorf("evaluate: %w", err)
		}
	}
	return met, nil
}
