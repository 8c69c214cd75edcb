package encoder

import (
	"fmt"
	"math"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
)

// Incremental GPT-2 inference with a key/value cache (Hugging Face's
// past_key_values, transformers GPT2Attention with use_cache): the prefix
// is run once, then each generated token costs one position per row —
// its query against the cached keys and values of every earlier position
// — instead of a pass over the whole sequence. Inference only (no
// gradients); the arithmetic is the graph's (kern kernels, float32), so
// logits agree with the full recomputation up to float32 summation order.

// gpt2Weights are a GPT-2's parameter values, read once from a store.
type gpt2Weights struct {
	wte, wpe, head []float32
	blocks         []gpt2BlockW
	lnFw, lnFb     []float32
}

type gpt2BlockW struct {
	ln1w, ln1b, attnW, attnB, projW, projB []float32
	ln2w, ln2b, fcW, fcB, mlpW, mlpB       []float32
}

func (m *GPT2) weights(s *autograd.Store) (*gpt2Weights, error) {
	get := func(n string) ([]float32, error) {
		p, ok := s.Get(n)
		if !ok {
			return nil, fmt.Errorf("gpt2 %s: parameter %q is not in the store", m.Prefix, n)
		}
		return p.Data, nil
	}
	w := &gpt2Weights{}
	var err error
	for _, x := range []struct {
		dst *[]float32
		n   string
	}{{&w.wte, m.wte}, {&w.wpe, m.wpe}, {&w.head, m.lmHead}, {&w.lnFw, m.lnF.Weight}, {&w.lnFb, m.lnF.Bias}} {
		if *x.dst, err = get(x.n); err != nil {
			return nil, err
		}
	}
	for _, b := range m.blocks {
		var bw gpt2BlockW
		for _, x := range []struct {
			dst *[]float32
			n   string
		}{
			{&bw.ln1w, b.ln1.Weight}, {&bw.ln1b, b.ln1.Bias}, {&bw.attnW, b.attnW}, {&bw.attnB, b.attnB},
			{&bw.projW, b.projW}, {&bw.projB, b.projB}, {&bw.ln2w, b.ln2.Weight}, {&bw.ln2b, b.ln2.Bias},
			{&bw.fcW, b.fcW}, {&bw.fcB, b.fcB}, {&bw.mlpW, b.mlpW}, {&bw.mlpB, b.mlpB},
		} {
			if *x.dst, err = get(x.n); err != nil {
				return nil, err
			}
		}
		w.blocks = append(w.blocks, bw)
	}
	return w, nil
}

// KVCache holds, per layer, the keys and values of every position run so
// far for each row (rows × capacity × D), and the attention mask of those
// positions.
type KVCache struct {
	m         *GPT2
	w         *gpt2Weights
	rows, cap int
	n         int // positions cached
	k, v      [][]float32
	mask      []int64
	act       func(y, x []float32)
	eps       float32
}

// NewKVCache returns an empty cache for rows sequences of at most capacity
// positions, reading the weights from s.
func (m *GPT2) NewKVCache(s *autograd.Store, rows, capacity int) (*KVCache, error) {
	if rows <= 0 || capacity <= 0 {
		return nil, fmt.Errorf("gpt2 %s: cache of %d rows × %d positions", m.Prefix, rows, capacity)
	}
	if capacity > m.Cfg.NPositions {
		return nil, fmt.Errorf("gpt2 %s: %d positions exceed n_positions %d", m.Prefix, capacity, m.Cfg.NPositions)
	}
	w, err := m.weights(s)
	if err != nil {
		return nil, err
	}
	c := &KVCache{m: m, w: w, rows: rows, cap: capacity, mask: make([]int64, rows*capacity), eps: float32(m.Cfg.LayerNormEpsilon)}
	switch m.act {
	case autograd.ActGELU:
		c.act = kern.GELUForward
	case autograd.ActGELUNew:
		c.act = kern.GELUNewForward
	case autograd.ActTanh:
		c.act = kern.TanhForward
	case autograd.ActSigmoid:
		c.act = kern.SigmoidForward
	default:
		return nil, fmt.Errorf("gpt2 %s: activation %v has no cached path", m.Prefix, m.act)
	}
	D := m.Cfg.NEmbd
	for range m.blocks {
		c.k = append(c.k, make([]float32, rows*capacity*D))
		c.v = append(c.v, make([]float32, rows*capacity*D))
	}
	return c, nil
}

// Len is the number of cached positions.
func (c *KVCache) Len() int { return c.n }

// Reorder makes row r of the cache the former row idx[r] (beam search's
// _reorder_cache).
func (c *KVCache) Reorder(idx []int) error {
	if len(idx) != c.rows {
		return fmt.Errorf("gpt2 cache: reorder with %d indices for %d rows", len(idx), c.rows)
	}
	D := c.m.Cfg.NEmbd
	per := c.cap * D
	for l := range c.k {
		nk := make([]float32, len(c.k[l]))
		nv := make([]float32, len(c.v[l]))
		for r, src := range idx {
			if src < 0 || src >= c.rows {
				return fmt.Errorf("gpt2 cache: reorder index %d outside %d rows", src, c.rows)
			}
			copy(nk[r*per:r*per+c.n*D], c.k[l][src*per:src*per+c.n*D])
			copy(nv[r*per:r*per+c.n*D], c.v[l][src*per:src*per+c.n*D])
		}
		c.k[l], c.v[l] = nk, nv
	}
	nm := make([]int64, len(c.mask))
	for r, src := range idx {
		copy(nm[r*c.cap:r*c.cap+c.n], c.mask[src*c.cap:src*c.cap+c.n])
	}
	c.mask = nm
	return nil
}

// Step runs n new positions per row: x (rows, n, D) input embeddings,
// positions (rows, n) and mask (rows, n) (1 = a real position other rows'
// queries may attend to). It appends their keys and values to the cache
// and returns the final layer norm's output at each row's last new
// position (rows, D).
func (c *KVCache) Step(x []float32, positions, mask []int64, n int) ([]float32, error) {
	m, w := c.m, c.w
	D, H := m.Cfg.NEmbd, m.Cfg.NHead
	R := c.rows
	if n <= 0 || len(x) != R*n*D || len(positions) != R*n || len(mask) != R*n {
		return nil, fmt.Errorf("gpt2 cache step: %d embeddings, %d positions, %d mask values for %d rows × %d", len(x), len(positions), len(mask), R, n)
	}
	if c.n+n > c.cap {
		return nil, fmt.Errorf("gpt2 cache step: %d + %d positions exceed the cache's %d", c.n, n, c.cap)
	}
	hd := D / H
	scale := float32(1 / math.Sqrt(float64(hd)))
	rows := R * n
	h := make([]float32, rows*D)
	for i := 0; i < rows; i++ {
		p := positions[i]
		if p < 0 || int(p) >= m.Cfg.NPositions {
			return nil, fmt.Errorf("gpt2 cache step: position %d outside n_positions %d", p, m.Cfg.NPositions)
		}
		for j := 0; j < D; j++ {
			h[i*D+j] = x[i*D+j] + w.wpe[int(p)*D+j]
		}
	}
	for r := 0; r < R; r++ {
		copy(c.mask[r*c.cap+c.n:r*c.cap+c.n+n], mask[r*n:(r+1)*n])
	}
	mean := make([]float32, rows)
	rstd := make([]float32, rows)
	ln := make([]float32, rows*D)
	qkv := make([]float32, rows*3*D)
	ctx := make([]float32, rows*D)
	proj := make([]float32, rows*D)
	F := m.Cfg.Inner()
	fc := make([]float32, rows*F)
	fa := make([]float32, rows*F)
	scores := make([]float32, c.n+n)
	for l, b := range w.blocks {
		kern.LayerNormForward(ln, mean, rstd, h, b.ln1w, b.ln1b, rows, D, c.eps)
		conv1DForward(qkv, ln, b.attnW, b.attnB, rows, D, 3*D)
		kc, vc := c.k[l], c.v[l]
		for r := 0; r < R; r++ {
			for i := 0; i < n; i++ {
				src := qkv[(r*n+i)*3*D:]
				dst := (r*c.cap + c.n + i) * D
				copy(kc[dst:dst+D], src[D:2*D])
				copy(vc[dst:dst+D], src[2*D:3*D])
			}
		}
		clear(ctx)
		for r := 0; r < R; r++ {
			for i := 0; i < n; i++ {
				q := qkv[(r*n+i)*3*D : (r*n+i)*3*D+D]
				last := c.n + i // causal: keys 0..last
				out := ctx[(r*n+i)*D : (r*n+i+1)*D]
				for hh := 0; hh < H; hh++ {
					qh := q[hh*hd : (hh+1)*hd]
					mx := float32(math.Inf(-1))
					any := false
					for j := 0; j <= last; j++ {
						if c.mask[r*c.cap+j] == 0 {
							continue
						}
						kj := kc[(r*c.cap+j)*D+hh*hd : (r*c.cap+j)*D+(hh+1)*hd]
						var s float32
						for d := range qh {
							s += qh[d] * kj[d]
						}
						s *= scale
						scores[j] = s
						mx = max(mx, s)
						any = true
					}
					if !any {
						continue // a padding query with no key: never read
					}
					var sum float32
					for j := 0; j <= last; j++ {
						if c.mask[r*c.cap+j] == 0 {
							continue
						}
						e := float32(math.Exp(float64(scores[j] - mx)))
						scores[j] = e
						sum += e
					}
					oh := out[hh*hd : (hh+1)*hd]
					for j := 0; j <= last; j++ {
						if c.mask[r*c.cap+j] == 0 {
							continue
						}
						a := scores[j] / sum
						vj := vc[(r*c.cap+j)*D+hh*hd : (r*c.cap+j)*D+(hh+1)*hd]
						for d := range oh {
							oh[d] += a * vj[d]
						}
					}
				}
			}
		}
		conv1DForward(proj, ctx, b.projW, b.projB, rows, D, D)
		for i := range h {
			h[i] += proj[i]
		}
		kern.LayerNormForward(ln, mean, rstd, h, b.ln2w, b.ln2b, rows, D, c.eps)
		conv1DForward(fc, ln, b.fcW, b.fcB, rows, D, F)
		c.act(fa, fc)
		conv1DForward(proj, fa, b.mlpW, b.mlpB, rows, F, D)
		for i := range h {
			h[i] += proj[i]
		}
	}
	c.n += n
	last := make([]float32, R*D)
	for r := 0; r < R; r++ {
		copy(last[r*D:(r+1)*D], h[(r*n+n-1)*D:(r*n+n)*D])
	}
	out := make([]float32, R*D)
	kern.LayerNormForward(out, mean[:R], rstd[:R], last, w.lnFw, w.lnFb, R, D, c.eps)
	return out, nil
}

// conv1DForward is GPT-2's Conv1D: y (rows,out) = x (rows,in) · W (in,out) + b.
func conv1DForward(y, x, wt, b []float32, rows, in, out int) {
	for i := 0; i < rows; i++ {
		copy(y[i*out:(i+1)*out], b)
	}
	kern.Sgemm(false, false, rows, out, in, 1, x, in, wt, out, 1, y, out)
}

// Logits projects final hidden states (rows, D) onto the vocabulary with
// the LM head: (rows, V).
func (c *KVCache) Logits(hidden []float32, rows int) []float32 {
	D, V := c.m.Cfg.NEmbd, c.m.Cfg.VocabSize
	out := make([]float32, rows*V)
	kern.Sgemm(false, true, rows, V, D, 1, hidden, D, c.w.head, D, 0, out, V)
	return out
}
