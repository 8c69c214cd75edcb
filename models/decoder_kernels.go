package models

import (
	"fmt"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
	"github.com/gliner-go/gliner/losses"
)

// Slot codes of DecoderInputs besides token ids (≥ 0).
const (
	// SlotZero is a zero vector (left padding of a prefix).
	SlotZero = kern.DecoderSlotZero
	// SlotSpan is the row's own span vector.
	SlotSpan = kern.DecoderSlotSpan
)

// DecoderInputs assembles the labels decoder's inputs_embeds (M,T,D): slot
// (m,t) of the int slots (M,T) is a token id (its wte row), SlotSpan (row
// m of the span vectors spans (M,D)) or SlotZero (zeros). One op builds
// the reference's [span_vector, word tokens…] prefix, left padding
// included, and the teacher-forced label embeddings; gradients flow to
// the span vectors and to wte (V,D).
func DecoderInputs(spans, wte, slots *autograd.Node) *autograd.Node {
	return spans.Graph().Apply(&decoderInputK{}, spans, wte, slots)
}

type decoderInputK struct{}

func (decoderInputK) Name() string { return "decoder_inputs" }
func (decoderInputK) OutShape(in [][]int) ([]int, error) {
	sp, w, sl := in[0], in[1], in[2]
	if len(sp) != 2 || len(w) != 2 || len(sl) != 2 || sp[1] != w[1] || sl[0] != sp[0] {
		return nil, fmt.Errorf("span vectors %v, wte %v and slots %v do not fit (M,D), (V,D), (M,T)", sp, w, sl)
	}
	return []int{sl[0], sl[1], sp[1]}, nil
}

func (decoderInputK) Attrs() kern.Attrs { return kern.DecoderInputsAttrs{} }

func (decoderInputK) Forward(in []Value, out Value) error {
	M, D, V, T := in[0].Shape[0], in[0].Shape[1], in[1].Shape[0], in[2].Shape[1]
	return kern.DecoderInputsForward(out.F, in[0].F, in[1].F, in[2].I, M, T, D, V)
}

func (decoderInputK) Backward(in []Value, _ Value, dout Value, grads []Value) error {
	M, D, V, T := in[0].Shape[0], in[0].Shape[1], in[1].Shape[0], in[2].Shape[1]
	kern.DecoderInputsBackward(grads[0].F, grads[1].F, dout.F, in[2].I, M, T, D, V)
	return nil
}

// DecoderLoss is the summed token cross-entropy
// (gliner/modeling/loss_functions.py cross_entropy_loss) of logits (M,T,V)
// against int targets (M,T); targets equal to losses.IgnoreIndex (−100) do
// not count. Output: a scalar.
func DecoderLoss(logits, targets *autograd.Node) *autograd.Node {
	return logits.Graph().Apply(&decoderLossK{}, logits, targets)
}

type decoderLossK struct {
	scalarLoss
}

func (*decoderLossK) Name() string { return "decoder_cross_entropy" }
func (*decoderLossK) Attrs() kern.Attrs {
	return kern.DecoderCrossEntropyAttrs{Options: decoderCEOptions}
}

// decoderCEOptions are the decoder loss settings: summed, padding counted
// as the reference does.
var decoderCEOptions = losses.CEOptions{Reduction: losses.ReductionSum}

func (*decoderLossK) OutShape(in [][]int) ([]int, error) {
	l, t := in[0], in[1]
	if len(l) != 3 || len(t) != 2 || t[0] != l[0] || t[1] != l[1] {
		return nil, fmt.Errorf("logits %v and targets %v do not fit (M,T,V), (M,T)", l, t)
	}
	return []int{}, nil
}

func (k *decoderLossK) Forward(in []Value, out Value) error {
	s := in[0].Shape
	res, err := losses.DecoderCrossEntropy(in[0].F, in[1].I, s[0]*s[1], s[2], decoderCEOptions)
	if err != nil {
		return err
	}
	k.set(res, out)
	return nil
}

// scaledSum is the scalar a·x + b·y of two scalars (the decoder model's
// decoder_loss·decoder_loss_coef + span_loss·span_loss_coef).
func scaledSum(x, y *autograd.Node, a, b float32) *autograd.Node {
	return x.Graph().Apply(&weightedSumK{a: a, b: b}, x, y)
}

type weightedSumK struct{ a, b float32 }

func (k *weightedSumK) Name() string { return fmt.Sprintf("weighted_sum(%g,%g)", k.a, k.b) }
func (k *weightedSumK) OutShape(in [][]int) ([]int, error) {
	if autograd.Numel(in[0]) != 1 || autograd.Numel(in[1]) != 1 {
		return nil, fmt.Errorf("inputs %v, %v are not scalars", in[0], in[1])
	}
	return []int{}, nil
}
func (k *weightedSumK) Attrs() kern.Attrs { return kern.ScaledSumAttrs{Weights: []float32{k.a, k.b}} }
func (k *weightedSumK) Forward(in []Value, out Value) error {
	w, x := [2]float32{k.a, k.b}, [2]float32{in[0].F[0], in[1].F[0]}
	out.F[0] = kern.ScaledSumForward(w[:], x[:])
	return nil
}
func (k *weightedSumK) Backward(_ []Value, _ Value, dout Value, grads []Value) error {
	w := [2]float32{k.a, k.b}
	for i, g := range grads {
		if g.F != nil {
			g.F[0] = kern.ScaledSumBackward(w[:], i, dout.F[0])
		}
	}
	return nil
}
