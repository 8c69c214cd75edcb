package models

import (
	"fmt"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
	"github.com/gliner-go/gliner/layers"
)

// Scorer is the token models' scorer (`scorer.*`, gliner/modeling/scorers.py
// Scorer):
//
//	t = proj_token(words)    (B,W,2H) = [t0 ; t1]
//	l = proj_label(prompts)  (B,C,2H) = [l0 ; l1]
//	z[b,w,c] = [t0[b,w] ; l0[b,c] ; t1[b,w]⊙l1[b,c]]         (B,W,C,3H)
//	logits = out_mlp.3(ReLU(Dropout(out_mlp.0(z))))          (B,W,C,3)
//
// z is never built: the first out_mlp layer is split over z's three blocks
// (see ScorerHidden), so the pair tensor costs H instead of 3H floats per
// (word, class) and the first GEMM a third of the work.
type Scorer struct {
	Token, Label, Out0, Out3 *layers.Linear
	Drop                     layers.Dropout
	hidden                   int
}

// NewScorer registers scorer.proj_token, scorer.proj_label and
// scorer.out_mlp.{0,3} under prefix (PyTorch default initialisation).
func NewScorer(s *autograd.Store, prefix string, hidden int, dropout float64) (*Scorer, error) {
	sc := &Scorer{Drop: layers.Dropout{P: dropout}, hidden: hidden}
	var err error
	if sc.Token, err = layers.NewLinear(s, prefix+".proj_token", hidden, 2*hidden, true, nil); err != nil {
		return nil, err
	}
	if sc.Label, err = layers.NewLinear(s, prefix+".proj_label", hidden, 2*hidden, true, nil); err != nil {
		return nil, err
	}
	if sc.Out0, err = layers.NewLinear(s, prefix+".out_mlp.0", 3*hidden, 4*hidden, true, nil); err != nil {
		return nil, err
	}
	if sc.Out3, err = layers.NewLinear(s, prefix+".out_mlp.3", 4*hidden, 3, true, nil); err != nil {
		return nil, err
	}
	return sc, nil
}

// Forward maps words (B,W,H) and prompts (B,C,H) to logits (B,W,C,3)
// ([start, end, inside]).
func (s *Scorer) Forward(g *autograd.Graph, words, prompts *autograd.Node) *autograd.Node {
	t := s.Token.Forward(g, words)
	l := s.Label.Forward(g, prompts)
	h := ScorerHidden(t, l, g.Param(s.Out0.Weight), g.Param(s.Out0.Bias))
	return s.Out3.Forward(g, autograd.ReLU(s.Drop.Forward(h)))
}

// ScorerHidden is the scorer's fused pair construction and first out_mlp
// layer: for t (B,W,2H), l (B,C,2H), weight w (4H,3H) = [Wa Wb Wc] and
// bias b (4H) it returns h (B,W,C,4H) with
//
//	h[b,w,c] = Wa·t0[b,w] + Wb·l0[b,c] + Wc·(t1[b,w]⊙l1[b,c]) + b
//
// which equals Linear(z) for the reference's z = [t0; l0; t1⊙l1].
func ScorerHidden(t, l, w, b *autograd.Node) *autograd.Node {
	return t.Graph().Apply(&scorerHiddenK{}, t, l, w, b)
}

type scorerHiddenK struct {
	B, W, C, H int
	ta, lb, p  []float32 // saved: Wa·t0 (B·W,4H), Wb·l0 (B·C,4H), t1⊙l1 (B·W·C,H)
	dta, dlb   []float32
	dp         []float32
}

func (k *scorerHiddenK) Name() string { return "scorer_hidden" }

func (k *scorerHiddenK) OutShape(in [][]int) ([]int, error) {
	t, l, w, b := in[0], in[1], in[2], in[3]
	if len(t) != 3 || len(l) != 3 || t[0] != l[0] || t[2] != l[2] || t[2]%2 != 0 {
		return nil, fmt.Errorf("token features %v and label features %v are not (B,W,2H), (B,C,2H)", t, l)
	}
	H := t[2] / 2
	if len(w) != 2 || w[0] != 4*H || w[1] != 3*H || len(b) != 1 || b[0] != 4*H {
		return nil, fmt.Errorf("weight %v / bias %v are not (4H,3H) / (4H) for H=%d", w, b, H)
	}
	k.B, k.W, k.C, k.H = t[0], t[1], l[1], H
	return []int{t[0], t[1], l[1], 4 * H}, nil
}

func (k *scorerHiddenK) Attrs() kern.Attrs { return kern.ScorerHiddenAttrs{} }

func (k *scorerHiddenK) Forward(in []Value, out Value) error {
	B, W, C, H := k.B, k.W, k.C, k.H
	nta, nlb, np := kern.ScorerHiddenSaved(B, W, C, H)
	ta, lb, p := autograd.Grow(&k.ta, nta), autograd.Grow(&k.lb, nlb), autograd.Grow(&k.p, np)
	kern.ScorerHiddenForward(out.F, ta, lb, p, in[0].F, in[1].F, in[2].F, in[3].F, B, W, C, H)
	return nil
}

// Buffers: Wa·t0 and Wb·l0 (Forward only), t1⊙l1 (saved for Backward) and
// Backward's scratch.
func (k *scorerHiddenK) Buffers([][]int) []autograd.KernelBuffer {
	B, W, C, H := k.B, k.W, k.C, k.H
	nta, nlb, np := kern.ScorerHiddenSaved(B, W, C, H)
	return []autograd.KernelBuffer{
		{Buf: &k.ta, Len: nta, Use: autograd.ForwardScratch},
		{Buf: &k.lb, Len: nlb, Use: autograd.ForwardScratch},
		{Buf: &k.p, Len: np, Use: autograd.Saved},
		{Buf: &k.dta, Len: B * W * 4 * H, Use: autograd.BackwardScratch},
		{Buf: &k.dlb, Len: B * C * 4 * H, Use: autograd.BackwardScratch},
		{Buf: &k.dp, Len: B * W * C * H, Use: autograd.BackwardScratch},
	}
}

// Backward reads the token and label features and the weight, not the
// bias or the output.
func (k *scorerHiddenK) BackwardReadsInput(i int) bool { return i < 3 }
func (k *scorerHiddenK) BackwardReadsOutput() bool     { return false }

func (k *scorerHiddenK) Backward(in []Value, _ Value, dout Value, grads []Value) error {
	B, W, C, H := k.B, k.W, k.C, k.H
	O := 4 * H
	dta, dlb := autograd.Grow(&k.dta, B*W*O), autograd.Grow(&k.dlb, B*C*O)
	dp := autograd.Grow(&k.dp, B*W*C*H)
	kern.ScorerHiddenBackward(grads[0].F, grads[1].F, grads[2].F, grads[3].F, dout.F, in[0].F, in[1].F, in[2].F, k.p, dta, dlb, dp, B, W, C, H)
	return nil
}
