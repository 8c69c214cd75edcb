package finetune

import (
	"encoding/json"
	"fmt"
	"reflect"

	"go.yaml.in/yaml/v3"

	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/models"
	"github.com/gliner-go/gliner/models/encoder"
)

// DecoderSection (model.decoder) makes a new model a UniEncoderSpanDecoder: a
// GPT-2 labels decoder learns to generate each entity's type from its span
// (gliner/modeling/base.py UniEncoderSpanDecoderModel). The decoder comes
// from a Hugging Face GPT-2 folder (path) or is initialised randomly from a
// GPT-2 config (config, with the tokenizer of the tokenizer folder;
// vocab_size and the end-token ids are filled in from it). The other names
// are gliner_config.json fields; a field left out takes
// DefaultDecoderSection's value.
type DecoderSection struct {
	// Path is a local Hugging Face GPT-2 folder (config.json, weights,
	// vocab.json, merges.txt).
	Path string `yaml:"path"`
	// Config is a GPT-2 config.json as a mapping, for a random decoder.
	Config map[string]any `yaml:"config"`
	// Tokenizer is the decoder tokenizer's folder (default: Path).
	Tokenizer string `yaml:"tokenizer"`
	// DecoderMode is "span" (prefix = span vector + the span's words;
	// generated labels enrich the entities) or "prompt" (gliner-go's own:
	// prefix = span vector; generated labels replace the types).
	DecoderMode string `yaml:"decoder_mode"`
	// FullDecoderContext puts the span's words in the prefix (span mode).
	FullDecoderContext bool `yaml:"full_decoder_context"`
	// Total loss = decoder_loss_coef·decoder + span_loss_coef·span.
	DecoderLossCoef float64 `yaml:"decoder_loss_coef"`
	SpanLossCoef    float64 `yaml:"span_loss_coef"`
	// BlankEntityProb is the per-batch probability of the blank draw
	// (prompt "<<ENT>> entity <<SEP>>", the decoder still learning the
	// true label).
	BlankEntityProb float64 `yaml:"blank_entity_prob"`
}

// DefaultDecoderSection is the reference's span-decoder defaults.
func DefaultDecoderSection() DecoderSection {
	return DecoderSection{DecoderMode: "span", FullDecoderContext: true, DecoderLossCoef: 0.5, SpanLossCoef: 1, BlankEntityProb: 0.1}
}

// UnmarshalYAML decodes over the defaults and rejects unknown keys.
func (s *DecoderSection) UnmarshalYAML(n *yaml.Node) error {
	if err := checkSectionKeys(n, reflect.TypeOf(DecoderSection{}), "model.decoder", "model.decoder"); err != nil {
		return err
	}
	*s = DefaultDecoderSection()
	type plain DecoderSection
	return n.Decode((*plain)(s))
}

// validate checks the decoder settings.
func (s *DecoderSection) validate() error {
	if isNone(s.Path) == (len(s.Config) == 0) {
		return fmt.Errorf("model.decoder: set exactly one of path (a Hugging Face GPT-2 folder) and config (a random decoder)")
	}
	if len(s.Config) > 0 && isNone(s.Tokenizer) {
		return fmt.Errorf("model.decoder.tokenizer is required with model.decoder.config (a GPT-2 tokenizer folder)")
	}
	if _, err := models.ParseDecoderMode(s.DecoderMode); err != nil {
		return fmt.Errorf("model.decoder.decoder_mode: %w", err)
	}
	if !(s.DecoderLossCoef >= 0) || !(s.SpanLossCoef >= 0) {
		return fmt.Errorf("model.decoder: decoder_loss_coef %v and span_loss_coef %v must be ≥ 0", s.DecoderLossCoef, s.SpanLossCoef)
	}
	if !(s.BlankEntityProb >= 0 && s.BlankEntityProb <= 1) {
		return fmt.Errorf("model.decoder.blank_entity_prob %v must be in [0, 1]", s.BlankEntityProb)
	}
	return nil
}

// preparedDecoder is a decoder ready to attach to a new model.
type preparedDecoder struct {
	s   *DecoderSection
	cfg []byte // labels_decoder_config
	tok *tokenizer.BPE
	pre *encoder.GPT2Pretrained // nil for a random decoder
}

// prepareDecoder loads the decoder's tokenizer (and weights) and renders
// its config; nil when the recipe has no decoder.
func prepareDecoder(s *DecoderSection) (*preparedDecoder, error) {
	if s == nil {
		return nil, nil
	}
	p := &preparedDecoder{s: s}
	tokDir := s.Tokenizer
	if isNone(tokDir) {
		tokDir = s.Path
	}
	t, err := tokenizer.Load(tokDir)
	if err != nil {
		return nil, fmt.Errorf("model.decoder.tokenizer: %w", err)
	}
	var ok bool
	if p.tok, ok = t.(*tokenizer.BPE); !ok {
		return nil, fmt.Errorf("model.decoder.tokenizer %s: a %T, want a byte-level BPE (GPT-2) tokenizer", tokDir, t)
	}
	sp := t.SpecialIDs()
	if sp.Pad < 0 || sp.SEP < 0 {
		return nil, fmt.Errorf("model.decoder.tokenizer %s: needs an eos and a pad token (GPT-2: <|endoftext|>)", tokDir)
	}
	var dc *encoder.GPT2Config
	if !isNone(s.Path) {
		if p.pre, err = encoder.LoadGPT2Pretrained(s.Path); err != nil {
			return nil, fmt.Errorf("model.decoder.path: %w", err)
		}
		dc = p.pre.Config
	} else {
		c := map[string]any{"model_type": "gpt2"}
		for k, x := range s.Config {
			c[k] = x
		}
		if x, ok := c["vocab_size"]; ok && x != nil {
			return nil, fmt.Errorf("model.decoder.config.vocab_size %v: leave it out, it is the decoder tokenizer's size", x)
		}
		c["vocab_size"] = t.VocabSize()
		for _, k := range []string{"bos_token_id", "eos_token_id"} {
			if _, ok := c[k]; !ok {
				c[k] = sp.SEP
			}
		}
		raw, err := json.Marshal(c)
		if err != nil {
			return nil, fmt.Errorf("model.decoder.config: %w", err)
		}
		if dc, err = encoder.ParseGPT2Config(raw); err != nil {
			return nil, fmt.Errorf("model.decoder.config: %w", err)
		}
	}
	if p.cfg, err = json.Marshal(dc); err != nil {
		return nil, fmt.Errorf("model.decoder: config: %w", err)
	}
	return p, nil
}

// apply writes the decoder fields into a new model's config.
func (p *preparedDecoder) apply(c *models.Config) {
	if p == nil {
		return
	}
	name := p.s.Path
	if isNone(name) {
		name = "random-gpt2"
	}
	mode := p.s.DecoderMode
	c.LabelsDecoder, c.DecoderMode = &name, &mode
	c.LabelsDecoderConfig = p.cfg
	c.FullDecoderContext = p.s.FullDecoderContext
	c.DecoderLossCoef, c.SpanLossCoef, c.BlankEntityProb = p.s.DecoderLossCoef, p.s.SpanLossCoef, p.s.BlankEntityProb
	if c.SpanMode == "token_level" {
		// UniEncoderTokenDecoder: its config forces represent_spans
		// (gliner/config.py UniEncoderTokenDecoderConfig).
		c.RepresentSpans = true
	}
}

// load copies a pretrained decoder's weights into the new model and
// checks the tokenizer against it; it returns the decoder tokenizer.
func (p *preparedDecoder) load(mod *models.Model) (tokenizer.Tokenizer, error) {
	if p == nil {
		return nil, nil
	}
	if p.pre != nil {
		if err := mod.Decoder().LoadState(mod.Store, p.pre.State(models.DecoderPrefix)); err != nil {
			return nil, fmt.Errorf("model.decoder.path: %w", err)
		}
	}
	dir := p.s.Tokenizer
	if isNone(dir) {
		dir = p.s.Path
	}
	if _, err := mod.CheckDecoderTokenizer(dir); err != nil {
		return nil, fmt.Errorf("model.decoder: %w", err)
	}
	return p.tok, nil
}

// loadGLiNERDecoderTokenizer reads a span-decoder GLiNER folder's
// decoder_tokenizer/ (nil for other architectures).
func loadGLiNERDecoderTokenizer(mod *models.Model, dir string) (tokenizer.Tokenizer, error) {
	if !mod.Arch.Decoder() {
		return nil, nil
	}
	t, err := mod.LoadDecoderTokenizer(dir)
	if err != nil {
		return nil, fmt.Errorf("model.prev_path: %w", err)
	}
	return t, nil
}
