package models

// UniEncoderToken (gliner/modeling/base.py UniEncoderTokenModel): the
// uni-encoder text/prompt path and BiLSTM, then the Scorer on (words, raw
// prompts); no prompt_rep_layer.

type uniTokenHead struct {
	scorerPart
	noPlan
}

func newUniToken(m *Model) (archHead, error) {
	if err := firstErr(m.addTextEncoder, m.addRNN); err != nil {
		return nil, err
	}
	sc, err := m.newScorerPart()
	return &uniTokenHead{scorerPart: sc}, err
}

func (h *uniTokenHead) build(b *builder) {
	tok := b.text("token_rep_layer_output")
	prompts := b.entPrompts(tok)
	words := b.applyRNN(b.keep("words_embedding_pre_rnn", b.words(tok)))
	b.keep("words_embedding_post_rnn", words)
	b.tokenHead(h.scorer, words, prompts, b.m.lossAsWritten)
}
