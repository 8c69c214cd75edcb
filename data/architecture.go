package data

import (
	"fmt"
	"strings"
)

// Architecture is a GLiNER model family. It is the one architecture type
// of the project (models.Architecture is the same type): the collator
// asks it which prompt and tensors to build, the models package which
// parts to assemble, and every other package asks it (through the model)
// what the model can do instead of comparing architectures.
type Architecture int

// The architectures, named after the reference's model classes
// (gliner/modeling/base.py in urchade/GLiNER c2bb58d: UniEncoderSpanModel,
// UniEncoderTokenModel, BiEncoderSpanModel, BiEncoderTokenModel,
// UniEncoderSpanDecoderModel, UniEncoderSpanRelexModel,
// UniEncoderTokenDecoderModel, UniEncoderTokenRelexModel).
const (
	UniEncoderSpan Architecture = iota
	UniEncoderToken
	BiEncoderSpan
	BiEncoderToken
	UniEncoderSpanDecoder
	UniEncoderSpanRelex
	UniEncoderTokenDecoder
	UniEncoderTokenRelex
)

// archInfo is one architecture's entry: its model_type name and what it
// can do. Adding an architecture adds its constant and one entry here,
// and its parts in the models package.
type archInfo struct {
	name string
	// token: span_mode token_level (per-word start/end/inside scores)
	// instead of a (W, K) span grid.
	token bool
	// labelsEncoder: labels are encoded by a separate labels encoder
	// (no label prompt in the text sequence).
	labelsEncoder bool
	// decoder: a labels decoder generates a label per kept span.
	decoder bool
	// relations: relations between entities are extracted too.
	relations bool
}

var architectures = []archInfo{
	UniEncoderSpan:         {name: "gliner_uni_encoder_span"},
	UniEncoderToken:        {name: "gliner_uni_encoder_token", token: true},
	BiEncoderSpan:          {name: "gliner_bi_encoder_span", labelsEncoder: true},
	BiEncoderToken:         {name: "gliner_bi_encoder_token", token: true, labelsEncoder: true},
	UniEncoderSpanDecoder:  {name: "gliner_uni_encoder_span_decoder", decoder: true},
	UniEncoderSpanRelex:    {name: "gliner_uni_encoder_span_relex", relations: true},
	UniEncoderTokenDecoder: {name: "gliner_uni_encoder_token_decoder", token: true, decoder: true},
	UniEncoderTokenRelex:   {name: "gliner_uni_encoder_token_relex", token: true, relations: true},
}

// Architectures lists every architecture, in declaration order.
func Architectures() []Architecture {
	out := make([]Architecture, len(architectures))
	for i := range out {
		out[i] = Architecture(i)
	}
	return out
}

// Valid reports whether a is one of the declared architectures.
func (a Architecture) Valid() bool { return a >= 0 && int(a) < len(architectures) }

func (a Architecture) info() archInfo {
	if !a.Valid() {
		return archInfo{}
	}
	return architectures[a]
}

// String is the reference's model_type string.
func (a Architecture) String() string {
	if a.Valid() {
		return architectures[a].name
	}
	return fmt.Sprintf("Architecture(%d)", int(a))
}

// ParseArchitecture parses a model_type string.
func ParseArchitecture(s string) (Architecture, error) {
	names := make([]string, len(architectures))
	for i, x := range architectures {
		if x.name == s {
			return Architecture(i), nil
		}
		names[i] = x.name
	}
	return 0, fmt.Errorf("unknown architecture %q (valid: %s)", s, strings.Join(names, ", "))
}

// TokenLevel reports whether the model scores words (span_mode
// token_level): logits (B, W, C, 3) with [start, end, inside], decoded
// by decode.Tokens.
func (a Architecture) TokenLevel() bool { return a.info().token }

// SpanLevel reports whether the model scores a (W, K) grid of spans
// (span_mode markerV0): logits (B, W, K, C), decoded by decode.Spans.
func (a Architecture) SpanLevel() bool { return a.Valid() && !a.info().token }

// BiEncoder reports whether labels are encoded by a separate labels
// encoder (it then needs the labels encoder's tokenizer, and the text
// sequence carries no label prompt).
func (a Architecture) BiEncoder() bool { return a.info().labelsEncoder }

// Relex reports whether the model also extracts relations (it then needs
// relation types, and its prompt carries them).
func (a Architecture) Relex() bool { return a.info().relations }

// Decoder reports whether the model has a labels decoder that generates
// a label per kept span (it then needs the decoder's tokenizer).
func (a Architecture) Decoder() bool { return a.info().decoder }

// NeedsAuxTokenizer reports whether the model needs a second tokenizer
// besides the text one: the labels encoder's or the labels decoder's.
func (a Architecture) NeedsAuxTokenizer() bool { return a.BiEncoder() || a.Decoder() }

// ArchitecturesThat lists the architectures with a capability, as a
// comma-separated string of their model_type names (for messages such as
// "only gliner_uni_encoder_span_relex extracts relations").
func ArchitecturesThat(can func(Architecture) bool) string {
	var names []string
	for _, a := range Architectures() {
		if can(a) {
			names = append(names, a.String())
		}
	}
	return strings.Join(names, ", ")
}
