package finetune

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/models"
	"github.com/gliner-go/gliner/models/encoder"
)

// BiEncoderSection (model.bi_encoder) makes a new model a bi-encoder
// (BiEncoderSpan, or BiEncoderToken with span_mode token_level;
// gliner/modeling/base.py BiEncoderSpanModel, BiEncoderTokenModel): the entity types go through their own labels encoder,
// mean-pooled, instead of the text prompt. The labels encoder is either a
// local Hugging Face encoder folder (LabelsEncoder: config.json, weights
// and tokenizer files, e.g. a BGE download), loaded as the reference's
// BiEncoder loads config.labels_encoder (gliner/modeling/encoder.py
// BiEncoder.__init__, Transformer with labels_encoder=True), its tokenizer
// taken from the same folder without GLiNER's added tokens
// (gliner/model.py BaseBiEncoderGLiNER._create_data_processor); or random
// (LabelsEncoderConfig: a Hugging Face BERT-family config; vocab_size is
// filled in), with its own WordPiece tokenizer over the vocabulary built
// from the training words and the label words (without GLiNER's added
// tokens). Either text encoder source (model.model_name or
// model.encoder_config) goes with either labels encoder. The model folder
// keeps the labels tokenizer in labels_tokenizer/. A bi-encoder given by
// model.prev_path needs no section: its folder says what it is. Only
// LabelsEncoder is read then, as the labels tokenizer's folder when the
// model folder has no labels_tokenizer/ and its gliner_config.json's
// labels_encoder is no local folder (a folder the reference wrote).
type BiEncoderSection struct {
	LabelsEncoder       string         `yaml:"labels_encoder"`
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
	if isNone(m.PrevPath) && isNone(s.LabelsEncoder) == (len(s.LabelsEncoderConfig) == 0) {
		return fmt.Errorf("model.bi_encoder: set exactly one of labels_encoder (a Hugging Face encoder folder) and labels_encoder_config (a random labels encoder)")
	}
	if x, ok := s.LabelsEncoderConfig["vocab_size"]; ok && x != nil {
		return fmt.Errorf("model.bi_encoder.labels_encoder_config.vocab_size %v: leave it out, it is the size of the vocabulary built from the training data", x)
	}
	return nil
}

// preparedBiEncoder is a labels encoder ready to attach to a new model.
type preparedBiEncoder struct {
	name string // gliner_config.json labels_encoder
	dir  string // the Hugging Face folder ("" for a random labels encoder)
	cfg  []byte // labels_encoder_config
	tok  tokenizer.Tokenizer
	pre  *encoder.Pretrained // nil for a random labels encoder
}

// prepareBiEncoder loads the labels encoder's folder (weights, config and
// tokenizer) or renders a random one's config over a WordPiece vocabulary
// from vocab (called only then); nil without model.bi_encoder.
func prepareBiEncoder(s *BiEncoderSection, vocab func() ([]string, bool, error)) (*preparedBiEncoder, error) {
	if s == nil {
		return nil, nil
	}
	if !isNone(s.LabelsEncoder) {
		dir := s.LabelsEncoder
		pre, err := encoder.LoadPretrained(dir)
		if err != nil {
			return nil, fmt.Errorf("model.bi_encoder.labels_encoder: %w", err)
		}
		tok, err := tokenizer.Load(dir)
		if err != nil {
			return nil, fmt.Errorf("model.bi_encoder.labels_encoder: %w", err)
		}
		raw, err := json.Marshal(pre.Config)
		if err != nil {
			return nil, fmt.Errorf("model.bi_encoder.labels_encoder %s: config: %w", dir, err)
		}
		return &preparedBiEncoder{name: dir, dir: dir, cfg: raw, tok: tok, pre: pre}, nil
	}
	words, lowercase, err := vocab()
	if err != nil {
		return nil, err
	}
	ltok, err := tokenizer.NewBertWordPiece(words, lowercase)
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
	return &preparedBiEncoder{name: "random-" + fmt.Sprint(lc["model_type"]), cfg: raw, tok: ltok}, nil
}

// apply makes a new model's config a bi-encoder one (labels_encoder and
// labels_encoder_config, which choose BiEncoderSpan or BiEncoderToken).
func (p *preparedBiEncoder) apply(cfg *models.Config) {
	if p == nil {
		return
	}
	name := p.name
	cfg.LabelsEncoder = &name
	cfg.LabelsEncoderConfig = p.cfg
}

// load copies a pretrained labels encoder's weights into the new model
// (token_rep_layer.labels_projection, when there is one, keeps its random
// initialisation, as in the reference's BiEncoder.__init__) and checks
// the labels tokenizer against it; it returns the labels tokenizer.
func (p *preparedBiEncoder) load(mod *models.Model) (tokenizer.Tokenizer, error) {
	if p == nil {
		return nil, nil
	}
	if p.pre != nil {
		if err := loadEncoderWeights(mod, p.pre, models.LabelsEncoderPrefix); err != nil {
			return nil, fmt.Errorf("model.bi_encoder.labels_encoder: %w", err)
		}
		if err := mod.CheckLabelsTokenizer(p.dir, p.tok); err != nil {
			return nil, fmt.Errorf("model.bi_encoder.labels_encoder: %w", err)
		}
	}
	return p.tok, nil
}

// loadEncoderWeights replaces the random initialisation of the encoder
// under prefix with a Hugging Face folder's weights; every other parameter
// keeps its own. A BERT pooler the folder lacks (a masked-LM checkpoint)
// stays random, as transformers' from_pretrained leaves it (GLiNER never
// uses it).
func loadEncoderWeights(mod *models.Model, pre *encoder.Pretrained, prefix string) error {
	allow := []string{prefix + ".pooler."}
	for _, p := range mod.Store.Params() {
		if !strings.HasPrefix(p.Name, prefix+".") {
			allow = append(allow, p.Name)
		}
	}
	return mod.Store.LoadState(pre.State(prefix), nil, checkpoints.LoadOptions{AllowMissing: allow})
}

// loadGLiNERLabelsTokenizer finds and loads a bi-encoder folder's labels
// tokenizer and checks it against the checkpoint (nil for other
// architectures): the folder's labels_tokenizer/ (this package's exports),
// else the folder gliner_config.json's labels_encoder names when it is a
// local folder, relative to the model folder and then as given (the
// reference loads the labels tokenizer from config.labels_encoder:
// gliner/model.py BaseBiEncoderGLiNER._create_data_processor), else
// hint, the recipe's model.bi_encoder.labels_encoder.
func loadGLiNERLabelsTokenizer(mod *models.Model, dir, hint string) (tokenizer.Tokenizer, error) {
	if !mod.Arch.BiEncoder() {
		return nil, nil
	}
	isDir := func(p string) bool { st, err := os.Stat(p); return err == nil && st.IsDir() }
	ld := filepath.Join(dir, models.LabelsTokenizerDir)
	var tried []string
	found := isDir(ld)
	if !found {
		tried = append(tried, ld)
		if le := mod.Cfg.LabelsEncoder; le != nil && !isNone(*le) {
			cands := []string{*le}
			if !filepath.IsAbs(*le) {
				cands = []string{filepath.Join(dir, *le), *le}
			}
			for _, c := range cands {
				if isDir(c) {
					ld, found = c, true
					break
				}
				tried = append(tried, c)
			}
		}
	}
	if !found && !isNone(hint) {
		if !isDir(hint) {
			return nil, fmt.Errorf("model.bi_encoder.labels_encoder %s: not a folder (the labels tokenizer of the model.prev_path bi-encoder %s)", hint, dir)
		}
		ld, found = hint, true
	}
	if !found {
		return nil, fmt.Errorf("model.prev_path %s: %v needs its labels encoder's tokenizer, not found in %s; set model.bi_encoder.labels_encoder to the labels encoder's folder (its tokenizer files)",
			dir, mod.Arch, strings.Join(tried, ", "))
	}
	ltok, err := tokenizer.Load(ld)
	if err != nil {
		return nil, fmt.Errorf("model.prev_path %s: labels tokenizer: %w", dir, err)
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
