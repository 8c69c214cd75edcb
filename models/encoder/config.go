// Package encoder implements the transformers GLiNER runs on — the BERT
// and DeBERTa-v2/v3 text and label encoders, and the GPT-2 labels decoder —
// as autograd graphs whose parameter names are the Hugging Face state-dict
// keys, loaded from a model folder (config.json + model.safetensors or
// pytorch_model.bin).
package encoder

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Type is the encoder family, from config.json's model_type.
type Type int

// The supported encoder families.
const (
	BERT Type = iota
	DeBERTaV2
)

// ParseType maps a Hugging Face model_type to a Type.
func ParseType(s string) (Type, error) {
	switch s {
	case "bert":
		return BERT, nil
	case "deberta-v2":
		return DeBERTaV2, nil
	}
	return 0, fmt.Errorf("unsupported encoder model_type %q (valid: bert, deberta-v2)", s)
}

func (t Type) String() string {
	if t == BERT {
		return "bert"
	}
	return "deberta-v2"
}

// Config is the part of a Hugging Face encoder config.json that the math
// depends on, with the JSON names and the transformers v4.40.2 defaults
// for absent fields. Other keys of config.json (there are dozens of
// generation settings) are ignored.
type Config struct {
	ModelType                 string  `json:"model_type"`
	HiddenSize                int     `json:"hidden_size"`
	NumHiddenLayers           int     `json:"num_hidden_layers"`
	NumAttentionHeads         int     `json:"num_attention_heads"`
	IntermediateSize          int     `json:"intermediate_size"`
	HiddenAct                 string  `json:"hidden_act"`
	VocabSize                 int     `json:"vocab_size"`
	LayerNormEps              float64 `json:"layer_norm_eps"`
	MaxPositionEmbeddings     int     `json:"max_position_embeddings"`
	TypeVocabSize             int     `json:"type_vocab_size"`
	HiddenDropoutProb         float64 `json:"hidden_dropout_prob"`
	AttentionProbsDropoutProb float64 `json:"attention_probs_dropout_prob"`
	InitializerRange          float64 `json:"initializer_range"`
	PadTokenID                int     `json:"pad_token_id"`
	PositionEmbeddingType     string  `json:"position_embedding_type"`

	// DeBERTa-v2/v3.
	RelativeAttention    bool     `json:"relative_attention"`
	MaxRelativePositions int      `json:"max_relative_positions"`
	PositionBuckets      int      `json:"position_buckets"`
	PosAttType           []string `json:"-"`
	ShareAttKey          bool     `json:"share_att_key"`
	NormRelEbd           string   `json:"norm_rel_ebd"`
	PositionBiasedInput  bool     `json:"position_biased_input"`
	EmbeddingSize        int      `json:"embedding_size"`
	ConvKernelSize       int      `json:"conv_kernel_size"`
	AttentionHeadSize    int      `json:"attention_head_size"`

	// Raw keeps the whole config.json so export writes it back unchanged.
	Raw map[string]any `json:"-"`
}

// ParseConfig decodes a config.json document.
func ParseConfig(b []byte) (*Config, error) {
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("encoder config: %w", err)
	}
	c := &Config{
		HiddenAct: "gelu", LayerNormEps: -1, InitializerRange: 0.02,
		MaxRelativePositions: -1, PositionBuckets: -1, NormRelEbd: "none",
		PositionBiasedInput: true, PositionEmbeddingType: "absolute", Raw: raw,
	}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("encoder config: %w", err)
	}
	t, err := ParseType(c.ModelType)
	if err != nil {
		return nil, fmt.Errorf("encoder config: %w", err)
	}
	if c.LayerNormEps < 0 {
		if t == BERT {
			c.LayerNormEps = 1e-12
		} else {
			c.LayerNormEps = 1e-7
		}
	}
	if t == BERT {
		if _, ok := raw["type_vocab_size"]; !ok {
			c.TypeVocabSize = 2
		}
		if c.PositionEmbeddingType != "absolute" {
			return nil, fmt.Errorf("encoder config: position_embedding_type %q is not supported (valid: absolute)", c.PositionEmbeddingType)
		}
	}
	switch v := raw["pos_att_type"].(type) {
	case nil:
	case string:
		for _, p := range strings.Split(strings.ToLower(v), "|") {
			if p = strings.TrimSpace(p); p != "" {
				c.PosAttType = append(c.PosAttType, p)
			}
		}
	case []any:
		for _, p := range v {
			s, ok := p.(string)
			if !ok {
				return nil, fmt.Errorf("encoder config: pos_att_type holds %v, want strings", p)
			}
			c.PosAttType = append(c.PosAttType, strings.ToLower(s))
		}
	default:
		return nil, fmt.Errorf("encoder config: pos_att_type has type %T", v)
	}
	for _, p := range c.PosAttType {
		if p != "c2p" && p != "p2c" {
			return nil, fmt.Errorf("encoder config: pos_att_type %q is not supported (valid: c2p, p2c)", p)
		}
	}
	if c.EmbeddingSize == 0 {
		c.EmbeddingSize = c.HiddenSize
	}
	if c.AttentionHeadSize == 0 && c.NumAttentionHeads > 0 {
		c.AttentionHeadSize = c.HiddenSize / c.NumAttentionHeads
	}
	if c.HiddenSize <= 0 || c.NumHiddenLayers <= 0 || c.NumAttentionHeads <= 0 || c.IntermediateSize <= 0 || c.VocabSize <= 0 {
		return nil, fmt.Errorf("encoder config: hidden_size, num_hidden_layers, num_attention_heads, intermediate_size and vocab_size must be positive")
	}
	if c.HiddenSize%c.NumAttentionHeads != 0 || c.AttentionHeadSize*c.NumAttentionHeads != c.HiddenSize {
		return nil, fmt.Errorf("encoder config: hidden_size %d is not num_attention_heads %d × attention_head_size %d", c.HiddenSize, c.NumAttentionHeads, c.AttentionHeadSize)
	}
	if c.ConvKernelSize > 0 {
		return nil, fmt.Errorf("encoder config: conv_kernel_size %d (DeBERTa-v2 ConvLayer) is not supported; DeBERTa-v3 checkpoints have none", c.ConvKernelSize)
	}
	if c.EmbeddingSize != c.HiddenSize {
		return nil, fmt.Errorf("encoder config: embedding_size %d ≠ hidden_size %d (embed_proj) is not supported", c.EmbeddingSize, c.HiddenSize)
	}
	return c, nil
}

// LoadConfig reads a config.json file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Type returns the parsed model_type.
func (c *Config) Type() Type {
	t, _ := ParseType(c.ModelType)
	return t
}

func (c *Config) hasPos(p string) bool {
	for _, x := range c.PosAttType {
		if x == p {
			return true
		}
	}
	return false
}

// MarshalJSON writes the raw config back with vocab_size updated.
func (c *Config) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	for k, v := range c.Raw {
		m[k] = v
	}
	m["vocab_size"] = c.VocabSize
	return json.Marshal(m)
}
