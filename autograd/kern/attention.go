package kern

import (
	"fmt"
	"math"
)

// Float32Min is torch.finfo(torch.float32).min, the value the reference
// uses for masked attention scores.
const Float32Min float32 = -math.MaxFloat32

// AttnDims are the shapes of one multi-head attention call: Q, K, V and
// the context are (Batch, Seq, Heads·HeadDim) row-major with head h in the
// columns [h·HeadDim, (h+1)·HeadDim) — exactly the output of a Linear
// layer; probabilities are (Batch, Heads, Seq, Seq).
type AttnDims struct {
	Batch, Seq, Heads, HeadDim int
}

// AttnInputs are the tensors an attention forward reads (and its backward
// reads again).
type AttnInputs struct {
	// Q, K, V are (B, T, H·d).
	Q, K, V []float32
	// Mask is the (B, T) attention mask, 1 for a real token and 0 for
	// padding; nil means all ones. Backward ignores it (the saved
	// probabilities carry it).
	Mask []float32
	// ProbsDropout is an optional (B, H, T, T) multiplier applied to the
	// probabilities before they meet V (0 for a dropped entry, 1/(1−p) for a
	// kept one); nil means no dropout. The saved probabilities are the ones
	// before dropout; backward must get the same multiplier.
	ProbsDropout []float32
}

// AttnGrads receives the input gradients of an attention backward. Each
// slice is (B, T, H·d) and is overwritten; a nil slice is not computed.
type AttnGrads struct {
	DQ, DK, DV []float32
}

func (d AttnDims) hd() int    { return d.Heads * d.HeadDim }
func (d AttnDims) xSize() int { return d.Batch * d.Seq * d.hd() }
func (d AttnDims) pSize() int { return d.Batch * d.Heads * d.Seq * d.Seq }
func (d AttnDims) items() int { return d.Batch * d.Heads }
func (d AttnDims) String() string {
	return fmt.Sprintf("B=%d T=%d H=%d d=%d", d.Batch, d.Seq, d.Heads, d.HeadDim)
}

func (d AttnDims) validate() error {
	if d.Batch < 0 || d.Seq < 0 || d.Heads < 1 || d.HeadDim < 1 {
		return fmt.Errorf("bad attention dims %v", d)
	}
	return nil
}

func attnCheckLen(name string, s []float32, want int, optional bool) error {
	if s == nil && optional {
		return nil
	}
	if len(s) != want {
		return fmt.Errorf("%s has %d values, want %d", name, len(s), want)
	}
	return nil
}

func (d AttnDims) checkInputs(in AttnInputs, forward bool) error {
	if err := d.validate(); err != nil {
		return err
	}
	n := d.xSize()
	if err := attnCheckLen("Q", in.Q, n, false); err != nil {
		return err
	}
	if err := attnCheckLen("K", in.K, n, false); err != nil {
		return err
	}
	if err := attnCheckLen("V", in.V, n, false); err != nil {
		return err
	}
	if forward {
		if err := attnCheckLen("Mask", in.Mask, d.Batch*d.Seq, true); err != nil {
			return err
		}
	}
	return attnCheckLen("ProbsDropout", in.ProbsDropout, d.pSize(), true)
}

func (d AttnDims) checkGrads(g AttnGrads) error {
	n := d.xSize()
	if err := attnCheckLen("DQ", g.DQ, n, true); err != nil {
		return err
	}
	if err := attnCheckLen("DK", g.DK, n, true); err != nil {
		return err
	}
	return attnCheckLen("DV", g.DV, n, true)
}

// head returns the offset of head h of batch b in a (B, T, H·d) tensor.
func (d AttnDims) head(b, h int) int { return b*d.Seq*d.hd() + h*d.HeadDim }

// AttentionWorkspaceSize is the number of float32 values of workspace that
// BertAttention* and CausalAttention* need (forward and backward alike).
// A workspace carries nothing from one call to the next, so one buffer may
// serve every layer; only probs must be kept from a forward to its backward.
func AttentionWorkspaceSize(d AttnDims) int { return d.pSize() }

// attnSoftmaxRow replaces row by softmax(row) in float32 (max subtracted; a
// −Inf entry gives 0).
func attnSoftmaxRow(row []float32) {
	if len(row) == 0 {
		return
	}
	mx := row[0]
	for _, v := range row[1:] {
		if v > mx {
			mx = v
		}
	}
	var sum float64
	for j, v := range row {
		e := attnExp(v - mx)
		row[j] = e
		sum += float64(e)
	}
	inv := float32(sum)
	for j := range row {
		row[j] /= inv
	}
}

// attnExp is exp(x) for the softmax's x ≤ 0, rounded to float32: range
// reduction x = n·ln2 + r and a degree-7 Taylor polynomial, both in float64
// (relative error below 1e-8 before the final rounding, so the result is
// float32(math.Exp(x)) or one ulp off), about 2.5 times faster than
// math.Exp.
func attnExp(x float32) float32 {
	if x != x || x > 0 {
		return float32(math.Exp(float64(x)))
	}
	if x < -104 {
		return 0
	}
	xd := float64(x)
	n := math.Floor(xd*math.Log2E + 0.5)
	r := xd - n*math.Ln2
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040)))))))
	return float32(p * math.Float64frombits(uint64(int64(n)+1023)<<52))
}

// attnScoreKind selects the masking rule of the plain (non-disentangled) kernels.
type attnScoreKind int

const (
	kindBert   attnScoreKind = iota // additive key mask
	kindCausal                      // causal fill, then additive key mask (GPT-2)
)

// BertAttentionForward computes BERT self-attention per (batch, head):
// score[i,j] = (Q_i·K_j)/sqrt(d) + (1−m_j)·Float32Min, A = softmax_j(score)
// (padded query rows are not zeroed), ctx = A·V (through in.ProbsDropout
// when given). probs (B,H,T,T) receives A for the backward; ctx (B,T,H·d) is
// overwritten; ws has AttentionWorkspaceSize(d) values.
func BertAttentionForward(d AttnDims, in AttnInputs, probs, ctx, ws []float32) error {
	if err := attnPlainForward(d, in, probs, ctx, ws, kindBert); err != nil {
		return fmt.Errorf("kern.BertAttentionForward %v: %w", d, err)
	}
	return nil
}

// BertAttentionBackward computes the gradients of BertAttentionForward from
// the saved probs and dctx (B,T,H·d), overwriting the non-nil slices of g.
func BertAttentionBackward(d AttnDims, in AttnInputs, probs, dctx []float32, g AttnGrads, ws []float32) error {
	if err := attnPlainBackward(d, in, probs, dctx, g, ws, kindBert); err != nil {
		return fmt.Errorf("kern.BertAttentionBackward %v: %w", d, err)
	}
	return nil
}

// CausalAttentionForward computes GPT-2 self-attention per (batch, head):
// w[i,j] = (Q_i·K_j)/sqrt(d); w[i,j] = Float32Min where j > i (replaced);
// w[i,j] += (1−m_j)·Float32Min (added, in float32, so it may reach −Inf);
// A = softmax_j(w); ctx = A·V. Arguments as in BertAttentionForward.
func CausalAttentionForward(d AttnDims, in AttnInputs, probs, ctx, ws []float32) error {
	if err := attnPlainForward(d, in, probs, ctx, ws, kindCausal); err != nil {
		return fmt.Errorf("kern.CausalAttentionForward %v: %w", d, err)
	}
	return nil
}

// CausalAttentionBackward computes the gradients of CausalAttentionForward
// (no gradient reaches the scores of causally replaced entries), overwriting
// the non-nil slices of g.
func CausalAttentionBackward(d AttnDims, in AttnInputs, probs, dctx []float32, g AttnGrads, ws []float32) error {
	if err := attnPlainBackward(d, in, probs, dctx, g, ws, kindCausal); err != nil {
		return fmt.Errorf("kern.CausalAttentionBackward %v: %w", d, err)
	}
	return nil
}

func attnPlainForward(d AttnDims, in AttnInputs, probs, ctx, ws []float32, kind attnScoreKind) error {
	if err := d.checkInputs(in, true); err != nil {
		return err
	}
	if err := attnCheckLen("probs", probs, d.pSize(), false); err != nil {
		return err
	}
	if err := attnCheckLen("ctx", ctx, d.xSize(), false); err != nil {
		return err
	}
	if err := attnCheckWorkspace(ws, AttentionWorkspaceSize(d)); err != nil {
		return err
	}
	T, H, dh, HD := d.Seq, d.Heads, d.HeadDim, d.hd()
	if T == 0 || d.Batch == 0 {
		return nil
	}
	sc := float32(math.Sqrt(float64(dh)))
	ParallelFor(d.items(), 1, func(lo, hi int) {
		for it := lo; it < hi; it++ {
			b, h := it/H, it%H
			off := d.head(b, h)
			p := probs[it*T*T : (it+1)*T*T]
			Sgemm(false, true, T, T, dh, 1, in.Q[off:], HD, in.K[off:], HD, 0, p, T)
			var m []float32
			if in.Mask != nil {
				m = in.Mask[b*T : (b+1)*T]
			}
			for i := 0; i < T; i++ {
				row := p[i*T : (i+1)*T]
				for j := range row {
					w := row[j] / sc
					if kind == kindCausal && j > i {
						w = Float32Min
					}
					if m != nil {
						w = float32(w + float32(1-m[j])*Float32Min)
					}
					row[j] = w
				}
				attnSoftmaxRow(row)
			}
			attnContextProduct(d, in, p, ctx, ws[it*T*T:(it+1)*T*T], it, off)
		}
	})
	return nil
}

// attnContextProduct writes ctx_bh = (P∘dropout)·V_bh for item it, using
// tmp (T·T values) for the dropped probabilities.
func attnContextProduct(d AttnDims, in AttnInputs, p, ctx, tmp []float32, it, off int) {
	T, dh, HD := d.Seq, d.HeadDim, d.hd()
	a := p
	if in.ProbsDropout != nil {
		a = tmp[:T*T]
		dm := in.ProbsDropout[it*T*T : (it+1)*T*T]
		for x := range a {
			a[x] = p[x] * dm[x]
		}
	}
	Sgemm(false, false, T, dh, T, 1, a, T, in.V[off:], HD, 0, ctx[off:], HD)
}

// attnProbsBackward computes, for item it, dV_bh (if wanted) and the score
// gradient dS = P∘(dP − rowsum(P∘dP)) with dP = (dctx·Vᵀ)∘dropout, into ds.
func attnProbsBackward(d AttnDims, in AttnInputs, p, dctx []float32, dv []float32, ds []float32, it, off int) {
	T, dh, HD := d.Seq, d.HeadDim, d.hd()
	if dv != nil {
		a := p
		if in.ProbsDropout != nil {
			dm := in.ProbsDropout[it*T*T : (it+1)*T*T]
			for x := range ds {
				ds[x] = p[x] * dm[x]
			}
			a = ds
		}
		Sgemm(true, false, T, dh, T, 1, a, T, dctx[off:], HD, 0, dv[off:], HD)
	}
	Sgemm(false, true, T, T, dh, 1, dctx[off:], HD, in.V[off:], HD, 0, ds, T)
	if in.ProbsDropout != nil {
		dm := in.ProbsDropout[it*T*T : (it+1)*T*T]
		for x := range ds {
			ds[x] *= dm[x]
		}
	}
	for i := 0; i < T; i++ {
		pr := p[i*T : (i+1)*T]
		dr := ds[i*T : (i+1)*T]
		var dot float64
		for j, v := range pr {
			dot += float64(v) * float64(dr[j])
		}
		dt := float32(dot)
		for j, v := range pr {
			dr[j] = v * (dr[j] - dt)
		}
	}
}

func attnPlainBackward(d AttnDims, in AttnInputs, probs, dctx []float32, g AttnGrads, ws []float32, kind attnScoreKind) error {
	if err := d.checkInputs(in, false); err != nil {
		return err
	}
	if err := attnCheckLen("probs", probs, d.pSize(), false); err != nil {
		return err
	}
	if err := attnCheckLen("dctx", dctx, d.xSize(), false); err != nil {
		return err
	}
	if err := d.checkGrads(g); err != nil {
		return err
	}
	if err := attnCheckWorkspace(ws, AttentionWorkspaceSize(d)); err != nil {
		return err
	}
	T, H, dh, HD := d.Seq, d.Heads, d.HeadDim, d.hd()
	if T == 0 || d.Batch == 0 {
		return nil
	}
	sc := float32(math.Sqrt(float64(dh)))
	ParallelFor(d.items(), 1, func(lo, hi int) {
		for it := lo; it < hi; it++ {
			b, h := it/H, it%H
			off := d.head(b, h)
			p := probs[it*T*T : (it+1)*T*T]
			ds := ws[it*T*T : (it+1)*T*T]
			attnProbsBackward(d, in, p, dctx, g.DV, ds, it, off)
			if g.DQ == nil && g.DK == nil {
				continue
			}
			for i := 0; i < T; i++ {
				row := ds[i*T : (i+1)*T]
				for j := range row {
					if kind == kindCausal && j > i {
						row[j] = 0
					} else {
						row[j] /= sc
					}
				}
			}
			if g.DQ != nil {
				Sgemm(false, false, T, dh, T, 1, ds, T, in.K[off:], HD, 0, g.DQ[off:], HD)
			}
			if g.DK != nil {
				Sgemm(true, false, T, dh, T, 1, ds, T, in.Q[off:], HD, 0, g.DK[off:], HD)
			}
		}
	})
	return nil
}

func attnCheckWorkspace(ws []float32, want int) error {
	if len(ws) < want {
		return fmt.Errorf("workspace has %d values, need %d", len(ws), want)
	}
	return nil
}
