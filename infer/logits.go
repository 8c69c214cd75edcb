package infer

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/gliner-go/gliner/checkpoints"
)

// WriteLogits writes a run's raw logits to a safetensors file (F32,
// atomically). One batch is stored as the tensor "logits" in the
// reference's shape (span models (B, W, K, C), token models (B, W, C, 3));
// several batches (their W and C may differ) as "logits.0", "logits.1", …
// in batch order. The metadata holds "format": "pt", "labels" (the JSON
// list of class names, column c = class c+1) and, per tensor, "rows" /
// "rows.N": a JSON list of [input index, first word, words] per batch row
// (a long input cut into windows has several rows).
func WriteLogits(path string, batches []Logits) error {
	if len(batches) == 0 {
		return fmt.Errorf("write logits %s: no batches (no input had any words)", path)
	}
	md := map[string]string{"format": "pt"}
	labels, err := json.Marshal(batches[0].Labels)
	if err != nil {
		return err
	}
	md["labels"] = string(labels)
	ts := make([]checkpoints.Tensor, len(batches))
	for i, b := range batches {
		name, rowsKey := "logits", "rows"
		if len(batches) > 1 {
			name, rowsKey = "logits."+strconv.Itoa(i), "rows."+strconv.Itoa(i)
		}
		rows := make([][3]int, len(b.Rows))
		for j, r := range b.Rows {
			rows[j] = [3]int{r.Doc, r.FirstWord, r.Words}
		}
		rb, err := json.Marshal(rows)
		if err != nil {
			return err
		}
		md[rowsKey] = string(rb)
		ts[i] = checkpoints.Tensor{Name: name, Shape: b.Shape, Data: b.Data}
	}
	if err := checkpoints.WriteSafetensors(path, ts, md); err != nil {
		return fmt.Errorf("write logits: %w", err)
	}
	return nil
}
