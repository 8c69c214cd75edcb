package models

import "github.com/gliner-go/gliner/data"

// BiEncoderToken (gliner/modeling/base.py BiEncoderTokenModel): the
// bi-encoder label and text paths of BiEncoderSpan (BiLSTM registered, not
// applied), then the Scorer on (words, pooled labels).

type biTokenHead struct {
	labelsPart
	scorerPart
}

func newBiToken(m *Model) (archHead, error) {
	lp, err := m.newBiEncoderParts()
	if err != nil {
		return nil, err
	}
	sc, err := m.newScorerPart()
	return &biTokenHead{labelsPart: lp, scorerPart: sc}, err
}

func (h *biTokenHead) build(b *builder) {
	if b.k.labelsOnly {
		h.buildLabelsOnly(b)
		return
	}
	tok := b.text("token_rep_layer_output.0")
	prompts := b.labelPrompts(h.labels)
	b.tokenHead(h.scorer, b.words(tok), prompts, b.m.lossAsWritten)
}

func (h *biTokenHead) bind(*Model, *compiled, shapeKey, *data.Batch, *batchPlan) error { return nil }
