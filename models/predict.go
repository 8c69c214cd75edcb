package models

import (
	"fmt"
	"math"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
)

// Probabilities returns σ(logits) of a forward output, same layout.
func Probabilities(out *Output) []float32 {
	p := make([]float32, len(out.Logits.F))
	for i, x := range out.Logits.F {
		p[i] = float32(1 / (1 + math.Exp(-float64(x))))
	}
	return p
}

// Decode turns a forward output on batch b into entities per example
// (gliner/decoding/decoder.py SpanDecoder for span models, TokenDecoder for
// token models), over each text's own words (b.TextLengths) with the class
// names of b.IDToClass.
func (m *Model) Decode(out *Output, b *data.Batch, o decode.Options) ([][]decode.Span, error) {
	return m.decode(out, b, o, false)
}

// DecodeAsReference decodes as the reference does: token models run over
// the padded word width W, so a shorter text can get entities over padding
// words, and those can block (flat) or partially overlap (nested) real
// ones. Span models decode as Decode (the reference bounds them by the
// text length too).
func (m *Model) DecodeAsReference(out *Output, b *data.Batch, o decode.Options) ([][]decode.Span, error) {
	return m.decode(out, b, o, true)
}

func (m *Model) decode(out *Output, b *data.Batch, o decode.Options, padded bool) ([][]decode.Span, error) {
	s := out.Logits.Shape
	if len(s) != 4 {
		return nil, fmt.Errorf("decode: logits have shape %v, want 4 dimensions", s)
	}
	B := s[0]
	if len(b.TextLengths.Data) != B || len(b.IDToClass) != B {
		return nil, fmt.Errorf("decode: batch has %d text lengths and %d class maps for %d logits rows",
			len(b.TextLengths.Data), len(b.IDToClass), B)
	}
	n := make([]int, B)
	for i := range n {
		n[i] = int(b.TextLengths.Data[i])
	}
	probs := Probabilities(out)
	if m.Arch.TokenLevel() {
		if padded {
			for i := range n {
				n[i] = s[1]
			}
		}
		return decode.TokenBatch(probs, B, s[1], s[2], n, b.IDToClass, o)
	}
	return decode.SpanBatch(probs, B, s[1], s[2], s[3], n, b.IDToClass, o)
}
