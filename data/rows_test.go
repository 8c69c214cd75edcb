package data

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/internal/testutil"
)

// rowTensors lists a batch's per-example tensors by name.
func rowTensors(b *Batch) map[string]any {
	return map[string]any{
		"input_ids": b.InputIDs, "attention_mask": b.AttentionMask, "token_type_ids": b.TokenTypeIDs,
		"words_mask": b.WordsMask, "text_lengths": b.TextLengths, "span_idx": b.SpanIdx, "span_mask": b.SpanMask,
		"span_labels": b.SpanLabels, "labels": b.Labels, "adj_matrix": b.AdjMatrix, "rel_matrix": b.RelMatrix,
		"decoder_input_ids": b.DecoderInputIDs,
	}
}

func concatRows[T int64 | float32 | bool](t *testing.T, name string, whole, a, b Tensor[T], k, n int) {
	t.Helper()
	if whole.Shape == nil {
		if a.Shape != nil || b.Shape != nil {
			t.Fatalf("%s: absent tensor became %v, %v", name, a.Shape, b.Shape)
		}
		return
	}
	if a.Shape[0] != k || b.Shape[0] != n-k || !reflect.DeepEqual(a.Shape[1:], whole.Shape[1:]) || !reflect.DeepEqual(b.Shape[1:], whole.Shape[1:]) {
		t.Fatalf("%s: rows shapes %v and %v of %v split at %d", name, a.Shape, b.Shape, whole.Shape, k)
	}
	if got := append(append([]T(nil), a.Data...), b.Data...); !reflect.DeepEqual(got, whole.Data) {
		t.Fatalf("%s: the rows' values are not the batch's", name)
	}
}

// TestBatchRows splits each fixture model's collated training batch at
// every point: the two parts' tensors, concatenated, are the batch's
// (global padding kept), the per-example lists follow, the shared label
// tensors stay whole; span-decoder batches are refused.
func TestBatchRows(t *testing.T) {
	for _, name := range testutil.ModelFixtures {
		t.Run(name, func(t *testing.T) {
			c, fb := fixtureCollator(t, name, 1)
			opts := CollateOptions{Labels: idToClasses(t, fb.Collated["id_to_classes"]), Targets: true}
			if raw, ok := fb.Collated["rel_id_to_classes"]; ok {
				opts.RelLabels = idToClasses(t, raw)
			}
			b, err := c.Collate(fb.examples(t), opts)
			if err != nil {
				t.Fatal(err)
			}
			n := len(b.Words)
			if c.cfg.Architecture.Decoder() {
				if b.DecoderLabelsIDs.Shape == nil {
					t.Fatal("decoder fixture batch without label strings")
				}
				if _, err := b.Rows(0, 1); err == nil || !strings.Contains(err.Error(), "span-decoder") {
					t.Fatalf("decoder batch rows: %v, want refused", err)
				}
				return
			}
			if n < 2 {
				t.Fatalf("fixture batch has %d examples; the test needs two", n)
			}
			for k := 0; k <= n; k++ {
				a, err := b.Rows(0, k)
				if err != nil {
					t.Fatal(err)
				}
				z, err := b.Rows(k, n)
				if err != nil {
					t.Fatal(err)
				}
				wt, at, zt := rowTensors(b), rowTensors(a), rowTensors(z)
				for key, w := range wt {
					switch w := w.(type) {
					case Tensor[int64]:
						concatRows(t, key, w, at[key].(Tensor[int64]), zt[key].(Tensor[int64]), k, n)
					case Tensor[float32]:
						concatRows(t, key, w, at[key].(Tensor[float32]), zt[key].(Tensor[float32]), k, n)
					case Tensor[bool]:
						concatRows(t, key, w, at[key].(Tensor[bool]), zt[key].(Tensor[bool]), k, n)
					}
				}
				if !reflect.DeepEqual(append(append([][]string{}, a.Words...), z.Words...), b.Words) ||
					!reflect.DeepEqual(append(append([][]string{}, a.IDToClass...), z.IDToClass...), b.IDToClass) ||
					!reflect.DeepEqual(append(append([]int{}, a.TokenLengths...), z.TokenLengths...), b.TokenLengths) {
					t.Fatalf("split at %d: per-example lists differ", k)
				}
				if a.NumWords != b.NumWords || a.NumClasses != b.NumClasses || !reflect.DeepEqual(a.LabelsInputIDs, b.LabelsInputIDs) {
					t.Fatalf("split at %d: global dimensions or label tensors changed", k)
				}
			}
			if _, err := b.Rows(1, n+1); err == nil {
				t.Fatal("rows past the batch accepted")
			}
		})
	}
}
