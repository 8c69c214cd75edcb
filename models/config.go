// Package models assembles the GLiNER architectures from shared parts (text
// encoder, labels encoder with masked-mean pooling, word pooling, BiLSTM,
// markerV0 span representation, prompt representation, token scorer, span and
// token losses). Configs use the reference's gliner_config.json names; the
// architecture is chosen from the config exactly as the reference chooses it
// (gliner/model.py GLiNER._get_gliner_class). All eight of the reference's
// architectures are implemented: UniEncoderSpan (uni_span.go),
// UniEncoderToken (uni_token.go), BiEncoderSpan (bi_span.go), BiEncoderToken
// (bi_token.go), UniEncoderSpanDecoder (span_decoder*.go),
// UniEncoderSpanRelex (relex*.go), UniEncoderTokenDecoder
// (uni_token_decoder.go) and UniEncoderTokenRelex (uni_token_relex.go).
//
// A Model holds the parts every architecture shares (the text encoder, its
// projection, the BiLSTM) and one archHead, the architecture's own parts
// (composed of spanParts, scorerPart, labelsPart, decoderPart, relexPart,
// head.go) with how they wire a graph (build), what a batch needs beyond
// its tensors (plan, made per call) and how it is bound (bind). Every other
// package asks the model or its Architecture what it can do (TokenLevel,
// SpanLevel, BiEncoder, Relex, Decoder, NeedsAuxTokenizer; CollatorConfig,
// PadsTrainBatches, PadsInferenceBatches, Decode); none names an
// architecture (TestArchitectureIdentityStaysInModels fails if one does).
//
// Adding an architecture touches these places, all in this package but
// the first:
//
//  1. Its config entry: a constant and an entry of the architecture table
//     in data/architecture.go (its model_type name and its capabilities).
//     A capability no architecture had yet is a new field there, with the
//     tensors data.Collator builds for it.
//  2. config.go: its alias in the constant block, the rule of
//     Config.Architecture that chooses it from the config's fields (as the
//     reference's GLiNER._get_gliner_class does) and any new config field.
//  3. Its file: a head type implementing archHead (build, plan, bind) from
//     the parts of head.go, and a constructor that registers the shared and
//     its own parameters in the order of the reference's state dict.
//  4. model.go: its constructor in archHeads (TestEveryArchitectureHasAHead
//     fails without it).
//  5. Where its capabilities change what the model does: capabilities.go
//     (collator settings, padding), Forward / ForwardRelex / GenerateLabels
//     for extra outputs, and BuildInferenceGraph (onnx_graph.go) if it is
//     exported (package onnx follows the capabilities).
//  6. A fixture from the reference and its golden tests.
//
// Outside this package code decides by capabilities only, so an
// architecture made of capabilities that exist already needs nothing more
// (training from a model folder, evaluation, prediction, self-training);
// a new capability needs the code that uses it, and building a new model
// from a recipe needs the recipe keys that write its config fields
// (finetune's model sections, such as model.relex).
package models

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/gliner-go/gliner/data"
)

// Config is gliner_config.json: every field of the reference's
// BaseGLiNERConfig and its variants, with the reference's JSON names and
// defaults. Decoding is strict: an unknown key is an error.
type Config struct {
	ModelName              string          `json:"model_name"`
	Name                   string          `json:"name"`
	MaxWidth               int             `json:"max_width"`
	HiddenSize             int             `json:"hidden_size"`
	Dropout                float64         `json:"dropout"`
	FineTune               bool            `json:"fine_tune"`
	SubtokenPooling        string          `json:"subtoken_pooling"`
	SpanMode               string          `json:"span_mode"`
	PostFusionSchema       string          `json:"post_fusion_schema"`
	NumPostFusionLayers    int             `json:"num_post_fusion_layers"`
	VocabSize              int             `json:"vocab_size"`
	MaxNegTypeRatio        int             `json:"max_neg_type_ratio"`
	MaxTypes               int             `json:"max_types"`
	MaxLen                 int             `json:"max_len"`
	WordsSplitterType      string          `json:"words_splitter_type"`
	NumRNNLayers           int             `json:"num_rnn_layers"`
	FuseLayers             bool            `json:"fuse_layers"`
	EmbedEntToken          bool            `json:"embed_ent_token"`
	ClassTokenIndex        int             `json:"class_token_index"`
	EncoderConfig          json.RawMessage `json:"encoder_config"`
	EntToken               string          `json:"ent_token"`
	SepToken               string          `json:"sep_token"`
	AttnImplementation     *string         `json:"_attn_implementation"`
	TokenLossCoef          float64         `json:"token_loss_coef"`
	SpanLossCoef           float64         `json:"span_loss_coef"`
	RepresentSpans         bool            `json:"represent_spans"`
	NegSpansRatio          float64         `json:"neg_spans_ratio"`
	PrecomputedPromptsMode *bool           `json:"precomputed_prompts_mode"`
	IDToClasses            json.RawMessage `json:"id_to_classes"`
	ModelType              *string         `json:"model_type"`
	TransformersVersion    string          `json:"transformers_version,omitempty"`

	// Bi-encoder.
	LabelsEncoder       *string         `json:"labels_encoder"`
	LabelsEncoderConfig json.RawMessage `json:"labels_encoder_config"`

	// Span decoder.
	LabelsDecoder       *string         `json:"labels_decoder"`
	DecoderMode         *string         `json:"decoder_mode"`
	FullDecoderContext  bool            `json:"full_decoder_context"`
	BlankEntityProb     float64         `json:"blank_entity_prob"`
	LabelsDecoderConfig json.RawMessage `json:"labels_decoder_config"`
	DecoderLossCoef     float64         `json:"decoder_loss_coef"`

	// Relation extraction.
	RelationsLayer      *string         `json:"relations_layer"`
	TriplesLayer        *string         `json:"triples_layer"`
	EmbedRelToken       bool            `json:"embed_rel_token"`
	RelTokenIndex       int             `json:"rel_token_index"`
	RelToken            string          `json:"rel_token"`
	AdjacencyLossCoef   float64         `json:"adjacency_loss_coef"`
	RelationLossCoef    float64         `json:"relation_loss_coef"`
	AugmentDataProb     float64         `json:"augment_data_prob"`
	AugmentEntDropProb  []float64       `json:"augment_ent_drop_prob"`
	AugmentRelDropProb  []float64       `json:"augment_rel_drop_prob"`
	AugmentAddOtherProb float64         `json:"augment_add_other_prob"`
	RelIDToClasses      json.RawMessage `json:"rel_id_to_classes"`
}

// DefaultConfig returns the reference's BaseGLiNERConfig defaults
// (gliner/config.py).
func DefaultConfig() Config {
	return Config{
		ModelName: "microsoft/deberta-v3-small", Name: "gliner", MaxWidth: 12, HiddenSize: 512,
		Dropout: 0.4, FineTune: true, SubtokenPooling: "first", SpanMode: "markerV0",
		NumPostFusionLayers: 1, VocabSize: -1, MaxNegTypeRatio: 1, MaxTypes: 25, MaxLen: 384,
		WordsSplitterType: "whitespace", NumRNNLayers: 1, EmbedEntToken: true, ClassTokenIndex: -1,
		EntToken: "<<ENT>>", SepToken: "<<SEP>>", TokenLossCoef: 1, SpanLossCoef: 1, NegSpansRatio: 1,
		FullDecoderContext: true, BlankEntityProb: 0.1, DecoderLossCoef: 0.5,
		EmbedRelToken: true, RelTokenIndex: -1, RelToken: "<<REL>>", AdjacencyLossCoef: 1,
		RelationLossCoef: 1, AugmentDataProb: 0.5, AugmentEntDropProb: []float64{0, 1},
		AugmentRelDropProb: []float64{0, 0.3}, AugmentAddOtherProb: 0.5,
	}
}

// ParseConfig decodes gliner_config.json strictly over the defaults.
func ParseConfig(b []byte) (*Config, error) {
	c := DefaultConfig()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("gliner config: %w", err)
	}
	if _, err := c.Architecture(); err != nil {
		return nil, err
	}
	if c.MaxWidth <= 0 || c.HiddenSize <= 0 {
		return nil, fmt.Errorf("gliner config: max_width and hidden_size must be positive")
	}
	return &c, nil
}

// LoadConfig reads a gliner_config.json file.
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

// SpanMode is the span representation kind.
type SpanMode int

// The span modes gliner-go implements; the reference has more (marker,
// markerV1, query, mlp, cat, conv_*), which are reported as unsupported.
const (
	SpanMarkerV0 SpanMode = iota
	SpanTokenLevel
)

// ParseSpanMode parses span_mode.
func ParseSpanMode(s string) (SpanMode, error) {
	switch s {
	case "markerV0":
		return SpanMarkerV0, nil
	case "token_level":
		return SpanTokenLevel, nil
	}
	return 0, fmt.Errorf("span_mode %q is not supported (valid: markerV0, token_level)", s)
}

// Architecture is the GLiNER variant (the project's one architecture
// type, defined in the data package with its capabilities: TokenLevel,
// SpanLevel, BiEncoder, Relex, Decoder).
type Architecture = data.Architecture

// The architectures.
const (
	UniEncoderSpan        = data.UniEncoderSpan
	UniEncoderToken       = data.UniEncoderToken
	BiEncoderSpan         = data.BiEncoderSpan
	BiEncoderToken        = data.BiEncoderToken
	UniEncoderSpanDecoder = data.UniEncoderSpanDecoder
	UniEncoderSpanRelex   = data.UniEncoderSpanRelex

	UniEncoderTokenDecoder = data.UniEncoderTokenDecoder
	UniEncoderTokenRelex   = data.UniEncoderTokenRelex
)

// ParseArchitecture parses a model_type string.
func ParseArchitecture(s string) (Architecture, error) { return data.ParseArchitecture(s) }

// Architecture chooses the variant from the config's fields exactly as the
// reference's GLiNER._get_gliner_class (gliner/model.py) does:
// relations_layer, then labels_decoder, then labels_encoder, then the
// uni-encoders; token variants when span_mode is "token_level". model_type is
// ignored, as the reference drops it.
func (c *Config) Architecture() (Architecture, error) {
	mode, err := ParseSpanMode(c.SpanMode)
	if err != nil {
		return 0, fmt.Errorf("gliner config: %w", err)
	}
	token := mode == SpanTokenLevel
	switch {
	case c.RelationsLayer != nil:
		if token {
			return UniEncoderTokenRelex, nil
		}
		return UniEncoderSpanRelex, nil
	case c.LabelsDecoder != nil:
		if token {
			return UniEncoderTokenDecoder, nil
		}
		return UniEncoderSpanDecoder, nil
	case c.LabelsEncoder != nil:
		if token {
			return BiEncoderToken, nil
		}
		return BiEncoderSpan, nil
	}
	if token {
		return UniEncoderToken, nil
	}
	return UniEncoderSpan, nil
}
