package data

import "fmt"

// Rows returns examples [lo, hi) of the batch as a batch of their own, for
// data-parallel training: every rank collates the same global batch (so the
// class lists, negative types and the collator's random stream are those of
// the single-process run) and trains on its rows. The padded dimensions (T,
// W, K, C, and the relation model's entity and pair axes) stay those of the
// global batch, so each row's tensors are bit for bit the ones it has in the
// global batch. The bi-encoder's label tensors (one row per class) are
// shared by all rows and kept whole. Decoder batches, whose label-string
// tensors are laid out over the positive spans of the whole batch, are not
// supported.
func (b *Batch) Rows(lo, hi int) (*Batch, error) {
	n := len(b.Words)
	if lo < 0 || hi < lo || hi > n {
		return nil, fmt.Errorf("batch rows [%d,%d) of %d examples", lo, hi, n)
	}
	if b.DecoderLabelsIDs.Shape != nil || len(b.decoderSpans) > 0 {
		return nil, fmt.Errorf("batch rows: a span-decoder batch cannot be split over data-parallel ranks")
	}
	out := *b
	var err error
	for _, t := range []struct {
		dst *Tensor[int64]
		src Tensor[int64]
	}{
		{&out.InputIDs, b.InputIDs}, {&out.AttentionMask, b.AttentionMask}, {&out.TokenTypeIDs, b.TokenTypeIDs},
		{&out.WordsMask, b.WordsMask}, {&out.TextLengths, b.TextLengths}, {&out.SpanIdx, b.SpanIdx},
		{&out.DecoderInputIDs, b.DecoderInputIDs}, {&out.DecoderAttentionMask, b.DecoderAttentionMask},
		{&out.DecoderWordsMask, b.DecoderWordsMask},
	} {
		if *t.dst, err = tensorRows(t.src, lo, hi, n); err != nil {
			return nil, err
		}
	}
	for _, t := range []struct {
		dst *Tensor[float32]
		src Tensor[float32]
	}{{&out.SpanLabels, b.SpanLabels}, {&out.Labels, b.Labels}, {&out.AdjMatrix, b.AdjMatrix}, {&out.RelMatrix, b.RelMatrix}} {
		if *t.dst, err = tensorRows(t.src, lo, hi, n); err != nil {
			return nil, err
		}
	}
	if out.SpanMask, err = tensorRows(b.SpanMask, lo, hi, n); err != nil {
		return nil, err
	}
	out.IDToClass = sliceRows(b.IDToClass, lo, hi)
	out.RelIDToClass = sliceRows(b.RelIDToClass, lo, hi)
	out.Words = sliceRows(b.Words, lo, hi)
	out.Entities = sliceRows(b.Entities, lo, hi)
	out.TokenLengths = sliceRows(b.TokenLengths, lo, hi)
	out.PromptLengths = sliceRows(b.PromptLengths, lo, hi)
	out.Sources = sliceRows(b.Sources, lo, hi)
	return &out, nil
}

func tensorRows[T int64 | float32 | bool](t Tensor[T], lo, hi, n int) (Tensor[T], error) {
	if t.Shape == nil {
		return t, nil
	}
	if len(t.Shape) == 0 || t.Shape[0] != n {
		return Tensor[T]{}, fmt.Errorf("batch rows: tensor of shape %v does not have the batch's %d rows first", t.Shape, n)
	}
	per := 0
	if n > 0 {
		per = len(t.Data) / n
	}
	shape := append([]int{hi - lo}, t.Shape[1:]...)
	return Tensor[T]{Shape: shape, Data: append([]T(nil), t.Data[lo*per:hi*per]...)}, nil
}

func sliceRows[T any](s []T, lo, hi int) []T {
	if s == nil {
		return nil
	}
	return append([]T(nil), s[lo:hi]...)
}
