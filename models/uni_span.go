package models

// UniEncoderSpan (gliner/modeling/base.py UniEncoderSpanModel): the text and
// the <<ENT>> prompt share one encoder; words go through the BiLSTM; markerV0
// spans are scored against the projected prompts.

func initUniSpan(m *Model) error {
	return firstErr(m.addTextEncoder, m.addRNN, m.addSpanHead)
}

func buildUniSpan(b *builder) {
	tok := b.text("token_rep_layer_output")
	prompts := b.entPrompts(tok)
	words := b.applyRNN(b.keep("words_embedding_pre_rnn", b.words(tok)))
	b.keep("words_embedding_post_rnn", words)
	b.spanHead(words, prompts, b.m.lossAsWritten)
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
