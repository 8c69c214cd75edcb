package models

import "github.com/gliner-go/gliner/losses"

// BiEncoderSpan (gliner/modeling/base.py BiEncoderSpanModel): labels encoded
// separately and mean-pooled, the text encoded alone; the BiLSTM is
// registered (its weights load and save) but, as in the reference, not
// applied; then the span head of UniEncoderSpan.

func initBiSpan(m *Model) error {
	return firstErr(m.addTextEncoder, m.addLabelEncoder, m.addRNN, m.addSpanHead)
}

func buildBiSpan(b *builder) {
	tok := b.text("token_rep_layer_output.0")
	prompts := b.labelPrompts()
	b.spanHead(b.words(tok), prompts, b.m.biSpanLoss)
}

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
