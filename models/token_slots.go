package models

import (
	"fmt"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
)

// The token architectures with span rows (UniEncoderTokenDecoder,
// UniEncoderTokenRelex) represent a list of spans per example with the
// TokenMarker span_rep_layer (gliner/modeling/span_rep.py TokenMarker,
// the markerV0 parts applied to explicit (start, end) rows). In training
// the rows come from the batch; at inference they are proposed from the
// token scores (decode.TokenSpanRows, the reference's
// extract_spans_from_tokens) and represented by a small head graph over
// the forward pass's word embeddings.

// tokenSlotsStage is the head graph of token span rows at inference.
const tokenSlotsStage relexStage = 16

// TokenSlots are a token model's span rows at inference.
type TokenSlots struct {
	// S rows per example (at least 1); SpanIdx (B,S,2) inclusive word
	// spans, (0,0) for padding; SpanMask (B,S).
	S        int
	SpanIdx  []int64
	SpanMask []bool
	// SpanRep (B,S,H) is the span_rep_layer output; SpanLogits (B,S,C)
	// the span scores against the raw prompts (token decoder only).
	SpanRep, SpanLogits autograd.Value
}

// tokenSlots proposes and represents the span rows of a token model's
// forward output out on batch b at threshold. Under Loss.ReferenceCompat
// rows may cover padding words, as the reference's; otherwise only words
// inside each text take part.
func (m *Model) tokenSlots(out *Output, b *data.Batch, threshold float64) (*TokenSlots, error) {
	s := out.Logits.Shape
	if len(s) != 4 || s[3] != 3 {
		return nil, fmt.Errorf("token span rows: logits have shape %v, want (B,W,C,3)", s)
	}
	B, W, C := s[0], s[1], s[2]
	if len(b.TextLengths.Data) != B {
		return nil, fmt.Errorf("token span rows: %d text lengths for %d logits rows", len(b.TextLengths.Data), B)
	}
	probs := Probabilities(out)
	rows := make([][][2]int, B)
	S := 1
	for bi := range rows {
		n := W
		if !m.Loss.ReferenceCompat {
			n = min(W, int(b.TextLengths.Data[bi]))
		}
		var err error
		if rows[bi], err = decode.TokenSpanRows(probs[bi*W*C*3:(bi+1)*W*C*3], W, C, n, threshold); err != nil {
			return nil, fmt.Errorf("%s: %w", exampleName(b, bi), err)
		}
		S = max(S, len(rows[bi]))
	}
	ts := &TokenSlots{S: S, SpanIdx: make([]int64, B*S*2), SpanMask: make([]bool, B*S)}
	for bi, rs := range rows {
		for n, r := range rs {
			i := bi*S + n
			ts.SpanIdx[2*i], ts.SpanIdx[2*i+1] = int64(r[0]), int64(r[1])
			ts.SpanMask[i] = true
		}
	}
	words, ok := out.Intermediates["words_embedding"]
	H := m.Cfg.HiddenSize
	if !ok || len(words.F) != B*W*H {
		return nil, fmt.Errorf("token span rows: the forward output has no words_embedding (B=%d,W=%d,H=%d)", B, W, H)
	}
	k := shapeKey{B: B, W: W, C: C, E: S, stage: tokenSlotsStage}
	c, err := m.graph(k)
	if err != nil {
		return nil, err
	}
	start := make([]int64, B*S)
	end := make([]int64, B*S)
	for i := range start {
		start[i], end[i] = ts.SpanIdx[2*i], ts.SpanIdx[2*i+1]
	}
	errs := []error{c.m.SetFloats("words", words.F, B, W, H), c.m.SetInts("slot_start", start, B, S), c.m.SetInts("slot_end", end, B, S)}
	if c.inputs["prompts"] {
		p, ok := out.Intermediates["prompts_embedding"]
		if !ok || len(p.F) != B*C*H {
			return nil, fmt.Errorf("token span rows: the forward output has no prompts_embedding (B=%d,C=%d,H=%d)", B, C, H)
		}
		errs = append(errs, c.m.SetFloats("prompts", p.F, B, C, H))
	}
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("token span rows: %w", err)
		}
	}
	if err := c.m.Run(); err != nil {
		return nil, fmt.Errorf("token span rows: %w", err)
	}
	rep, err := c.m.Value(c.named["span_rep"])
	if err != nil {
		return nil, err
	}
	ts.SpanRep = copyValue(rep)
	if n, ok := c.named["span_logits"]; ok {
		v, err := c.m.Value(n)
		if err != nil {
			return nil, err
		}
		ts.SpanLogits = copyValue(v)
	}
	return ts, nil
}

// tokenSlotHead builds the inference head over given word embeddings
// (B,W,H) and span rows (B,S): span_rep (B,S,H) by marker and, when
// scored (the token decoder), span_logits (B,S,C) against the given raw
// prompts.
func (b *builder) tokenSlotHead(marker *MarkerV0, scored bool) {
	k, H := b.k, b.m.Cfg.HiddenSize
	words := b.floatInput("words", k.B, k.W, H)
	span := b.keep("span_rep", marker.Forward(b.g, words, b.intInput("slot_start", k.B, k.E), b.intInput("slot_end", k.B, k.E)))
	b.c.logits = span
	if scored {
		prompts := b.floatInput("prompts", k.B, k.C, H)
		b.c.logits = b.keep("span_logits", autograd.BatchMatMulNT(span, prompts))
	}
}

// trainSlots binds a training batch's span rows (B,S,2) / span_mask (B,S)
// as slot_start, slot_end and slot_mask.
func (m *Model) bindTrainSlots(c *compiled, b *data.Batch, B, S int) error {
	if len(b.SpanIdx.Data) != B*S*2 || len(b.SpanMask.Data) != B*S {
		return fmt.Errorf("%v batch: span_idx %v / span_mask %v, want (%d,%d,2) / (%d,%d)", m.Arch, b.SpanIdx.Shape, b.SpanMask.Shape, B, S, B, S)
	}
	start := make([]int64, B*S)
	end := make([]int64, B*S)
	mask := make([]float32, B*S)
	W := int64(b.NumWords)
	for i := range start {
		s, e := b.SpanIdx.Data[2*i], b.SpanIdx.Data[2*i+1]
		if s < 0 || e < s || e >= W {
			if b.SpanMask.Data[i] {
				return fmt.Errorf("%v batch: span row %d = [%d, %d] is not a word range of %d words", m.Arch, i, s, e, W)
			}
			s, e = 0, 0
		}
		start[i], end[i] = s, e
		if b.SpanMask.Data[i] {
			mask[i] = 1
		}
	}
	for _, err := range []error{c.m.SetInts("slot_start", start, B, S), c.m.SetInts("slot_end", end, B, S), c.m.SetFloats("slot_mask", mask, B, S)} {
		if err != nil {
			return fmt.Errorf("%v batch: %w", m.Arch, err)
		}
	}
	return nil
}
