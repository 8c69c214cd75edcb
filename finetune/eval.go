package finetune

import (
	"fmt"
	"math"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/models"
)

// Evaluate scores a span model on exs the way the reference's evaluator
// does (spec §7): every text is collated for inference with the same
// label set, probabilities are sigmoid(logits), spans are decoded
// greedily (flat, probability > threshold) and compared as (label, start,
// end) sets with the gold entities. Batches hold batchSize texts.
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
		b, err := col.Inference(chunk, labels, nil)
		if err != nil {
			return nil, fmt.Errorf("evaluate: examples %d-%d: %w", lo, lo+len(chunk)-1, err)
		}
		out, err := m.Forward(b)
		if err != nil {
			return nil, fmt.Errorf("evaluate: examples %d-%d: forward: %w", lo, lo+len(chunk)-1, err)
		}
		s := out.Logits.Shape
		if len(s) != 4 || s[0] != len(chunk) || s[3] != len(labels) {
			return nil, fmt.Errorf("evaluate: logits shape %v, want (B=%d, W, K, C=%d)", s, len(chunk), len(labels))
		}
		probs := make([]float32, len(out.Logits.F))
		for i, x := range out.Logits.F {
			probs[i] = float32(1 / (1 + math.Exp(-float64(x))))
		}
		nw := make([]int, len(chunk))
		for i := range nw {
			nw[i] = int(b.TextLengths.Data[i])
		}
		pred, err := decode.SpanBatch(probs, s[0], s[1], s[2], s[3], nw, [][]string{labels}, opts)
		if err != nil {
			return nil, fmt.Errorf("evaluate: examples %d-%d: %w", lo, lo+len(chunk)-1, err)
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
