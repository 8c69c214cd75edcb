package models

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gliner-go/gliner/data/tokenizer"
)

// LabelsTokenizerDir is the folder of a bi-encoder model folder that holds
// the labels encoder's tokenizer (the reference only names it by hub id).
const LabelsTokenizerDir = "labels_tokenizer"

// CheckLabelsTokenizer checks a bi-encoder's labels tokenizer, loaded from
// tokDir, against the checkpoint's labels encoder: every id it can produce
// must have a row in the labels encoder's word embeddings (its vocabulary,
// added tokens included, may not exceed labels_encoder_config.vocab_size;
// fewer is fine, as for models whose embedding table is padded). When tokDir
// also holds the labels encoder's config.json (a Hugging Face model folder
// such as a BGE download), its hidden_size and vocab_size must equal the
// checkpoint's labels_encoder_config. Errors name the folder.
func (m *Model) CheckLabelsTokenizer(tokDir string, tok tokenizer.Tokenizer) error {
	if m.labelsEncoder() == nil || m.LabelsEncCfg == nil {
		return fmt.Errorf("labels tokenizer %s: %v has no labels encoder", tokDir, m.Arch)
	}
	lc := m.LabelsEncCfg
	if n := tok.VocabSize(); n > lc.VocabSize {
		return fmt.Errorf("labels tokenizer %s: vocabulary of %d ids does not fit the checkpoint's labels encoder (%s.embeddings.word_embeddings.weight has %d rows): it is not this model's labels-encoder tokenizer",
			tokDir, n, LabelsEncoderPrefix, lc.VocabSize)
	}
	cp := filepath.Join(tokDir, "config.json")
	raw, err := os.ReadFile(cp)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("labels encoder folder: %w", err)
	}
	var c struct {
		HiddenSize int    `json:"hidden_size"`
		VocabSize  int    `json:"vocab_size"`
		ModelType  string `json:"model_type"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("labels encoder folder %s: %w", cp, err)
	}
	if c.HiddenSize != lc.HiddenSize || c.VocabSize != lc.VocabSize {
		return fmt.Errorf("labels encoder folder %s: hidden_size %d, vocab_size %d (%s) do not match the checkpoint's labels_encoder_config (hidden_size %d, vocab_size %d, %s): another labels encoder",
			cp, c.HiddenSize, c.VocabSize, c.ModelType, lc.HiddenSize, lc.VocabSize, lc.ModelType)
	}
	return nil
}
