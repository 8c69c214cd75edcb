package autograd

import (
	"fmt"
	"slices"

	"github.com/gliner-go/gliner/autograd/kern"
)

// ---- Linear ----------------------------------------------------------------

type linearK struct{ hasBias bool }

func (k *linearK) Name() string { return "linear" }
func (k *linearK) OutShape(in [][]int) ([]int, error) {
	x, w := in[0], in[1]
	if len(w) != 2 || len(x) < 1 || x[len(x)-1] != w[1] {
		return nil, fmt.Errorf("input %v does not fit weight %v", x, w)
	}
	if k.hasBias && (len(in[2]) != 1 || in[2][0] != w[0]) {
		return nil, fmt.Errorf("bias %v does not fit weight %v", in[2], w)
	}
	out := cloneShape(x)
	out[len(out)-1] = w[0]
	return out, nil
}
func (k *linearK) Attrs() kern.Attrs { return kern.LinearAttrs{Bias: k.hasBias} }
func (k *linearK) Forward(in []Value, out Value) error {
	x, w := in[0], in[1]
	o, i := w.Shape[0], w.Shape[1]
	var b []float32
	if k.hasBias {
		b = in[2].F
	}
	kern.LinearForward(out.F, x.F, w.F, b, x.Size()/i, i, o)
	return nil
}
func (k *linearK) Backward(in []Value, _ Value, dout Value, grads []Value) error {
	x, w := in[0], in[1]
	o, i := w.Shape[0], w.Shape[1]
	var db []float32
	if k.hasBias {
		db = grads[2].F
	}
	kern.LinearBackward(grads[0].F, grads[1].F, db, dout.F, x.F, w.F, x.Size()/i, i, o)
	return nil
}

// Backward reads x (for dW) and W (for dx), not the bias or the output.
func (k *linearK) BackwardReadsInput(i int) bool { return i < 2 }
func (k *linearK) BackwardReadsOutput() bool     { return false }

// Linear computes x·Wᵀ + b over the last axis: x (..., in), w (out, in),
// b (out) or nil → (..., out), as torch.nn.Linear.
func Linear(x, w, b *Node) *Node {
	if b == nil {
		return x.g.Apply(&linearK{}, x, w)
	}
	return x.g.Apply(&linearK{hasBias: true}, x, w, b)
}

// ---- elementwise -----------------------------------------------------------

type addK struct{}

func (addK) Name() string { return "add" }
func (addK) OutShape(in [][]int) ([]int, error) {
	if !slices.Equal(in[0], in[1]) {
		return nil, fmt.Errorf("shapes %v and %v differ", in[0], in[1])
	}
	return cloneShape(in[0]), nil
}
func (addK) Attrs() kern.Attrs { return kern.AddAttrs{} }
func (addK) Forward(in []Value, out Value) error {
	kern.Add(out.F, in[0].F, in[1].F)
	return nil
}
func (addK) Backward(_ []Value, _ Value, dout Value, grads []Value) error {
	for _, g := range grads {
		if g.F != nil {
			copy(g.F, dout.F)
		}
	}
	return nil
}

func (addK) BackwardReadsInput(int) bool { return false }
func (addK) BackwardReadsOutput() bool   { return false }

// Add is the elementwise sum of two nodes of equal shape.
func Add(a, b *Node) *Node { return a.g.Apply(addK{}, a, b) }

type reluK struct{}

func (reluK) Name() string                       { return "relu" }
func (reluK) OutShape(in [][]int) ([]int, error) { return cloneShape(in[0]), nil }
func (reluK) Attrs() kern.Attrs                  { return kern.ReLUAttrs{} }
func (reluK) Forward(in []Value, out Value) error {
	kern.ReLUForward(out.F, in[0].F)
	return nil
}
func (reluK) Backward(_ []Value, out Value, dout Value, grads []Value) error {
	if grads[0].F != nil {
		kern.ReLUBackward(grads[0].F, dout.F, out.F)
	}
	return nil
}

// Backward reads the output (its sign), not the input.
func (reluK) BackwardReadsInput(int) bool { return false }
func (reluK) BackwardReadsOutput() bool   { return true }

// ReLU is max(x, 0) (gradient 0 at 0, as PyTorch).
func ReLU(x *Node) *Node { return x.g.Apply(reluK{}, x) }

// ---- shape -----------------------------------------------------------------

type reshapeK struct{ to []int }

func (k *reshapeK) Name() string { return fmt.Sprintf("reshape%v", k.to) }
func (k *reshapeK) OutShape(in [][]int) ([]int, error) {
	if Numel(in[0]) != Numel(k.to) {
		return nil, fmt.Errorf("cannot reshape %v to %v", in[0], k.to)
	}
	return cloneShape(k.to), nil
}
func (k *reshapeK) Attrs() kern.Attrs                             { return kern.ReshapeAttrs{Shape: cloneShape(k.to)} }
func (k *reshapeK) Alias() bool                                   { return true }
func (k *reshapeK) Forward([]Value, Value) error                  { return nil }
func (k *reshapeK) Backward([]Value, Value, Value, []Value) error { return nil }

// Reshape views x with another shape of the same size (no copy).
func Reshape(x *Node, shape ...int) *Node { return x.g.Apply(&reshapeK{to: cloneShape(shape)}, x) }

type concatK struct {
	widths []int
	xs     [][]float32
}

func (k *concatK) Name() string { return "concat_last" }
func (k *concatK) OutShape(in [][]int) ([]int, error) {
	lead := in[0][:len(in[0])-1]
	last := 0
	for _, s := range in {
		if len(s) != len(in[0]) || !slices.Equal(s[:len(s)-1], lead) {
			return nil, fmt.Errorf("shapes %v do not concatenate on the last axis", in)
		}
		last += s[len(s)-1]
	}
	return append(cloneShape(lead), last), nil
}
func (k *concatK) Attrs() kern.Attrs { return kern.ConcatLastAttrs{} }

func (k *concatK) parts(vs []Value, out Value) (widths []int, rows int) {
	if len(k.widths) != len(vs) {
		k.widths, k.xs = make([]int, len(vs)), make([][]float32, len(vs))
	}
	for i, v := range vs {
		k.widths[i] = v.Dim(-1)
	}
	return k.widths, out.Size() / out.Dim(-1)
}

func (k *concatK) Forward(in []Value, out Value) error {
	widths, rows := k.parts(in, out)
	for i, v := range in {
		k.xs[i] = v.F
	}
	kern.ConcatLastForward(out.F, k.xs, widths, rows)
	return nil
}
func (k *concatK) Backward(in []Value, out Value, dout Value, grads []Value) error {
	widths, rows := k.parts(in, out)
	for i, g := range grads {
		k.xs[i] = g.F
	}
	kern.ConcatLastBackward(k.xs, dout.F, widths, rows)
	return nil
}

// Backward reads only shapes.
func (concatK) BackwardReadsInput(int) bool { return false }
func (concatK) BackwardReadsOutput() bool   { return false }

// Concat joins nodes along their last axis.
func Concat(xs ...*Node) *Node { return xs[0].g.Apply(&concatK{}, xs...) }

// ---- batched products ------------------------------------------------------

type bmmTK struct{}

func (bmmTK) Name() string { return "bmm_nt" }
func (bmmTK) OutShape(in [][]int) ([]int, error) {
	a, b := in[0], in[1]
	if len(a) != 3 || len(b) != 3 || a[0] != b[0] || a[2] != b[2] {
		return nil, fmt.Errorf("shapes %v and %v do not fit (B,M,K)·(B,N,K)ᵀ", a, b)
	}
	return []int{a[0], a[1], b[1]}, nil
}
func (bmmTK) Attrs() kern.Attrs { return kern.BatchMatMulNTAttrs{} }
func (bmmTK) Forward(in []Value, out Value) error {
	a, b := in[0], in[1]
	kern.BatchMatMulNTForward(out.F, a.F, b.F, a.Shape[0], a.Shape[1], a.Shape[2], b.Shape[1])
	return nil
}
func (bmmTK) Backward(in []Value, _ Value, dout Value, grads []Value) error {
	a, b := in[0], in[1]
	kern.BatchMatMulNTBackward(grads[0].F, grads[1].F, dout.F, a.F, b.F, a.Shape[0], a.Shape[1], a.Shape[2], b.Shape[1])
	return nil
}

func (bmmTK) BackwardReadsInput(int) bool { return true }
func (bmmTK) BackwardReadsOutput() bool   { return false }

// BatchMatMulNT computes out[b] = a[b]·b[b]ᵀ: a (B,M,K), b (B,N,K) → (B,M,N).
// It is GLiNER's scoring einsum "BLKD,BCD->BLKC" once spans are flattened.
func BatchMatMulNT(a, b *Node) *Node { return a.g.Apply(bmmTK{}, a, b) }

// ---- reductions used by tests and losses ---------------------------------

type dotConstK struct{ w []float32 }

func (k *dotConstK) Name() string { return "dot_const" }
func (k *dotConstK) OutShape(in [][]int) ([]int, error) {
	if Numel(in[0]) != len(k.w) {
		return nil, fmt.Errorf("input %v has %d elements, weights %d", in[0], Numel(in[0]), len(k.w))
	}
	return []int{}, nil
}
func (k *dotConstK) Attrs() kern.Attrs { return kern.DotConstAttrs{W: k.w} }
func (k *dotConstK) Forward(in []Value, out Value) error {
	out.F[0] = kern.DotConstForward(in[0].F, k.w)
	return nil
}
func (k *dotConstK) Backward(_ []Value, _ Value, dout Value, grads []Value) error {
	if grads[0].F != nil {
		kern.DotConstBackward(grads[0].F, k.w, dout.F[0])
	}
	return nil
}

// DotConst is Σ x⊙w for a fixed weight vector w: a scalar that gives every
// element of x its own gradient, used to test backward passes.
func DotConst(x *Node, w []float32) *Node { return x.g.Apply(&dotConstK{w: w}, x) }
