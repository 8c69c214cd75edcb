package models

import (
	"fmt"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
	"github.com/gliner-go/gliner/layers"
)

// Scorer is the token models' scorer (`scorer.*`, spec §3.6):
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

func (k *scorerHiddenK) Forward(in []Value, out Value) error {
	t, l, w, bias := in[0].F, in[1].F, in[2].F, in[3].F
	B, W, C, H := k.B, k.W, k.C, k.H
	O := 4 * H
	ta := autograd.Grow(&k.ta, B*W*O)
	lb := autograd.Grow(&k.lb, B*C*O)
	p := autograd.Grow(&k.p, B*W*C*H)
	kern.Sgemm(false, true, B*W, O, H, 1, t, 2*H, w, 3*H, 0, ta, O)
	kern.Sgemm(false, true, B*C, O, H, 1, l, 2*H, w[H:], 3*H, 0, lb, O)
	kern.ParallelFor(B*W, 4, func(lo, hi int) {
		for bw := lo; bw < hi; bw++ {
			b := bw / W
			t1 := t[bw*2*H+H : (bw+1)*2*H]
			for c := 0; c < C; c++ {
				l1 := l[(b*C+c)*2*H+H : (b*C+c+1)*2*H]
				pr := p[(bw*C+c)*H : (bw*C+c+1)*H]
				for j := range pr {
					pr[j] = t1[j] * l1[j]
				}
			}
		}
	})
	kern.Sgemm(false, true, B*W*C, O, H, 1, p, H, w[2*H:], 3*H, 0, out.F, O)
	kern.ParallelFor(B*W, 4, func(lo, hi int) {
		for bw := lo; bw < hi; bw++ {
			b := bw / W
			tr := ta[bw*O : (bw+1)*O]
			for c := 0; c < C; c++ {
				lr := lb[(b*C+c)*O : (b*C+c+1)*O]
				or := out.F[(bw*C+c)*O : (bw*C+c+1)*O]
				for j := range or {
					or[j] += tr[j] + lr[j] + bias[j]
				}
			}
		}
	})
	return nil
}

func (k *scorerHiddenK) Backward(in []Value, _ Value, dout Value, grads []Value) error {
	t, l, w := in[0].F, in[1].F, in[2].F
	dh := dout.F
	B, W, C, H := k.B, k.W, k.C, k.H
	O := 4 * H
	// Row sums of dh over classes (dta) and over words (dlb), in float64.
	dta := autograd.Grow(&k.dta, B*W*O)
	dlb := autograd.Grow(&k.dlb, B*C*O)
	kern.ParallelFor(B, 1, func(lo, hi int) {
		acc := make([]float64, O)
		for b := lo; b < hi; b++ {
			for wi := 0; wi < W; wi++ {
				clear(acc)
				for c := 0; c < C; c++ {
					for j, v := range dh[((b*W+wi)*C+c)*O : ((b*W+wi)*C+c+1)*O] {
						acc[j] += float64(v)
					}
				}
				for j, v := range acc {
					dta[(b*W+wi)*O+j] = float32(v)
				}
			}
			for c := 0; c < C; c++ {
				clear(acc)
				for wi := 0; wi < W; wi++ {
					for j, v := range dh[((b*W+wi)*C+c)*O : ((b*W+wi)*C+c+1)*O] {
						acc[j] += float64(v)
					}
				}
				for j, v := range acc {
					dlb[(b*C+c)*O+j] = float32(v)
				}
			}
		}
	})
	if dw := grads[2].F; dw != nil {
		kern.Sgemm(true, false, O, H, B*W, 1, dta, O, t, 2*H, 0, dw, 3*H)
		kern.Sgemm(true, false, O, H, B*C, 1, dlb, O, l, 2*H, 0, dw[H:], 3*H)
		kern.Sgemm(true, false, O, H, B*W*C, 1, dh, O, k.p, H, 0, dw[2*H:], 3*H)
	}
	if db := grads[3].F; db != nil {
		acc := make([]float64, O)
		for r := 0; r < B*W; r++ {
			for j, v := range dta[r*O : (r+1)*O] {
				acc[j] += float64(v)
			}
		}
		for j, v := range acc {
			db[j] = float32(v)
		}
	}
	dt, dl := grads[0].F, grads[1].F
	if dt == nil && dl == nil {
		return nil
	}
	dp := autograd.Grow(&k.dp, B*W*C*H)
	kern.Sgemm(false, false, B*W*C, H, O, 1, dh, O, w[2*H:], 3*H, 0, dp, H)
	if dt != nil {
		kern.Sgemm(false, false, B*W, H, O, 1, dta, O, w, 3*H, 0, dt, 2*H)
	}
	if dl != nil {
		kern.Sgemm(false, false, B*C, H, O, 1, dlb, O, w[H:], 3*H, 0, dl, 2*H)
	}
	kern.ParallelFor(B, 1, func(lo, hi int) {
		acc := make([]float64, H)
		for b := lo; b < hi; b++ {
			if dt != nil {
				for wi := 0; wi < W; wi++ {
					clear(acc)
					for c := 0; c < C; c++ {
						l1 := l[(b*C+c)*2*H+H : (b*C+c+1)*2*H]
						for j, v := range dp[((b*W+wi)*C+c)*H : ((b*W+wi)*C+c+1)*H] {
							acc[j] += float64(v) * float64(l1[j])
						}
					}
					out := dt[(b*W+wi)*2*H+H : (b*W+wi+1)*2*H]
					for j, v := range acc {
						out[j] = float32(v)
					}
				}
			}
			if dl != nil {
				for c := 0; c < C; c++ {
					clear(acc)
					for wi := 0; wi < W; wi++ {
						t1 := t[(b*W+wi)*2*H+H : (b*W+wi+1)*2*H]
						for j, v := range dp[((b*W+wi)*C+c)*H : ((b*W+wi)*C+c+1)*H] {
							acc[j] += float64(v) * float64(t1[j])
						}
					}
					out := dl[(b*C+c)*2*H+H : (b*C+c+1)*2*H]
					for j, v := range acc {
						out[j] = float32(v)
					}
				}
			}
		}
	})
	return nil
}
