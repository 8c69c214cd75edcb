package models

// UniEncoderToken (gliner/modeling/base.py UniEncoderTokenModel): the
// uni-encoder text/prompt path and BiLSTM, then the Scorer on (words, raw
// prompts); no prompt_rep_layer.

func initUniToken(m *Model) error {
	return firstErr(m.addTextEncoder, m.addRNN, m.addScorer)
}

func buildUniToken(b *builder) {
	tok := b.text("token_rep_layer_output")
	prompts := b.entPrompts(tok)
	words := b.applyRNN(b.keep("words_embedding_pre_rnn", b.words(tok)))
	b.keep("words_embedding_post_rnn", words)
	b.tokenHead(words, prompts, b.m.lossAsWritten)
}
