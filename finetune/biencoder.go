package finetune

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/models"
	"github.com/gliner-go/gliner/models/encoder"
)

// BiEncoderSection (model.bi_encoder) makes a new model a BiEncoderSpan
// (gliner/modeling/base.py BiEncoderSpanModel): the entity types go through
// their own labels encoder, mean-pooled, instead of the text prompt. With
// model.encoder_config the labels encoder is random too, from
// LabelsEncoderConfig (a Hugging Face BERT-family config; vocab_size is
// filled in), with its own WordPiece tokenizer over the vocabulary built from
// the training words and the label words (without GLiNER's added tokens). The
// model folder keeps that tokenizer in labels_tokenizer/. A bi-encoder given
// by model.prev_path needs no section: its folder says what it is.
type BiEncoderSection struct {
	LabelsEncoderConfig map[string]any `yaml:"labels_encoder_config"`
}

// UnmarshalYAML rejects unknown keys.
func (s *BiEncoderSection) UnmarshalYAML(n *yaml.Node) error {
	if err := checkSectionKeys(n, reflect.TypeOf(BiEncoderSection{}), "model.bi_encoder", "model.bi_encoder"); err != nil {
		return err
	}
	type plain BiEncoderSection
	return n.Decode((*plain)(s))
}

func (s *BiEncoderSection) validate(m *ModelSection) error {
	if m.Relex != nil || m.Decoder != nil {
		return fmt.Errorf("model.bi_encoder cannot be combined with model.relex or model.decoder")
	}
	if !isNone(m.ModelName) {
		return fmt.Errorf("model.bi_encoder with model.model_name is not supported yet: use model.encoder_config (random encoders) or a bi-encoder prev_path")
	}
	if len(m.EncoderConfig) > 0 && len(s.LabelsEncoderConfig) == 0 {
		return fmt.Errorf("model.bi_encoder.labels_encoder_config is required with model.encoder_config (a random labels encoder)")
	}
	if x, ok := s.LabelsEncoderConfig["vocab_size"]; ok && x != nil {
		return fmt.Errorf("model.bi_encoder.labels_encoder_config.vocab_size %v: leave it out, it is the size of the vocabulary built from the training data", x)
	}
	return nil
}

// applyBiEncoder turns a new model's config into a BiEncoderSpan one with
// a random labels encoder over vocab and returns the labels tokenizer (nil
// without model.bi_encoder).
func applyBiEncoder(cfg *models.Config, s *BiEncoderSection, vocab []string, lowercase bool) (tokenizer.Tokenizer, error) {
	if s == nil {
		return nil, nil
	}
	ltok, err := tokenizer.NewBertWordPiece(vocab, lowercase)
	if err != nil {
		return nil, fmt.Errorf("model.bi_encoder: labels tokenizer: %w", err)
	}
	lc := map[string]any{}
	for k, x := range s.LabelsEncoderConfig {
		lc[k] = x
	}
	lc["vocab_size"] = ltok.VocabSize()
	if _, ok := lc["pad_token_id"]; !ok {
		lc["pad_token_id"] = 0
	}
	raw, err := json.Marshal(lc)
	if err != nil {
		return nil, fmt.Errorf("model.bi_encoder.labels_encoder_config: %w", err)
	}
	if _, err := encoder.ParseConfig(raw); err != nil {
		return nil, fmt.Errorf("model.bi_encoder.labels_encoder_config: %w", err)
	}
	name := "random-" + fmt.Sprint(lc["model_type"])
	cfg.LabelsEncoder = &name
	cfg.LabelsEncoderConfig = raw
	return ltok, nil
}

// loadGLiNERLabelsTokenizer reads a bi-encoder folder's labels_tokenizer/
// and checks it against the checkpoint (nil for other architectures).
func loadGLiNERLabelsTokenizer(mod *models.Model, dir string) (tokenizer.Tokenizer, error) {
	if !mod.Arch.BiEncoder() {
		return nil, nil
	}
	ld := filepath.Join(dir, models.LabelsTokenizerDir)
	if st, err := os.Stat(ld); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("model.prev_path %s: %v needs its labels encoder's tokenizer in %s", dir, mod.Arch, ld)
	}
	ltok, err := tokenizer.Load(ld)
	if err != nil {
		return nil, fmt.Errorf("model.prev_path: %w", err)
	}
	if err := mod.CheckLabelsTokenizer(ld, ltok); err != nil {
		return nil, fmt.Errorf("model.prev_path: %w", err)
	}
	return ltok, nil
}

// labelWords are the words of every entity label in exs, for the
// vocabulary of a random labels encoder.
func labelWords(sets ...[]data.Example) [][]string {
	seen := map[string]bool{}
	var out [][]string
	for _, exs := range sets {
		for _, ex := range exs {
			for _, e := range ex.Entities {
				if !seen[e.Label] {
					seen[e.Label] = true
					out = append(out, strings.Fields(e.Label))
				}
			}
		}
	}
	return out
}

// auxTokenizer is the second tokenizer the collator and export need: the
// labels encoder's (bi-encoders) or the labels decoder's (span decoder).
func (b *Built) auxTokenizer() tokenizer.Tokenizer {
	if b.LabelsTokenizer != nil {
		return b.LabelsTokenizer
	}
	return b.DecoderTokenizer
}
