package models

import (
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/losses"
)

// BiEncoderSpan (gliner/modeling/base.py BiEncoderSpanModel): labels encoded
// separately and mean-pooled, the text encoded alone; the BiLSTM is
// registered (its weights load and save) but, as in the reference, not
// applied; then the span head of UniEncoderSpan.

type biSpanHead struct {
	labelsPart
	spanParts
}

func newBiSpan(m *Model) (archHead, error) {
	lp, err := m.newBiEncoderParts()
	if err != nil {
		return nil, err
	}
	sp, err := m.newSpanParts()
	return &biSpanHead{labelsPart: lp, spanParts: sp}, err
}

func (h *biSpanHead) build(b *builder) {
	if b.k.labelsOnly {
		h.buildLabelsOnly(b)
		return
	}
	tok := b.text("token_rep_layer_output.0")
	prompts := b.labelPrompts(h.labels)
	b.spanHead(h.spanParts, b.words(tok), prompts, b.m.biSpanLoss)
}

func (h *biSpanHead) bind(*Model, *compiled, shapeKey, *data.Batch, *batchPlan) error { return nil }

// biSpanLoss is the loss the bi-encoder span head uses: the settings as
// written, or under Loss.ReferenceCompat the reference's positional slip that
// turns label smoothing into the probability margin
// (BiEncoderSpanModel.loss).
func (m *Model) biSpanLoss() losses.Options {
	if m.Loss.ReferenceCompat {
		return m.Loss.SmoothingAsMargin()
	}
	return m.Loss
}
