package models

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
	"github.com/gliner-go/gliner/layers"
	"github.com/gliner-go/gliner/losses"
)

// BiLSTM is the reference's LstmSeq2SeqEncoder (`rnn.lstm.*`): num_layers
// bidirectional layers of hidden size H/2 over the word embeddings.
type BiLSTM struct {
	names [][8]string
}

// NewBiLSTM registers `<prefix>.weight_ih_l{l}` … `_reverse` for every
// layer, initialised U(±1/sqrt(hidden)) as nn.LSTM.
func NewBiLSTM(s *autograd.Store, prefix string, in, hidden, numLayers int) (*BiLSTM, error) {
	if hidden <= 0 || numLayers < 1 {
		return nil, fmt.Errorf("bilstm %s: bad hidden %d / layers %d", prefix, hidden, numLayers)
	}
	init := autograd.LinearDefault(hidden)
	r := &BiLSTM{}
	for l := 0; l < numLayers; l++ {
		width := in
		if l > 0 {
			width = 2 * hidden
		}
		var n [8]string
		for d, suffix := range []string{"", "_reverse"} {
			ls := "_l" + strconv.Itoa(l) + suffix
			names := []string{"weight_ih" + ls, "weight_hh" + ls, "bias_ih" + ls, "bias_hh" + ls}
			shapes := [][]int{{4 * hidden, width}, {4 * hidden, hidden}, {4 * hidden}, {4 * hidden}}
			for i := range names {
				full := prefix + "." + names[i]
				if _, err := s.Add(full, shapes[i], init); err != nil {
					return nil, err
				}
				n[4*d+i] = full
			}
		}
		r.names = append(r.names, n)
	}
	return r, nil
}

// Forward maps words (B,W,in) with int lengths (B) to (B,W,2·hidden),
// zero past each length.
func (r *BiLSTM) Forward(g *autograd.Graph, x, lengths *autograd.Node) *autograd.Node {
	for _, n := range r.names {
		var w [8]*autograd.Node
		for i := range n {
			w[i] = g.Param(n[i])
		}
		x = autograd.BiLSTM(x, lengths, w)
	}
	return x
}

// MarkerV0 is the default span representation (`span_rep_layer.span_rep_layer.*`):
// span = out_project(ReLU([project_start(w_s) ; project_end(w_e)])).
type MarkerV0 struct {
	Start, End, Out *layers.Projection
}

// NewMarkerV0 registers project_start, project_end and out_project.
func NewMarkerV0(s *autograd.Store, prefix string, hidden int, dropout float64) (*MarkerV0, error) {
	st, err := layers.NewProjection(s, prefix+".project_start", hidden, hidden, dropout)
	if err != nil {
		return nil, err
	}
	en, err := layers.NewProjection(s, prefix+".project_end", hidden, hidden, dropout)
	if err != nil {
		return nil, err
	}
	out, err := layers.NewProjection(s, prefix+".out_project", 2*hidden, hidden, dropout)
	if err != nil {
		return nil, err
	}
	return &MarkerV0{Start: st, End: en, Out: out}, nil
}

// Forward maps words (B,W,H) and int span start/end word indices (B,S)
// (already zeroed for invalid spans, as the reference does) to (B,S,H).
func (m *MarkerV0) Forward(g *autograd.Graph, words, spanStart, spanEnd *autograd.Node) *autograd.Node {
	start := m.Start.Forward(g, words)
	end := m.End.Forward(g, words)
	l0, l3 := m.Out.L0, m.Out.L3
	h := g.Apply(&spanFirstLayerK{}, start, end, g.Param(l0.Weight), g.Param(l0.Bias), spanStart, spanEnd)
	return l3.Forward(g, m.Out.Drop.Forward(autograd.ReLU(h)))
}

// spanLossK wraps losses.SpanLoss as a graph kernel: inputs logits
// (B,W,K,C), labels (B,W·K,C), span mask (B,W·K) and prompts mask (B,C)
// as 0/1 floats; output the scalar loss.
type spanLossK struct {
	opts losses.Options
	dyn  func() losses.Options // when set, read at every Forward
	rng  *rand.Rand
	scalarLoss
}

func (k *spanLossK) Name() string { return "span_loss" }
func (k *spanLossK) OutShape(in [][]int) ([]int, error) {
	l := in[0]
	if len(l) != 4 {
		return nil, fmt.Errorf("logits %v are not (B,W,K,C)", l)
	}
	B, S, C := l[0], l[1]*l[2], l[3]
	if len(in[1]) != 3 || in[1][0] != B || in[1][1] != S || in[1][2] != C {
		return nil, fmt.Errorf("labels %v do not fit logits %v", in[1], l)
	}
	if len(in[2]) != 2 || in[2][0] != B || in[2][1] != S || len(in[3]) != 2 || in[3][0] != B || in[3][1] != C {
		return nil, fmt.Errorf("masks %v, %v do not fit logits %v", in[2], in[3], l)
	}
	return []int{}, nil
}
func (k *spanLossK) NonDifferentiable(i int) bool { return i > 0 }
func (k *spanLossK) Attrs() kern.Attrs {
	if k.dyn != nil {
		return kern.SpanLossAttrs{Options: k.dyn()}
	}
	return kern.SpanLossAttrs{Options: k.opts}
}
func (k *spanLossK) Forward(in []Value, out Value) error {
	l := in[0].Shape
	opts := k.opts
	if k.dyn != nil {
		opts = k.dyn()
	}
	res, err := k.sc.SpanLoss(in[0].F, in[1].F, l[0], l[1]*l[2], l[3], in[2].F, in[3].F, opts, k.rng)
	if err != nil {
		return err
	}
	k.set(res, out)
	return nil
}

// Value is autograd.Value, named here for the kernels of this package.
type Value = autograd.Value

// SpanLoss adds the span loss node (scalar) for logits (B,W,K,C).
func SpanLoss(logits, labels, spanMask, promptsMask *autograd.Node, opts losses.Options, rng *rand.Rand) *autograd.Node {
	return logits.Graph().Apply(&spanLossK{opts: opts, rng: rng}, logits, labels, spanMask, promptsMask)
}

// tokenLossK wraps losses.TokenLoss as a graph kernel: inputs logits
// (B,W,C,3), labels (B,W,C,3), word mask (B,W) and prompts mask (B,C) as
// 0/1 floats; output the scalar loss.
type tokenLossK struct {
	opts losses.Options
	dyn  func() losses.Options // when set, read at every Forward
	rng  *rand.Rand
	scalarLoss
}

func (k *tokenLossK) Name() string { return "token_loss" }
func (k *tokenLossK) OutShape(in [][]int) ([]int, error) {
	l := in[0]
	// (B,W,C,3) token logits, or (B,S,C,1) span logits of the token
	// decoder's span loss (the same loss function in the reference).
	if len(l) != 4 || (l[3] != 3 && l[3] != 1) {
		return nil, fmt.Errorf("logits %v are not (B,W,C,3) or (B,S,C,1)", l)
	}
	B, W, C := l[0], l[1], l[2]
	if len(in[1]) != 4 || in[1][0] != B || in[1][1] != W || in[1][2] != C || in[1][3] != l[3] {
		return nil, fmt.Errorf("labels %v do not fit logits %v", in[1], l)
	}
	if len(in[2]) != 2 || in[2][0] != B || in[2][1] != W || len(in[3]) != 2 || in[3][0] != B || in[3][1] != C {
		return nil, fmt.Errorf("masks %v, %v do not fit logits %v", in[2], in[3], l)
	}
	return []int{}, nil
}
func (k *tokenLossK) NonDifferentiable(i int) bool { return i > 0 }
func (k *tokenLossK) Attrs() kern.Attrs {
	if k.dyn != nil {
		return kern.TokenLossAttrs{Options: k.dyn()}
	}
	return kern.TokenLossAttrs{Options: k.opts}
}
func (k *tokenLossK) Forward(in []Value, out Value) error {
	l := in[0].Shape
	opts := k.opts
	if k.dyn != nil {
		opts = k.dyn()
	}
	res, err := k.sc.TokenLoss(in[0].F, in[1].F, l[0], l[1], l[2], l[3], in[2].F, in[3].F, opts, k.rng)
	if err != nil {
		return err
	}
	k.set(res, out)
	return nil
}

// TokenLoss adds the token-model loss node (scalar) for logits (B,W,C,3).
func TokenLoss(logits, labels, wordMask, promptsMask *autograd.Node, opts losses.Options, rng *rand.Rand) *autograd.Node {
	return logits.Graph().Apply(&tokenLossK{opts: opts, rng: rng}, logits, labels, wordMask, promptsMask)
}

// scalarLoss is embedded by the loss kernels: it keeps the losses.Result
// of the last Forward and back-propagates the scalar upstream gradient
// through it (into the first input, the logits).
type scalarLoss struct {
	res *losses.Result
	one [1]float32
	// sc holds the loss buffers between steps (the result is sc's).
	sc losses.Scratch
}

func (l *scalarLoss) set(res *losses.Result, out Value) {
	l.res = res
	out.F[0] = res.Loss
}

// Backward implements autograd.Kernel for the embedding loss kernel.
func (l *scalarLoss) Backward(_ []Value, _ Value, dout Value, grads []Value) error {
	if grads[0].F == nil {
		return nil
	}
	l.one[0] = dout.F[0]
	return l.res.BackwardInto(grads[0].F, l.one[:])
}
