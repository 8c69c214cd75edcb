package kern

import (
	"math"
	"math/rand/v2"
	"testing"
)

// This file holds the float64 reference implementations of the three
// attention kernels and a small central-difference helper, used by the
// attention tests.

const (
	clsNormal = iota // a real score
	clsMin           // float32 min (the score is absorbed in float32)
	clsNegInf        // −Inf (float32 min added twice, GPT-2)
)

// refAttn is a naive float64 attention with the reference's float32 mask
// semantics emulated exactly: a row with at least one real score puts zero
// probability on masked entries; a row without any is uniform over its
// Float32Min entries (their scores are all equal in float32).
type refAttn struct {
	d    AttnDims
	kind int // 0 BERT, 1 causal (GPT-2), 2 disentangled
	c    Disentangled
	mask []float64 // (B,T) or nil
	drop []float64 // (B,H,T,T) or nil
}

const (
	refBert = iota
	refCausal
	refDeberta
)

func (r refAttn) hd() int { return r.d.Heads * r.d.HeadDim }

func (r refAttn) m(b, j int) float64 {
	if r.mask == nil {
		return 1
	}
	return r.mask[b*r.d.Seq+j]
}

func dot64(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func (r refAttn) vec(x []float64, b, t, h int) []float64 {
	T, dh, HD := r.d.Seq, r.d.HeadDim, r.hd()
	o := (b*T+t)*HD + h*dh
	return x[o : o+dh]
}

func (r refAttn) scale() float64 {
	switch r.kind {
	case refDeberta:
		sf := 1.0
		if r.c.C2P {
			sf++
		}
		if r.c.P2C {
			sf++
		}
		if r.c.ScaleFactor > 0 {
			sf = float64(r.c.ScaleFactor)
		}
		return math.Sqrt(float64(r.d.HeadDim) * sf)
	default:
		return math.Sqrt(float64(r.d.HeadDim))
	}
}

// rawScore is the unmasked score of pair (i,j) of (b,h).
func (r refAttn) rawScore(q, k, pk, pq []float64, b, h, i, j int) float64 {
	s := r.scale()
	v := dot64(r.vec(q, b, i, h), r.vec(k, b, j, h)) / s
	if r.kind == refDeberta {
		T, dh, HD := r.d.Seq, r.d.HeadDim, r.hd()
		if r.c.C2P || r.c.P2C {
			t := int(r.c.RelIndex[i*T+j])
			if r.c.C2P {
				v += dot64(r.vec(q, b, i, h), pk[t*HD+h*dh:t*HD+h*dh+dh]) / s
			}
			if r.c.P2C {
				v += dot64(r.vec(k, b, j, h), pq[t*HD+h*dh:t*HD+h*dh+dh]) / s
			}
		}
	}
	return v
}

func (r refAttn) class(b, i, j int) int {
	switch r.kind {
	case refBert:
		if r.m(b, j) == 0 {
			return clsMin
		}
	case refCausal:
		if j > i {
			if r.m(b, j) == 0 {
				return clsNegInf
			}
			return clsMin
		}
		if r.m(b, j) == 0 {
			return clsMin
		}
	case refDeberta:
		if r.m(b, i)*r.m(b, j) == 0 {
			return clsMin
		}
	}
	return clsNormal
}

// forward returns ctx (B,T,H·d) and probs (B,H,T,T).
func (r refAttn) forward(q, k, v, pk, pq []float64) (ctx, probs []float64) {
	B, T, H, dh, HD := r.d.Batch, r.d.Seq, r.d.Heads, r.d.HeadDim, r.hd()
	ctx = make([]float64, B*T*HD)
	probs = make([]float64, B*H*T*T)
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			P := probs[(b*H+h)*T*T : (b*H+h+1)*T*T]
			for i := 0; i < T; i++ {
				row := P[i*T : (i+1)*T]
				anyNormal := false
				for j := 0; j < T; j++ {
					if r.class(b, i, j) == clsNormal {
						anyNormal = true
					}
				}
				if anyNormal {
					mx := math.Inf(-1)
					for j := 0; j < T; j++ {
						if r.class(b, i, j) == clsNormal {
							row[j] = r.rawScore(q, k, pk, pq, b, h, i, j)
							mx = math.Max(mx, row[j])
						}
					}
					var sum float64
					for j := 0; j < T; j++ {
						if r.class(b, i, j) == clsNormal {
							row[j] = math.Exp(row[j] - mx)
							sum += row[j]
						} else {
							row[j] = 0
						}
					}
					for j := range row {
						row[j] /= sum
					}
				} else {
					n := 0
					for j := 0; j < T; j++ {
						if r.class(b, i, j) == clsMin {
							n++
						}
					}
					for j := 0; j < T; j++ {
						row[j] = 0
						if r.class(b, i, j) == clsMin {
							row[j] = 1 / float64(n)
						}
					}
				}
				if r.kind == refDeberta {
					for j := 0; j < T; j++ {
						if r.class(b, i, j) != clsNormal {
							row[j] = 0
						}
					}
				}
				out := ctx[(b*T+i)*HD+h*dh : (b*T+i)*HD+h*dh+dh]
				for j := 0; j < T; j++ {
					a := row[j]
					if r.drop != nil {
						a *= r.drop[(b*H+h)*T*T+i*T+j]
					}
					vj := r.vec(v, b, j, h)
					for x := range out {
						out[x] += a * vj[x]
					}
				}
			}
		}
	}
	return ctx, probs
}

// backward is the analytic float64 gradient with the reference's autograd
// semantics (additive masks pass gradient, replaced/filled entries do not).
func (r refAttn) backward(q, k, v, pk, pq, probs, dctx []float64) (dq, dk, dv, dpk, dpq []float64) {
	B, T, H, dh, HD := r.d.Batch, r.d.Seq, r.d.Heads, r.d.HeadDim, r.hd()
	dq = make([]float64, len(q))
	dk = make([]float64, len(k))
	dv = make([]float64, len(v))
	dpk = make([]float64, len(pk))
	dpq = make([]float64, len(pq))
	s := r.scale()
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			P := probs[(b*H+h)*T*T : (b*H+h+1)*T*T]
			for i := 0; i < T; i++ {
				dP := make([]float64, T)
				for j := 0; j < T; j++ {
					dm := 1.0
					if r.drop != nil {
						dm = r.drop[(b*H+h)*T*T+i*T+j]
					}
					dP[j] = dot64(r.vec(dctx, b, i, h), r.vec(v, b, j, h)) * dm
					g := r.vec(dctx, b, i, h)
					dvj := r.vec(dv, b, j, h)
					for x := range dvj {
						dvj[x] += P[i*T+j] * dm * g[x]
					}
				}
				var sum float64
				for j := 0; j < T; j++ {
					sum += P[i*T+j] * dP[j]
				}
				for j := 0; j < T; j++ {
					dS := P[i*T+j] * (dP[j] - sum)
					if r.kind == refCausal && j > i {
						continue
					}
					if r.kind == refDeberta && r.class(b, i, j) != clsNormal {
						continue
					}
					g := dS / s
					qi, kj := r.vec(q, b, i, h), r.vec(k, b, j, h)
					dqi, dkj := r.vec(dq, b, i, h), r.vec(dk, b, j, h)
					for x := 0; x < dh; x++ {
						dqi[x] += g * kj[x]
						dkj[x] += g * qi[x]
					}
					if r.kind == refDeberta && (r.c.C2P || r.c.P2C) {
						t := int(r.c.RelIndex[i*T+j])
						o := t*HD + h*dh
						if r.c.C2P {
							for x := 0; x < dh; x++ {
								dqi[x] += g * pk[o+x]
								dpk[o+x] += g * qi[x]
							}
						}
						if r.c.P2C {
							for x := 0; x < dh; x++ {
								dkj[x] += g * pq[o+x]
								dpq[o+x] += g * kj[x]
							}
						}
					}
				}
			}
		}
	}
	return
}

// numGrad returns the central-difference gradient of f at x (x is
// perturbed in place and restored).
func numGrad(x []float64, f func() float64) []float64 {
	const h = 1e-6
	g := make([]float64, len(x))
	for i := range x {
		old := x[i]
		x[i] = old + h
		fp := f()
		x[i] = old - h
		fm := f()
		x[i] = old
		g[i] = (fp - fm) / (2 * h)
	}
	return g
}

func randVec(r *rand.Rand, n int, scale float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = (r.Float64()*2 - 1) * scale
	}
	return v
}

// f32 rounds v to float32 and returns both the float32 slice and the
// rounded float64 values (so kernel and reference see the same inputs).
func f32(v []float64) ([]float32, []float64) {
	if v == nil {
		return nil, nil
	}
	o := make([]float32, len(v))
	r := make([]float64, len(v))
	for i, x := range v {
		o[i] = float32(x)
		r[i] = float64(o[i])
	}
	return o, r
}

func assertClose(t *testing.T, name string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", name, len(got), len(want))
	}
	worst, at := 0.0, -1
	for i := range got {
		e := math.Abs(float64(got[i])-want[i]) / (1 + math.Abs(want[i]))
		if e > worst || math.IsNaN(e) {
			worst, at = e, i
		}
	}
	if worst > tol || math.IsNaN(worst) {
		t.Errorf("%s: max error %.3g at %d (got %v want %v), tol %g", name, worst, at, got[at], want[at], tol)
	}
}
