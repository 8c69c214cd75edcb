package models

// BiEncoderToken (gliner/modeling/base.py BiEncoderTokenModel): the
// bi-encoder label and text paths of BiEncoderSpan (BiLSTM registered, not
// applied), then the Scorer on (words, pooled labels).

func initBiToken(m *Model) error {
	return firstErr(m.addTextEncoder, m.addLabelEncoder, m.addRNN, m.addScorer)
}

func buildBiToken(b *builder) {
	tok := b.text("token_rep_layer_output.0")
	prompts := b.labelPrompts()
	b.tokenHead(b.words(tok), prompts, b.m.lossAsWritten)
}
