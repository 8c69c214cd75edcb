package encoder

import (
	"encoding/json"
	"fmt"
	"os"
)

// GPT2Config is the part of a Hugging Face GPT-2 config.json (model_type
// "gpt2") that the labels decoder's math depends on, with the JSON names
// and the transformers v4.40.2 defaults for absent fields. It is decoded
// from GLiNER's labels_decoder_config or a decoder folder's config.json.
// Settings the port does not implement are rejected by ParseGPT2Config
// rather than ignored; generation settings and other keys are ignored.
type GPT2Config struct {
	ModelType          string  `json:"model_type"`
	VocabSize          int     `json:"vocab_size"`          // 50257
	NPositions         int     `json:"n_positions"`         // 1024
	NEmbd              int     `json:"n_embd"`              // 768
	NLayer             int     `json:"n_layer"`             // 12
	NHead              int     `json:"n_head"`              // 12
	NInner             *int    `json:"n_inner"`             // null ⇒ 4·n_embd
	ActivationFunction string  `json:"activation_function"` // "gelu_new"
	ResidPdrop         float64 `json:"resid_pdrop"`         // 0.1
	EmbdPdrop          float64 `json:"embd_pdrop"`          // 0.1
	AttnPdrop          float64 `json:"attn_pdrop"`          // 0.1
	LayerNormEpsilon   float64 `json:"layer_norm_epsilon"`  // 1e-5
	InitializerRange   float64 `json:"initializer_range"`   // 0.02
	// ScaleAttnWeights divides scores by sqrt(head dim) (true; false is
	// rejected).
	ScaleAttnWeights bool `json:"scale_attn_weights"`
	// ScaleAttnByInverseLayerIdx (false; true is rejected).
	ScaleAttnByInverseLayerIdx bool `json:"scale_attn_by_inverse_layer_idx"`
	// ReorderAndUpcastAttn only changes float precision handling in the
	// reference (false); either value is accepted.
	ReorderAndUpcastAttn bool `json:"reorder_and_upcast_attn"`
	// TieWordEmbeddings makes lm_head.weight the same tensor as
	// transformer.wte.weight (true).
	TieWordEmbeddings bool `json:"tie_word_embeddings"`
	BosTokenID        *int `json:"bos_token_id"` // 50256
	EosTokenID        *int `json:"eos_token_id"` // 50256
	PadTokenID        *int `json:"pad_token_id"` // null
	// AddCrossAttention (false; true is rejected: GLiNER's decoder is a
	// plain causal LM).
	AddCrossAttention bool `json:"add_cross_attention"`

	// Raw keeps the whole document so export writes it back unchanged.
	Raw map[string]any `json:"-"`
}

// Inner is the MLP width: n_inner, or 4·n_embd when it is null.
func (c *GPT2Config) Inner() int {
	if c.NInner != nil && *c.NInner > 0 {
		return *c.NInner
	}
	return 4 * c.NEmbd
}

// EOS is eos_token_id, or -1 when the config has none.
func (c *GPT2Config) EOS() int {
	if c.EosTokenID == nil {
		return -1
	}
	return *c.EosTokenID
}

// ParseGPT2Config decodes a GPT-2 config.json document strictly: the
// model_type must be "gpt2", sizes must be positive and consistent, and
// options that change the math in ways this port does not implement are
// errors.
func ParseGPT2Config(b []byte) (*GPT2Config, error) {
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("gpt2 config: %w", err)
	}
	tok := 50256
	bos, eos := tok, tok
	c := &GPT2Config{
		VocabSize: 50257, NPositions: 1024, NEmbd: 768, NLayer: 12, NHead: 12,
		ActivationFunction: "gelu_new", ResidPdrop: 0.1, EmbdPdrop: 0.1, AttnPdrop: 0.1,
		LayerNormEpsilon: 1e-5, InitializerRange: 0.02, ScaleAttnWeights: true,
		TieWordEmbeddings: true, BosTokenID: &bos, EosTokenID: &eos, Raw: raw,
	}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("gpt2 config: %w", err)
	}
	if c.ModelType != "gpt2" {
		return nil, fmt.Errorf("gpt2 config: model_type %q is not supported (valid: gpt2)", c.ModelType)
	}
	if c.VocabSize <= 0 || c.NPositions <= 0 || c.NEmbd <= 0 || c.NLayer <= 0 || c.NHead <= 0 {
		return nil, fmt.Errorf("gpt2 config: vocab_size %d, n_positions %d, n_embd %d, n_layer %d and n_head %d must be positive",
			c.VocabSize, c.NPositions, c.NEmbd, c.NLayer, c.NHead)
	}
	if c.NEmbd%c.NHead != 0 {
		return nil, fmt.Errorf("gpt2 config: n_embd %d is not divisible by n_head %d", c.NEmbd, c.NHead)
	}
	if c.NInner != nil && *c.NInner < 0 {
		return nil, fmt.Errorf("gpt2 config: n_inner %d is negative", *c.NInner)
	}
	if _, err := c.activation(); err != nil {
		return nil, fmt.Errorf("gpt2 config: activation_function: %w", err)
	}
	if !c.ScaleAttnWeights {
		return nil, fmt.Errorf("gpt2 config: scale_attn_weights false is not supported")
	}
	if c.ScaleAttnByInverseLayerIdx {
		return nil, fmt.Errorf("gpt2 config: scale_attn_by_inverse_layer_idx true is not supported")
	}
	if c.AddCrossAttention {
		return nil, fmt.Errorf("gpt2 config: add_cross_attention true is not supported")
	}
	if c.LayerNormEpsilon <= 0 {
		return nil, fmt.Errorf("gpt2 config: layer_norm_epsilon %g must be positive", c.LayerNormEpsilon)
	}
	for name, p := range map[string]float64{"resid_pdrop": c.ResidPdrop, "embd_pdrop": c.EmbdPdrop, "attn_pdrop": c.AttnPdrop} {
		if p < 0 || p >= 1 {
			return nil, fmt.Errorf("gpt2 config: %s %g is not in [0, 1)", name, p)
		}
	}
	return c, nil
}

// LoadGPT2Config reads a GPT-2 config.json file.
func LoadGPT2Config(path string) (*GPT2Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseGPT2Config(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// MarshalJSON writes the raw document back with vocab_size updated.
func (c *GPT2Config) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	for k, v := range c.Raw {
		m[k] = v
	}
	m["vocab_size"] = c.VocabSize
	return json.Marshal(m)
}
