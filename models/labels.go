package models

import (
	"fmt"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
	"github.com/gliner-go/gliner/layers"
	"github.com/gliner-go/gliner/models/encoder"
)

// LabelsEncoderPrefix is where the bi-encoder's labels encoder keys live.
const LabelsEncoderPrefix = "token_rep_layer.labels_encoder.model"

// LabelEncoder is the bi-encoder's label path (gliner/modeling/encoder.py
// BiEncoder.encode_labels): the label strings, tokenized one per row (C,Tl),
// go through their own encoder, `token_rep_layer.labels_projection` when H
// differs from its width, and a masked mean over each row's sub-tokens,
// giving one (H) vector per class.
type LabelEncoder struct {
	Enc  *encoder.Encoder
	Proj *layers.Linear
}

// NewLabelEncoder registers the labels encoder and its projection.
func NewLabelEncoder(s *autograd.Store, cfg *encoder.Config, hidden int) (*LabelEncoder, error) {
	le := &LabelEncoder{}
	var err error
	if le.Enc, err = encoder.New(s, LabelsEncoderPrefix, cfg); err != nil {
		return nil, err
	}
	if hidden != cfg.HiddenSize {
		if le.Proj, err = layers.NewLinear(s, "token_rep_layer.labels_projection", cfg.HiddenSize, hidden, true, nil); err != nil {
			return nil, err
		}
	}
	return le, nil
}

// Forward encodes int label ids and mask (C,Tl) and returns the encoder's
// token output (C,Tl,Dl) and the pooled class embeddings (C,H).
func (le *LabelEncoder) Forward(g *autograd.Graph, ids, mask *autograd.Node) (tokens, pooled *autograd.Node) {
	tokens = le.Enc.Forward(g, ids, mask)
	x := tokens
	if le.Proj != nil {
		x = le.Proj.Forward(g, x)
	}
	return tokens, MaskedMean(x, mask)
}

// MaskedMean pools x (N,T,D) over T with the int 0/1 mask (N,T):
// out[n] = Σ_t m[n,t]·x[n,t] / max(Σ_t m[n,t], 1e-9), as the reference's
// bi-encoder label pooling.
func MaskedMean(x, mask *autograd.Node) *autograd.Node {
	return x.Graph().Apply(&maskedMeanK{}, x, mask)
}

type maskedMeanK struct{}

func (maskedMeanK) Name() string { return "masked_mean" }
func (maskedMeanK) OutShape(in [][]int) ([]int, error) {
	x, m := in[0], in[1]
	if len(x) != 3 || len(m) != 2 || m[0] != x[0] || m[1] != x[1] {
		return nil, fmt.Errorf("input %v and mask %v are not (N,T,D) and (N,T)", x, m)
	}
	return []int{x[0], x[2]}, nil
}

func (maskedMeanK) Attrs() kern.Attrs { return kern.MaskedMeanAttrs{} }

func (maskedMeanK) Forward(in []Value, out Value) error {
	x := in[0]
	kern.MaskedMeanForward(out.F, x.F, in[1].I, x.Shape[0], x.Shape[1], x.Shape[2])
	return nil
}

func (maskedMeanK) Backward(in []Value, _ Value, dout Value, grads []Value) error {
	if grads[0].F != nil {
		x := in[0]
		kern.MaskedMeanBackward(grads[0].F, dout.F, in[1].I, x.Shape[0], x.Shape[1], x.Shape[2])
	}
	return nil
}

// BroadcastRows repeats x (N,D) b times: (b,N,D); its gradient sums the
// copies.
func BroadcastRows(x *autograd.Node, b int) *autograd.Node {
	return x.Graph().Apply(&broadcastK{b: b}, x)
}

type broadcastK struct{ b int }

func (k *broadcastK) Name() string { return fmt.Sprintf("broadcast(%d)", k.b) }
func (k *broadcastK) OutShape(in [][]int) ([]int, error) {
	if len(in[0]) != 2 || k.b < 1 {
		return nil, fmt.Errorf("input %v is not (N,D) or %d copies", in[0], k.b)
	}
	return []int{k.b, in[0][0], in[0][1]}, nil
}
func (k *broadcastK) Attrs() kern.Attrs { return kern.BroadcastRowsAttrs{Copies: k.b} }
func (k *broadcastK) Forward(in []Value, out Value) error {
	kern.BroadcastRowsForward(out.F, in[0].F, k.b)
	return nil
}
func (k *broadcastK) Backward(in []Value, _ Value, dout Value, grads []Value) error {
	if grads[0].F != nil {
		kern.BroadcastRowsBackward(grads[0].F, dout.F, k.b)
	}
	return nil
}
