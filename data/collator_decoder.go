package data

import (
	"fmt"
	"sort"
)

// blankEntity is the single class of the span decoder's blank draw.
const blankEntity = "entity"

// decoderSpan is one positive span of a decoder batch: example, flat span
// index and its (first) gold label.
type decoderSpan struct {
	ex, flat int
	label    string
}

// buildDecoderInputs fills the span decoder's tensors (processor.py
// UniEncoderSpanDecoderProcessor.tokenize_inputs and create_labels): the
// prompt and text tokenized by the decoder tokenizer with a words mask over
// every text sub-token, and in training the label strings of the positive
// spans.
func (c *Collator) buildDecoderInputs(b *Batch, ents [][]string, targets bool) error {
	bs := b.B()
	ids := make([][]int, bs)
	masks := make([][]int64, bs)
	td := 0
	for i := range bs {
		prompt := c.prompt(ents[i], nil)
		seq := append(prompt, b.Words[i]...)
		id, wid, err := c.auxTok.EncodeWords(seq)
		if err != nil {
			return fmt.Errorf("%s: decoder tokenizer: %w", b.Sources[i], err)
		}
		if len(id) != len(wid) {
			return fmt.Errorf("%s: decoder tokenizer returned %d ids but %d word ids", b.Sources[i], len(id), len(wid))
		}
		m := make([]int64, len(id))
		for j, w := range wid {
			if w >= len(prompt) {
				m[j] = int64(w - len(prompt) + 1)
			}
		}
		ids[i], masks[i] = id, m
		td = max(td, len(id))
	}
	pad := int64(c.auxTok.SpecialIDs().Pad)
	b.DecoderInputIDs = NewTensor[int64](bs, td)
	b.DecoderAttentionMask = NewTensor[int64](bs, td)
	b.DecoderWordsMask = NewTensor[int64](bs, td)
	for i := range bs {
		if len(ids[i]) < td && pad < 0 {
			return fmt.Errorf("%s: decoder tokenizer has no pad token", b.Sources[i])
		}
		for j := range td {
			if j < len(ids[i]) {
				b.DecoderInputIDs.Data[i*td+j] = int64(ids[i][j])
				b.DecoderAttentionMask.Data[i*td+j] = 1
				b.DecoderWordsMask.Data[i*td+j] = masks[i][j]
			} else {
				b.DecoderInputIDs.Data[i*td+j] = pad
			}
		}
	}
	if !targets {
		return nil
	}

	spans := b.decoderSpans
	sort.SliceStable(spans, func(x, y int) bool {
		if spans[x].ex != spans[y].ex {
			return spans[x].ex < spans[y].ex
		}
		return spans[x].flat < spans[y].flat
	})
	labels := make([]string, len(spans))
	for i, s := range spans {
		labels[i] = s.label
	}
	if len(labels) == 0 {
		labels = []string{"other"}
	}
	var err error
	if b.DecoderLabelsIDs, b.DecoderLabelsMask, err = EncodeLabels(c.auxTok, "decoder tokenizer", labels); err != nil {
		return err
	}
	b.DecoderLabels = Tensor[int64]{Shape: append([]int(nil), b.DecoderLabelsIDs.Shape...),
		Data: append([]int64(nil), b.DecoderLabelsIDs.Data...)}
	return nil
}
