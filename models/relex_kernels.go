package models

import (
	"fmt"
	"math/rand/v2"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
	"github.com/gliner-go/gliner/losses"
)

// sigmoidPairMaskK is σ(x)·m_i·m_j for x (B,E,E) and a 0/1 float mask
// (B,E): the relations layers' sigmoid and _apply_pair_mask.
type sigmoidPairMaskK struct{}

func (sigmoidPairMaskK) Name() string { return "sigmoid_pair_mask" }
func (sigmoidPairMaskK) OutShape(in [][]int) ([]int, error) {
	x, m := in[0], in[1]
	if len(x) != 3 || x[1] != x[2] || len(m) != 2 || m[0] != x[0] || m[1] != x[1] {
		return nil, fmt.Errorf("sigmoid_pair_mask: x %v is not (B,E,E) or mask %v is not (B,E)", x, m)
	}
	return append([]int(nil), x...), nil
}
func (sigmoidPairMaskK) NonDifferentiable(i int) bool { return i == 1 }
func (sigmoidPairMaskK) Attrs() kern.Attrs            { return kern.SigmoidPairMaskAttrs{} }
func (sigmoidPairMaskK) Forward(in []Value, out Value) error {
	kern.SigmoidPairMaskForward(out.F, in[0].F, in[1].F, in[0].Shape[0], in[0].Shape[1])
	return nil
}
func (sigmoidPairMaskK) Backward(in []Value, _ Value, dout Value, grads []Value) error {
	if grads[0].F != nil {
		kern.SigmoidPairMaskBackward(grads[0].F, dout.F, in[0].F, in[1].F, in[0].Shape[0], in[0].Shape[1])
	}
	return nil
}

// SigmoidPairMask returns σ(x)·m_i·m_j for scores x (B,E,E) and a 0/1
// float entity mask (B,E).
func SigmoidPairMask(x, mask *autograd.Node) *autograd.Node {
	return x.Graph().Apply(sigmoidPairMaskK{}, x, mask)
}

// lossSumK is Σ w_i·x_i over scalars.
type lossSumK struct{ w, xs []float32 }

func (k *lossSumK) Name() string { return fmt.Sprintf("loss_sum%v", k.w) }
func (k *lossSumK) OutShape(in [][]int) ([]int, error) {
	if len(in) != len(k.w) {
		return nil, fmt.Errorf("loss_sum: %d inputs for %d weights", len(in), len(k.w))
	}
	for i, s := range in {
		if autograd.Numel(s) != 1 {
			return nil, fmt.Errorf("loss_sum: input %d has shape %v, want a scalar", i, s)
		}
	}
	return []int{}, nil
}
func (k *lossSumK) Attrs() kern.Attrs { return kern.ScaledSumAttrs{Weights: k.w} }
func (k *lossSumK) Forward(in []Value, out Value) error {
	xs := autograd.Grow(&k.xs, len(in))
	for i, x := range in {
		xs[i] = x.F[0]
	}
	out.F[0] = kern.ScaledSumForward(k.w, xs)
	return nil
}
func (k *lossSumK) Backward(_ []Value, _ Value, dout Value, grads []Value) error {
	for i, g := range grads {
		if g.F != nil {
			g.F[0] = kern.ScaledSumBackward(k.w, i, dout.F[0])
		}
	}
	return nil
}

// LossSum returns Σ w[i]·xs[i] for scalar nodes (the relex total loss).
func LossSum(w []float32, xs ...*autograd.Node) *autograd.Node {
	return xs[0].Graph().Apply(&lossSumK{w: append([]float32(nil), w...)}, xs...)
}

// adjLossK wraps losses.AdjacencyLoss: inputs adjacency (B,E,E)
// probabilities, labels (B,E,E), entity mask (B,E); output the scalar.
type adjLossK struct {
	dyn func() losses.Options
	rng *rand.Rand
	scalarLoss
}

func (k *adjLossK) Name() string { return "adjacency_loss" }
func (k *adjLossK) OutShape(in [][]int) ([]int, error) {
	a := in[0]
	if len(a) != 3 || a[1] != a[2] || fmt.Sprint(in[1]) != fmt.Sprint(a) || len(in[2]) != 2 || in[2][0] != a[0] || in[2][1] != a[1] {
		return nil, fmt.Errorf("adjacency loss: adjacency %v, labels %v, mask %v do not fit (B,E,E), (B,E,E), (B,E)", a, in[1], in[2])
	}
	return []int{}, nil
}
func (k *adjLossK) NonDifferentiable(i int) bool { return i > 0 }
func (k *adjLossK) Attrs() kern.Attrs            { return kern.AdjacencyLossAttrs{Options: k.dyn()} }
func (k *adjLossK) Forward(in []Value, out Value) error {
	s := in[0].Shape
	res, err := k.sc.AdjacencyLoss(in[0].F, in[1].F, s[0], s[1], in[2].F, k.dyn(), k.rng)
	if err != nil {
		return err
	}
	k.set(res, out)
	return nil
}

// relLossK wraps losses.RelationLoss: inputs rel_logits (B,N,R), labels
// (B,N,R), pair mask (B,N), relation prompts mask (B,R); output the scalar.
type relLossK struct {
	dyn func() losses.Options
	rng *rand.Rand
	scalarLoss
}

func (k *relLossK) Name() string { return "relation_loss" }
func (k *relLossK) OutShape(in [][]int) ([]int, error) {
	l := in[0]
	if len(l) != 3 || fmt.Sprint(in[1]) != fmt.Sprint(l) || len(in[2]) != 2 || in[2][0] != l[0] || in[2][1] != l[1] ||
		len(in[3]) != 2 || in[3][0] != l[0] || in[3][1] != l[2] {
		return nil, fmt.Errorf("relation loss: logits %v, labels %v, masks %v %v do not fit (B,N,R), (B,N,R), (B,N), (B,R)", l, in[1], in[2], in[3])
	}
	return []int{}, nil
}
func (k *relLossK) NonDifferentiable(i int) bool { return i > 0 }
func (k *relLossK) Attrs() kern.Attrs            { return kern.RelationLossAttrs{Options: k.dyn()} }
func (k *relLossK) Forward(in []Value, out Value) error {
	s := in[0].Shape
	res, err := k.sc.RelationLoss(in[0].F, in[1].F, s[0], s[1], s[2], in[2].F, in[3].F, k.dyn(), k.rng)
	if err != nil {
		return err
	}
	k.set(res, out)
	return nil
}
