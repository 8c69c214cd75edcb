package kern

import (
	"fmt"
	"math"
)

// Disentangled holds the settings of DeBERTa-v2/v3 disentangled attention
// that are not tensors.
type Disentangled struct {
	// AttSpan is pos_ebd_size (AttSpan(P, Pmax)); Pk and Pq have 2·AttSpan rows.
	AttSpan int
	// C2P and P2C say whether "c2p" and "p2c" are in pos_att_type. They set
	// the scale s = sqrt(d·(1 + C2P + P2C)) and which relative terms exist.
	C2P, P2C bool
	// RelIndex is the Seq×Seq table δ(i,j) from BuildRelativeIndex; it may
	// be nil when neither C2P nor P2C is set.
	RelIndex []int32
	// ScaleFactor overrides sf when positive. The reference counts c2p and
	// p2c in sf even when relative_attention is false; such a model runs
	// with C2P = P2C = false and ScaleFactor = 1 + number of pos_att_type
	// entries.
	ScaleFactor int
}

// Scale is s = sqrt(float32(d)·sf) in float32, sf = c.ScaleFactor if
// positive, else 1 + [C2P] + [P2C].
func (c Disentangled) Scale(headDim int) float32 {
	sf := float32(1)
	if c.C2P {
		sf++
	}
	if c.P2C {
		sf++
	}
	if c.ScaleFactor > 0 {
		sf = float32(c.ScaleFactor)
	}
	return float32(math.Sqrt(float64(float32(headDim) * sf)))
}

func (c Disentangled) nrel() int {
	n := 0
	if c.C2P {
		n++
	}
	if c.P2C {
		n++
	}
	return n
}

// DisentangledWorkspaceSize is the number of float32 values of workspace
// DisentangledAttentionForward and DisentangledAttentionBackward need:
// B·H·(T·max(T,d) + n·T·W) with n the number of relative terms and W the
// number of table rows between the smallest and largest entry of
// c.RelIndex (at most 2·T−1 for the standard tables): only those rows of
// Pk and Pq take part, so only they are multiplied.
func DisentangledWorkspaceSize(d AttnDims, c Disentangled) int {
	m := d.Seq
	if d.HeadDim > m {
		m = d.HeadDim
	}
	return d.items() * (d.Seq*m + c.nrel()*d.Seq*c.relWidth())
}

// relWidth is the number of table rows from min to max of RelIndex.
func (c Disentangled) relWidth() int {
	if c.nrel() == 0 || len(c.RelIndex) == 0 {
		return 0
	}
	lo, hi := c.RelIndex[0], c.RelIndex[0]
	for _, v := range c.RelIndex {
		lo, hi = min(lo, v), max(hi, v)
	}
	return int(hi) - int(lo) + 1
}

// layout of the workspace: [items × T·max(T,d)] then, for c2p, the
// (H, B, T, 2A) buffer G, then for p2c the same-shaped buffer E.
func (c Disentangled) split(d AttnDims, ws []float32) (loc []float32, locN int, g, e []float32) {
	m := d.Seq
	if d.HeadDim > m {
		m = d.HeadDim
	}
	locN = d.Seq * m
	n := d.items() * locN
	loc = ws[:n]
	relN := d.items() * d.Seq * c.relWidth()
	if c.C2P {
		g = ws[n : n+relN]
		n += relN
	}
	if c.P2C {
		e = ws[n : n+relN]
	}
	return
}

// check validates the settings and tables and returns the range [lo, hi]
// of table rows RelIndex uses.
func (c Disentangled) check(d AttnDims, pk, pq []float32) (lo, hi int, err error) {
	if c.nrel() == 0 {
		return 0, 0, nil
	}
	if c.AttSpan < 1 {
		return 0, 0, fmt.Errorf("AttSpan %d < 1", c.AttSpan)
	}
	T := d.Seq
	if len(c.RelIndex) != T*T {
		return 0, 0, fmt.Errorf("RelIndex has %d values, want T·T = %d", len(c.RelIndex), T*T)
	}
	lo, hi = 2*c.AttSpan, -1
	for x, v := range c.RelIndex {
		if v < 0 || int(v) >= 2*c.AttSpan {
			return 0, 0, fmt.Errorf("RelIndex[%d,%d] = %d outside [0, %d)", x/T, x%T, v, 2*c.AttSpan)
		}
		lo, hi = min(lo, int(v)), max(hi, int(v))
	}
	rows := 2 * c.AttSpan * d.hd()
	if c.C2P {
		if err := attnCheckLen("Pk", pk, rows, false); err != nil {
			return 0, 0, err
		}
	}
	if c.P2C {
		if err := attnCheckLen("Pq", pq, rows, false); err != nil {
			return 0, 0, err
		}
	}
	return lo, hi, nil
}

// DisentangledAttentionForward computes DeBERTa-v2/v3 self-attention per
// (batch, head), as transformers v4.40.2 does in float32:
//
//	content[i,j] = Q_i·(K_j/s)
//	c2p[i,j]     = (Q_i·Pk[δ(i,j)])/s        (if c.C2P)
//	p2c[i,j]     = (K_j·Pq[δ(i,j)])/s        (if c.P2C)
//	score        = content + (c2p + p2c)
//	score[i,j]   = Float32Min where m_i·m_j = 0 (filled)
//	A            = softmax_j(score), then A[i,j] = 0 where m_i·m_j = 0
//	ctx          = A·V                       (through in.ProbsDropout if given)
//
// with s = c.Scale(d) and δ = c.RelIndex. pk and pq are (2·AttSpan, H·d):
// the relative embeddings (after their LayerNorm) through key_proj and
// query_proj; either may be nil when its term is off. probs (B,H,T,T)
// receives A; ctx is overwritten; ws has DisentangledWorkspaceSize values.
// A padded query row gets all-zero probabilities and a zero context.
func DisentangledAttentionForward(d AttnDims, c Disentangled, in AttnInputs, pk, pq, probs, ctx, ws []float32) error {
	if err := disentangledForward(d, c, in, pk, pq, probs, ctx, ws); err != nil {
		return fmt.Errorf("kern.DisentangledAttentionForward %v: %w", d, err)
	}
	return nil
}

func disentangledForward(d AttnDims, c Disentangled, in AttnInputs, pk, pq, probs, ctx, ws []float32) error {
	if err := d.checkInputs(in, true); err != nil {
		return err
	}
	rlo, rhi, err := c.check(d, pk, pq)
	if err != nil {
		return err
	}
	if err := attnCheckLen("probs", probs, d.pSize(), false); err != nil {
		return err
	}
	if err := attnCheckLen("ctx", ctx, d.xSize(), false); err != nil {
		return err
	}
	if err := attnCheckWorkspace(ws, DisentangledWorkspaceSize(d, c)); err != nil {
		return err
	}
	T, H, dh, HD := d.Seq, d.Heads, d.HeadDim, d.hd()
	if T == 0 || d.Batch == 0 {
		return nil
	}
	s := c.Scale(dh)
	A2 := rhi - rlo + 1 // table rows used: [rlo, rhi]
	loc, locN, gbuf, ebuf := c.split(d, ws)
	ParallelFor(d.items(), 1, func(lo, hi int) {
		for it := lo; it < hi; it++ {
			b, h := it/H, it%H
			off := d.head(b, h)
			rel := (h*d.Batch + b) * T * A2
			p := probs[it*T*T : (it+1)*T*T]
			// content: Q·(K/s)ᵀ, K divided first as the reference does.
			ks := loc[it*locN : it*locN+T*dh]
			for t := 0; t < T; t++ {
				src := in.K[off+t*HD : off+t*HD+dh]
				dst := ks[t*dh : (t+1)*dh]
				for x, v := range src {
					dst[x] = v / s
				}
			}
			Sgemm(false, true, T, T, dh, 1, in.Q[off:], HD, ks, dh, 0, p, T)
			var cq, ek []float32
			if c.C2P {
				cq = gbuf[rel : rel+T*A2]
				Sgemm(false, true, T, A2, dh, 1, in.Q[off:], HD, pk[rlo*HD+h*dh:], HD, 0, cq, A2)
			}
			if c.P2C {
				ek = ebuf[rel : rel+T*A2]
				Sgemm(false, true, T, A2, dh, 1, in.K[off:], HD, pq[rlo*HD+h*dh:], HD, 0, ek, A2)
			}
			var m []float32
			if in.Mask != nil {
				m = in.Mask[b*T : (b+1)*T]
			}
			for i := 0; i < T; i++ {
				row := p[i*T : (i+1)*T]
				if m != nil && m[i] == 0 {
					// Every entry is filled with Float32Min, so the softmax is
					// uniform, and then zeroed.
					for j := range row {
						row[j] = 0
					}
					continue
				}
				if c.nrel() > 0 {
					idx := c.RelIndex[i*T : (i+1)*T]
					for j := range row {
						var r float32
						if c.C2P {
							r = cq[i*A2+int(idx[j])-rlo] / s
						}
						if c.P2C {
							r = float32(r + ek[j*A2+int(idx[j])-rlo]/s)
						}
						row[j] = float32(row[j] + r)
					}
				}
				if m != nil {
					for j := range row {
						if m[j] == 0 {
							row[j] = Float32Min
						}
					}
				}
				attnSoftmaxRow(row)
				if m != nil {
					for j := range row {
						if m[j] == 0 {
							row[j] = 0
						}
					}
				}
			}
			attnContextProduct(d, in, p, ctx, loc[it*locN:(it+1)*locN], it, off)
		}
	})
	return nil
}

// DisentangledAttentionBackward computes the gradients of
// DisentangledAttentionForward from the saved probs and dctx (B,T,H·d):
// the non-nil slices of g and dpk, dpq ((2·AttSpan, H·d), for the terms that
// are on; a term that is off gets a zero gradient) are overwritten. The
// gathers of c2p and p2c are scattered back and the per-head table
// gradients are summed over the batch in a fixed order, so results do not
// depend on the worker count.
func DisentangledAttentionBackward(d AttnDims, c Disentangled, in AttnInputs, pk, pq, probs, dctx []float32, g AttnGrads, dpk, dpq, ws []float32) error {
	if err := disentangledBackward(d, c, in, pk, pq, probs, dctx, g, dpk, dpq, ws); err != nil {
		return fmt.Errorf("kern.DisentangledAttentionBackward %v: %w", d, err)
	}
	return nil
}

func disentangledBackward(d AttnDims, c Disentangled, in AttnInputs, pk, pq, probs, dctx []float32, g AttnGrads, dpk, dpq, ws []float32) error {
	if err := d.checkInputs(in, false); err != nil {
		return err
	}
	rlo, rhi, err := c.check(d, pk, pq)
	if err != nil {
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
	if err := attnCheckWorkspace(ws, DisentangledWorkspaceSize(d, c)); err != nil {
		return err
	}
	tab := 2 * c.AttSpan * d.hd()
	if dpk != nil {
		if len(dpk) != tab {
			return fmt.Errorf("dPk has %d values, want %d", len(dpk), tab)
		}
		if !c.C2P {
			clear(dpk)
			dpk = nil
		}
	}
	if dpq != nil {
		if len(dpq) != tab {
			return fmt.Errorf("dPq has %d values, want %d", len(dpq), tab)
		}
		if !c.P2C {
			clear(dpq)
			dpq = nil
		}
	}
	T, H, dh, HD := d.Seq, d.Heads, d.HeadDim, d.hd()
	if T == 0 || d.Batch == 0 {
		clear(dpk)
		clear(dpq)
		return nil
	}
	s := c.Scale(dh)
	A2 := rhi - rlo + 1 // table rows used: [rlo, rhi]
	loc, locN, gbuf, ebuf := c.split(d, ws)
	needQ := g.DQ != nil || dpk != nil
	needK := g.DK != nil || dpq != nil
	ParallelFor(d.items(), 1, func(lo, hi int) {
		for it := lo; it < hi; it++ {
			b, h := it/H, it%H
			off := d.head(b, h)
			rel := (h*d.Batch + b) * T * A2
			p := probs[it*T*T : (it+1)*T*T]
			ds := loc[it*locN : it*locN+T*T]
			attnProbsBackward(d, in, p, dctx, g.DV, ds, it, off)
			if !needQ && !needK {
				continue
			}
			for x := range ds {
				ds[x] /= s
			}
			// content term: score = Q·(K/s)ᵀ.
			if g.DQ != nil {
				Sgemm(false, false, T, dh, T, 1, ds, T, in.K[off:], HD, 0, g.DQ[off:], HD)
			}
			if g.DK != nil {
				Sgemm(true, false, T, dh, T, 1, ds, T, in.Q[off:], HD, 0, g.DK[off:], HD)
			}
			if c.C2P && needQ {
				// G[i, δ(i,j)] += dS[i,j]/s; dQ += G·Pk_h.
				gq := gbuf[rel : rel+T*A2]
				clear(gq)
				for i := 0; i < T; i++ {
					idx := c.RelIndex[i*T : (i+1)*T]
					gr := gq[i*A2 : (i+1)*A2]
					for j, v := range ds[i*T : (i+1)*T] {
						gr[int(idx[j])-rlo] += v
					}
				}
				if g.DQ != nil {
					Sgemm(false, false, T, dh, A2, 1, gq, A2, pk[rlo*HD+h*dh:], HD, 1, g.DQ[off:], HD)
				}
			}
			if c.P2C && needK {
				// E[j, δ(i,j)] += dS[i,j]/s; dK += E·Pq_h.
				ek := ebuf[rel : rel+T*A2]
				clear(ek)
				for i := 0; i < T; i++ {
					idx := c.RelIndex[i*T : (i+1)*T]
					for j, v := range ds[i*T : (i+1)*T] {
						ek[j*A2+int(idx[j])-rlo] += v
					}
				}
				if g.DK != nil {
					Sgemm(false, false, T, dh, A2, 1, ek, A2, pq[rlo*HD+h*dh:], HD, 1, g.DK[off:], HD)
				}
			}
		}
	})
	// Table gradients: per head, one product over the stacked (b, t) rows;
	// rows outside [rlo, rhi] get no gradient.
	clear(dpk)
	clear(dpq)
	if dpk != nil || dpq != nil {
		BT := d.Batch * T
		ParallelFor(H, 1, func(lo, hi int) {
			for h := lo; h < hi; h++ {
				rel := h * d.Batch * T * A2
				if dpk != nil {
					Sgemm(true, false, A2, dh, BT, 1, gbuf[rel:rel+BT*A2], A2, in.Q[h*dh:], HD, 0, dpk[rlo*HD+h*dh:], HD)
				}
				if dpq != nil {
					Sgemm(true, false, A2, dh, BT, 1, ebuf[rel:rel+BT*A2], A2, in.K[h*dh:], HD, 0, dpq[rlo*HD+h*dh:], HD)
				}
			}
		})
	}
	return nil
}
