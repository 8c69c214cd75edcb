//go:build glcuda

package cuda

import (
	"fmt"
	"math"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
)

// Attention on the device (kern.AttentionAttrs): BERT, causal (GPT-2) and
// DeBERTa's disentangled attention, forward and backward, as the Go kernels
// in autograd/kern/attention*.go compute them. Per batch row b the per-head
// products are cuBLAS strided-batched GEMMs over the H heads (head h of a
// (B,T,H·d) tensor starts d elements after head h−1, rows H·d apart); the
// masking, softmax and c2p/p2c gathers and scatters are attention.cu.
//
// Attention dropout (AttentionAttrs.Dropout > 0) is refused: the backend
// cannot tell a training graph (where the CPU kernel applies it) from an
// evaluation graph (where it does not).

// attnSaved indexes the backend's saved buffers of an attention kernel.
const (
	attnProbs = iota // (B,H,T,T) probabilities, saved for backward
	attnMask         // (B,T) float mask
	attnKS           // (B,T,H·d) K/s (disentangled), scratch
	attnG            // (H,B,T,A2) c2p table, scratch
	attnE            // (H,B,T,A2) p2c table, scratch
	attnRel          // (T,T) int32 relative index
	attnDS           // (B,H,T,T) score gradient, backward scratch
	attnN
)

type attnGeom struct {
	B, T, H, dh, HD int
	A2, rlo         int
	s               float32
}

func f32off(p DevicePtr, elems int) DevicePtr { return p + DevicePtr(elems*4) }

func (be *Backend) attnSetup(k autograd.Kernel, a kern.AttentionAttrs, in []autograd.Value) (attnGeom, *saved, error) {
	if a.Dropout > 0 {
		return attnGeom{}, nil, fmt.Errorf("attention dropout %g on the device is not implemented", a.Dropout)
	}
	q := in[0].Shape
	g := attnGeom{B: q[0], T: q[1], H: a.Heads, HD: q[2]}
	if g.H < 1 || g.HD%g.H != 0 {
		return g, nil, fmt.Errorf("width %d not divisible by %d heads", g.HD, g.H)
	}
	g.dh = g.HD / g.H
	g.s = float32(math.Sqrt(float64(g.dh)))
	dis := a.Kind == kern.AttnDisentangled
	relOn := dis && (a.Rel.C2P || a.Rel.P2C)
	if dis {
		g.s = a.Rel.Scale(g.dh)
	}
	if relOn {
		if len(a.Rel.RelIndex) != g.T*g.T {
			return g, nil, fmt.Errorf("RelIndex has %d values, want T·T = %d", len(a.Rel.RelIndex), g.T*g.T)
		}
		lo, hi := 2*a.Rel.AttSpan, -1
		for x, v := range a.Rel.RelIndex {
			if v < 0 || int(v) >= 2*a.Rel.AttSpan {
				return g, nil, fmt.Errorf("RelIndex[%d,%d] = %d outside [0, %d)", x/g.T, x%g.T, v, 2*a.Rel.AttSpan)
			}
			lo, hi = min(lo, int(v)), max(hi, int(v))
		}
		g.rlo, g.A2 = lo, hi-lo+1
	}
	np := g.B * g.H * g.T * g.T
	sizes := make([]int, attnN)
	sizes[attnProbs], sizes[attnMask], sizes[attnDS] = np*4, g.B*g.T*4, np*4
	if dis {
		sizes[attnKS] = g.B * g.T * g.HD * 4
	}
	if relOn {
		tab := g.H * g.B * g.T * g.A2 * 4
		if a.Rel.C2P {
			sizes[attnG] = tab
		}
		if a.Rel.P2C {
			sizes[attnE] = tab
		}
		sizes[attnRel] = g.T * g.T * 4
	}
	s, err := be.state(k, sizes...)
	if err != nil {
		return g, nil, err
	}
	return g, s, nil
}

func (be *Backend) attentionForward(k autograd.Kernel, a kern.AttentionAttrs, in []autograd.Value, out autograd.Value) error {
	g, s, err := be.attnSetup(k, a, in)
	if err != nil {
		return err
	}
	if g.B == 0 || g.T == 0 {
		return nil
	}
	B, T, H, dh, HD := g.B, g.T, g.H, g.dh, g.HD
	probs, mask := s.bufs[attnProbs], s.bufs[attnMask]
	if err := be.elementwise("gl_mask_to_float", B*T, mask, in[3].Dev); err != nil {
		return err
	}
	Q, K, V := in[0].Dev, in[1].Dev, in[2].Dev
	dis := a.Kind == kern.AttnDisentangled
	if !dis {
		for b := 0; b < B; b++ {
			x := b * T * HD
			if err := be.d.SgemmStridedBatched(false, true, T, T, dh, 1, f32off(Q, x), HD, dh, f32off(K, x), HD, dh,
				0, f32off(probs, b*H*T*T), T, T*T, H); err != nil {
				return err
			}
		}
		causal := 0
		if a.Kind == kern.AttnCausal {
			causal = 1
		}
		if err := be.d.Launch("gl_plain_probs", B*H*T, threads, probs, mask, B, H, T, g.s, causal); err != nil {
			return err
		}
	} else {
		ks := s.bufs[attnKS]
		if err := be.elementwise("gl_attn_div", B*T*HD, ks, K, g.s); err != nil {
			return err
		}
		var pk, pq, G, E, rel DevicePtr
		ri := 4
		if a.Rel.C2P {
			pk, G = in[ri].Dev, s.bufs[attnG]
			ri++
		}
		if a.Rel.P2C {
			pq, E = in[ri].Dev, s.bufs[attnE]
		}
		if a.Rel.C2P || a.Rel.P2C {
			rel = s.bufs[attnRel]
			if err := be.d.Upload(rel, ptrInt32(a.Rel.RelIndex), T*T*4); err != nil {
				return err
			}
		}
		for b := 0; b < B; b++ {
			x := b * T * HD
			if err := be.d.SgemmStridedBatched(false, true, T, T, dh, 1, f32off(Q, x), HD, dh, f32off(ks, x), HD, dh,
				0, f32off(probs, b*H*T*T), T, T*T, H); err != nil {
				return err
			}
			tb := b * T * g.A2 // (h·B + b)·T·A2 at h = 0; heads B·T·A2 apart
			if pk != 0 {
				if err := be.d.SgemmStridedBatched(false, true, T, g.A2, dh, 1, f32off(Q, x), HD, dh,
					f32off(pk, g.rlo*HD), HD, dh, 0, f32off(G, tb), g.A2, B*T*g.A2, H); err != nil {
					return err
				}
			}
			if pq != 0 {
				if err := be.d.SgemmStridedBatched(false, true, T, g.A2, dh, 1, f32off(K, x), HD, dh,
					f32off(pq, g.rlo*HD), HD, dh, 0, f32off(E, tb), g.A2, B*T*g.A2, H); err != nil {
					return err
				}
			}
		}
		if err := be.d.Launch("gl_disentangled_probs", B*H*T, threads, probs, G, E, rel, mask, B, H, T, g.A2, g.rlo, g.s); err != nil {
			return err
		}
	}
	for b := 0; b < B; b++ {
		x := b * T * HD
		if err := be.d.SgemmStridedBatched(false, false, T, dh, T, 1, f32off(probs, b*H*T*T), T, T*T, f32off(V, x), HD, dh,
			0, f32off(out.Dev, x), HD, dh, H); err != nil {
			return err
		}
	}
	return nil
}

func (be *Backend) attentionBackward(k autograd.Kernel, a kern.AttentionAttrs, in []autograd.Value, dout autograd.Value, grads []autograd.Value) error {
	if be.saved[k] == nil {
		return fmt.Errorf("backward before forward")
	}
	g, s, err := be.attnSetup(k, a, in)
	if err != nil {
		return err
	}
	dis := a.Kind == kern.AttnDisentangled
	var pk, pq, dpk, dpq DevicePtr
	if dis {
		ri := 4
		if a.Rel.C2P {
			pk, dpk = in[ri].Dev, grads[ri].Dev
			ri++
		}
		if a.Rel.P2C {
			pq, dpq = in[ri].Dev, grads[ri].Dev
		}
		// A table gradient of a term that is off does not exist (the
		// kernel has no such input), so every present one is computed.
		for i := 4; i < len(grads); i++ {
			if grads[i].Dev != 0 {
				if err := be.d.Zero(grads[i].Dev, grads[i].Size()*4); err != nil {
					return err
				}
			}
		}
	}
	if g.B == 0 || g.T == 0 {
		return nil
	}
	B, T, H, dh, HD := g.B, g.T, g.H, g.dh, g.HD
	Q, K, V := in[0].Dev, in[1].Dev, in[2].Dev
	dQ, dK, dV := grads[0].Dev, grads[1].Dev, grads[2].Dev
	probs, ds := s.bufs[attnProbs], s.bufs[attnDS]
	for b := 0; b < B; b++ {
		x, pb := b*T*HD, b*H*T*T
		if dV != 0 {
			if err := be.d.SgemmStridedBatched(true, false, T, dh, T, 1, f32off(probs, pb), T, T*T, f32off(dout.Dev, x), HD, dh,
				0, f32off(dV, x), HD, dh, H); err != nil {
				return err
			}
		}
		if err := be.d.SgemmStridedBatched(false, true, T, T, dh, 1, f32off(dout.Dev, x), HD, dh, f32off(V, x), HD, dh,
			0, f32off(ds, pb), T, T*T, H); err != nil {
			return err
		}
	}
	needQ, needK := dQ != 0 || dpk != 0, dK != 0 || dpq != 0
	if !needQ && !needK {
		return nil
	}
	if err := be.d.Launch("gl_attn_softmax_bwd", B*H*T, threads, ds, ds, probs, B*H*T, T); err != nil {
		return err
	}
	causal := 0
	if a.Kind == kern.AttnCausal {
		causal = 1
	}
	if err := be.d.Launch("gl_attn_bwd_scale", grid(B*H*T*T), threads, ds, B*H*T, T, g.s, causal); err != nil {
		return err
	}
	for b := 0; b < B; b++ {
		x, pb := b*T*HD, b*H*T*T
		if dQ != 0 {
			if err := be.d.SgemmStridedBatched(false, false, T, dh, T, 1, f32off(ds, pb), T, T*T, f32off(K, x), HD, dh,
				0, f32off(dQ, x), HD, dh, H); err != nil {
				return err
			}
		}
		if dK != 0 {
			if err := be.d.SgemmStridedBatched(true, false, T, dh, T, 1, f32off(ds, pb), T, T*T, f32off(Q, x), HD, dh,
				0, f32off(dK, x), HD, dh, H); err != nil {
				return err
			}
		}
	}
	if !dis || (pk == 0 && pq == 0) {
		return nil
	}
	rel, tab := s.bufs[attnRel], H*B*T*g.A2
	// (rel was uploaded by the forward; the table buffers are scratch.)
	type term struct {
		on     bool
		kernel string
		buf    DevicePtr
		tabIn  DevicePtr // Pk or Pq
		dX     DevicePtr // dQ (c2p) or dK (p2c), += table·P
		src    DevicePtr // Q (c2p) or K (p2c), for the table gradient
		dTab   DevicePtr
	}
	for _, t := range []term{
		{on: pk != 0 && needQ, kernel: "gl_c2p_bwd", buf: s.bufs[attnG], tabIn: pk, dX: dQ, src: Q, dTab: dpk},
		{on: pq != 0 && needK, kernel: "gl_p2c_bwd", buf: s.bufs[attnE], tabIn: pq, dX: dK, src: K, dTab: dpq},
	} {
		if !t.on {
			continue
		}
		if err := be.d.Zero(t.buf, tab*4); err != nil {
			return err
		}
		if err := be.d.Launch(t.kernel, grid(B*H*T), threads, t.buf, ds, rel, B, H, T, g.A2, g.rlo, float32(1)); err != nil {
			return err
		}
		if t.dX != 0 {
			for b := 0; b < B; b++ {
				if err := be.d.SgemmStridedBatched(false, false, T, dh, g.A2, 1, f32off(t.buf, b*T*g.A2), g.A2, B*T*g.A2,
					f32off(t.tabIn, g.rlo*HD), HD, dh, 1, f32off(t.dX, b*T*HD), HD, dh, H); err != nil {
					return err
				}
			}
		}
		if t.dTab != 0 {
			if err := be.d.SgemmStridedBatched(true, false, g.A2, dh, B*T, 1, t.buf, g.A2, B*T*g.A2, t.src, HD, dh,
				0, f32off(t.dTab, g.rlo*HD), HD, dh, H); err != nil {
				return err
			}
		}
	}
	return nil
}
