package models

// UniEncoderSpan (gliner/modeling/base.py UniEncoderSpanModel): the text and
// the <<ENT>> prompt share one encoder; words go through the BiLSTM; markerV0
// spans are scored against the projected prompts.

type uniSpanHead struct {
	spanParts
	noPlan
}

func newUniSpan(m *Model) (archHead, error) {
	if err := firstErr(m.addTextEncoder, m.addRNN); err != nil {
		return nil, err
	}
	sp, err := m.newSpanParts()
	return &uniSpanHead{spanParts: sp}, err
}

func (h *uniSpanHead) build(b *builder) {
	tok := b.text("token_rep_layer_output")
	prompts := b.entPrompts(tok)
	words := b.applyRNN(b.keep("words_embedding_pre_rnn", b.words(tok)))
	b.keep("words_embedding_post_rnn", words)
	b.spanHead(h.spanParts, words, prompts, b.m.lossAsWritten)
}

// firstErr runs the steps in order and returns the first error.
func firstErr(steps ...func() error) error {
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}
