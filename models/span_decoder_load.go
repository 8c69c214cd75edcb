package models

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gliner-go/gliner/data/tokenizer"
)

// DecoderTokenizerDir is the folder of a model folder that holds the
// labels decoder's tokenizer (as the reference's save_pretrained writes it).
const DecoderTokenizerDir = "decoder_tokenizer"

// LoadDecoderTokenizer reads the labels decoder's tokenizer of a model
// folder (dir/decoder_tokenizer) and checks it against the model's
// decoder: its vocabulary (added tokens included) must have exactly as
// many ids as the decoder's embedding rows, and it must know the decoder's
// end token. The error names the tokenizer folder.
func (m *Model) LoadDecoderTokenizer(dir string) (*tokenizer.BPE, error) {
	return m.CheckDecoderTokenizer(filepath.Join(dir, DecoderTokenizerDir))
}

// CheckDecoderTokenizer loads a Hugging Face GPT-2 tokenizer folder and
// checks it against the model's decoder (see LoadDecoderTokenizer).
func (m *Model) CheckDecoderTokenizer(tokDir string) (*tokenizer.BPE, error) {
	d := m.decoder()
	if d == nil {
		return nil, fmt.Errorf("decoder tokenizer %s: %v has no labels decoder", tokDir, m.Arch)
	}
	if st, err := os.Stat(tokDir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("decoder tokenizer %s: not a folder (a model folder keeps the decoder's tokenizer in %s/)", tokDir, DecoderTokenizerDir)
	}
	tok, err := tokenizer.Load(tokDir)
	if err != nil {
		return nil, fmt.Errorf("decoder tokenizer: %w", err)
	}
	bpe, ok := tok.(*tokenizer.BPE)
	if !ok {
		return nil, fmt.Errorf("decoder tokenizer %s: a %T, want a byte-level BPE (GPT-2) tokenizer", tokDir, tok)
	}
	if n, want := tok.VocabSize(), d.Cfg.VocabSize; n != want {
		return nil, fmt.Errorf("decoder tokenizer %s: vocabulary of %d ids does not match the checkpoint's decoder (%s.transformer.wte.weight has %d rows)",
			tokDir, n, DecoderPrefix, want)
	}
	if sp := tok.SpecialIDs(); int64(sp.SEP) != d.eos && int64(sp.Pad) != d.eos {
		return nil, fmt.Errorf("decoder tokenizer %s: end token id %d (eos) / pad %d differ from the decoder config's eos_token_id %d",
			tokDir, sp.SEP, sp.Pad, d.eos)
	}
	return bpe, nil
}
