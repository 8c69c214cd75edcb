package models

import (
	"fmt"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/layers"
)

// The parts architecture heads (archHead) are composed of. Each is
// registered under the reference's state-dict names by the Model's
// newXPart functions (model.go, span_decoder.go, relex.go); a head embeds
// the parts it has, and the embedded accessors (labelsEncoder,
// labelsDecoder, relationHead) let the Model ask a head for a part
// without knowing which architecture it is.

// spanParts are markerV0's span_rep_layer and prompt_rep_layer
// (gliner/modeling/span_rep.py SpanMarkerV0 and base.py prompt_rep_layer
// in urchade/GLiNER c2bb58d).
type spanParts struct {
	span   *MarkerV0
	prompt *layers.Projection
}

// scorerPart is the token models' Scorer (gliner/modeling/scorers.py).
type scorerPart struct {
	scorer *Scorer
}

// labelsPart is the bi-encoders' labels encoder (base.py
// BiEncoderSpanModel / BiEncoderTokenModel: token_rep_layer.labels_encoder
// and labels_projection).
type labelsPart struct {
	labels *LabelEncoder
}

func (p labelsPart) labelsEncoder() *LabelEncoder { return p.labels }

// buildLabelsOnly wires EncodeLabels' graph (shape key labelsOnly): the
// label path alone, labels_input_ids and labels_attention_mask (C,Tl) to
// the pooled label embeddings (C,H).
func (p labelsPart) buildLabelsOnly(b *builder) {
	ids := b.intInput("labels_input_ids", b.k.C, b.k.TL)
	mask := b.intInput("labels_attention_mask", b.k.C, b.k.TL)
	_, b.c.logits = p.labels.Forward(b.g, ids, mask)
}

// plan validates a bi-encoder batch's label tensors and puts their length
// TL in its shape key, or marks the key preLabels when the call gives the
// pooled label embeddings (ForwardWithLabelEmbeddings).
func (p labelsPart) plan(m *Model, k *shapeKey, b *data.Batch, bp *batchPlan) error {
	if bp.labelEmb != nil {
		k.preLabels = true
		return nil
	}
	s := b.LabelsInputIDs.Shape
	if len(s) != 2 || s[0] != k.C {
		return fmt.Errorf("%v batch: labels_input_ids have shape %v, want (C=%d, Tl)", m.Arch, s, k.C)
	}
	if ms := b.LabelsAttentionMask.Shape; len(ms) != 2 || ms[0] != s[0] || ms[1] != s[1] {
		return fmt.Errorf("%v batch: labels_attention_mask shape %v differs from labels_input_ids %v", m.Arch, ms, s)
	}
	k.TL = s[1]
	return nil
}

// decoderPart is the decoder architectures' GPT-2 labels decoder
// (span_decoder.go).
type decoderPart struct {
	dec *spanDecoder
}

func (p decoderPart) labelsDecoder() *spanDecoder { return p.dec }

// relexPart is the relex architectures' relation head (relex.go).
type relexPart struct {
	relex *relexParts
}

func (p relexPart) relationHead() *relexParts { return p.relex }

// noPlan is embedded by heads whose batches need nothing beyond the
// shared inputs.
type noPlan struct{}

func (noPlan) plan(*Model, *shapeKey, *data.Batch, *batchPlan) error { return nil }

func (noPlan) bind(*Model, *compiled, shapeKey, *data.Batch, *batchPlan) error { return nil }
