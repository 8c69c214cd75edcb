// Package layers holds the building blocks of GLiNER's networks: Linear,
// Embedding, LayerNorm, Dropout, the reference's projection MLP, the
// BiLSTM, multi-head attention and the transformer block. Each layer is a
// struct made by a constructor that registers its parameters in an
// autograd.Store under the reference's state-dict names, and a Forward
// that adds its operations to a graph; Forward documents the shapes.
package layers

import (
	"fmt"

	"github.com/gliner-go/gliner/autograd"
)

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// Linear is torch.nn.Linear: y = x·Wᵀ + b. Keys: <prefix>.weight (out, in),
// <prefix>.bias (out).
type Linear struct {
	Weight, Bias string
	In, Out      int
}

// NewLinear registers a Linear layer. init chooses the weight scheme:
// nil is PyTorch's default U(±1/sqrt(in)) for weight and bias; a
// transformers-style autograd.Normal draws the weight and zeroes the bias.
func NewLinear(s *autograd.Store, prefix string, in, out int, bias bool, init autograd.Init) (*Linear, error) {
	if in <= 0 || out <= 0 {
		return nil, fmt.Errorf("linear %s: bad size %d→%d", prefix, in, out)
	}
	l := &Linear{Weight: join(prefix, "weight"), In: in, Out: out}
	wInit, bInit := init, autograd.Init(autograd.Const{})
	if init == nil {
		wInit = autograd.LinearDefault(in)
		bInit = autograd.LinearDefault(in)
	}
	if _, err := s.Add(l.Weight, []int{out, in}, wInit); err != nil {
		return nil, err
	}
	if bias {
		l.Bias = join(prefix, "bias")
		if _, err := s.Add(l.Bias, []int{out}, bInit); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Forward maps x (..., In) to (..., Out).
func (l *Linear) Forward(g *autograd.Graph, x *autograd.Node) *autograd.Node {
	var b *autograd.Node
	if l.Bias != "" {
		b = g.Param(l.Bias)
	}
	return autograd.Linear(x, g.Param(l.Weight), b)
}

// Embedding is torch.nn.Embedding. Key: <prefix>.weight (num, dim).
type Embedding struct {
	Weight   string
	Num, Dim int
}

// NewEmbedding registers an embedding table drawn from N(0, std²) with the
// padding row (if ≥ 0) zeroed, as transformers initialises them.
func NewEmbedding(s *autograd.Store, prefix string, num, dim int, std float64, paddingIdx int) (*Embedding, error) {
	e := &Embedding{Weight: join(prefix, "weight"), Num: num, Dim: dim}
	if _, err := s.Add(e.Weight, []int{num, dim}, autograd.NormalWithZeroRow{Std: std, Row: paddingIdx}); err != nil {
		return nil, err
	}
	return e, nil
}

// Forward looks up int ids of any shape (...) → (..., Dim).
func (e *Embedding) Forward(g *autograd.Graph, ids *autograd.Node) *autograd.Node {
	return autograd.Embedding(g.Param(e.Weight), ids)
}

// LayerNorm is torch.nn.LayerNorm over the last axis. Keys:
// <prefix>.weight, <prefix>.bias (dim).
type LayerNorm struct {
	Weight, Bias string
	Eps          float32
}

// NewLayerNorm registers a layer norm (weight 1, bias 0).
func NewLayerNorm(s *autograd.Store, prefix string, dim int, eps float32) (*LayerNorm, error) {
	n := &LayerNorm{Weight: join(prefix, "weight"), Bias: join(prefix, "bias"), Eps: eps}
	if _, err := s.Add(n.Weight, []int{dim}, autograd.Const{V: 1}); err != nil {
		return nil, err
	}
	if _, err := s.Add(n.Bias, []int{dim}, autograd.Const{}); err != nil {
		return nil, err
	}
	return n, nil
}

// Forward normalises x (..., dim) → (..., dim).
func (n *LayerNorm) Forward(g *autograd.Graph, x *autograd.Node) *autograd.Node {
	return autograd.LayerNorm(x, g.Param(n.Weight), g.Param(n.Bias), n.Eps)
}

// Dropout is inverted dropout with probability P, active in training graphs.
type Dropout struct{ P float64 }

// Forward returns x unchanged in evaluation graphs.
func (d Dropout) Forward(x *autograd.Node) *autograd.Node { return autograd.Dropout(x, d.P) }

// Projection is the reference's create_projection_layer MLP:
// Linear(in→4·out) → ReLU → Dropout(p) → Linear(4·out→out), with keys
// <prefix>.0.* and <prefix>.3.*.
type Projection struct {
	L0, L3 *Linear
	Drop   Dropout
}

// NewProjection registers the MLP (PyTorch default initialisation).
func NewProjection(s *autograd.Store, prefix string, in, out int, dropout float64) (*Projection, error) {
	l0, err := NewLinear(s, join(prefix, "0"), in, 4*out, true, nil)
	if err != nil {
		return nil, err
	}
	l3, err := NewLinear(s, join(prefix, "3"), 4*out, out, true, nil)
	if err != nil {
		return nil, err
	}
	return &Projection{L0: l0, L3: l3, Drop: Dropout{P: dropout}}, nil
}

// Forward maps x (..., in) → (..., out).
func (p *Projection) Forward(g *autograd.Graph, x *autograd.Node) *autograd.Node {
	h := p.Drop.Forward(autograd.ReLU(p.L0.Forward(g, x)))
	return p.L3.Forward(g, h)
}
