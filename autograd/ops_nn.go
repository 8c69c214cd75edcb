package autograd

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/gliner-go/gliner/autograd/kern"
)

// Int32s converts an int64 index tensor into a reusable int32 buffer,
// growing it when needed: a helper for kernels whose loops take int32.
func Int32s(buf *[]int32, src []int64) []int32 {
	if cap(*buf) < len(src) {
		*buf = make([]int32, len(src))
	}
	b := (*buf)[:len(src)]
	for i, v := range src {
		b[i] = int32(v)
	}
	return b
}

// Grow returns (*buf)[:n], reallocating when the capacity is short: the
// way kernels keep saved buffers across runs without allocating.
func Grow(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	return (*buf)[:n]
}

// ---- LayerNorm -------------------------------------------------------------

type layerNormK struct {
	eps        float32
	mean, rstd []float32
}

func (k *layerNormK) Name() string      { return fmt.Sprintf("layernorm(eps=%g)", k.eps) }
func (k *layerNormK) Attrs() kern.Attrs { return kern.LayerNormAttrs{Eps: k.eps} }
func (k *layerNormK) OutShape(in [][]int) ([]int, error) {
	c := in[0][len(in[0])-1]
	if len(in[1]) != 1 || in[1][0] != c || len(in[2]) != 1 || in[2][0] != c {
		return nil, fmt.Errorf("weight %v / bias %v do not fit input %v", in[1], in[2], in[0])
	}
	return cloneShape(in[0]), nil
}
func (k *layerNormK) Forward(in []Value, out Value) error {
	cols := in[0].Dim(-1)
	rows := in[0].Size() / cols
	mean, rstd := Grow(&k.mean, rows), Grow(&k.rstd, rows)
	kern.LayerNormForward(out.F, mean, rstd, in[0].F, in[1].F, in[2].F, rows, cols, k.eps)
	return nil
}
func (k *layerNormK) Backward(in []Value, _ Value, dout Value, grads []Value) error {
	cols := in[0].Dim(-1)
	rows := in[0].Size() / cols
	kern.LayerNormBackward(grads[0].F, grads[1].F, grads[2].F, dout.F, in[0].F, k.mean, k.rstd, in[1].F, rows, cols)
	return nil
}

// Buffers: the per-row mean and 1/std, saved for Backward.
func (k *layerNormK) Buffers(in [][]int) []KernelBuffer {
	rows := Numel(in[0]) / in[0][len(in[0])-1]
	return []KernelBuffer{{Buf: &k.mean, Len: rows, Use: Saved}, {Buf: &k.rstd, Len: rows, Use: Saved}}
}

// Backward reads x and the weight, not the bias or the output.
func (k *layerNormK) BackwardReadsInput(i int) bool { return i < 2 }
func (k *layerNormK) BackwardReadsOutput() bool     { return false }

// LayerNorm normalises x over its last axis with weight w and bias b
// (torch.nn.LayerNorm): x (..., D), w (D), b (D) → (..., D).
func LayerNorm(x, w, b *Node, eps float32) *Node {
	return x.g.Apply(&layerNormK{eps: eps}, x, w, b)
}

// ---- activations -----------------------------------------------------------

// Activation names an elementwise nonlinearity (kern.Activation).
type Activation = kern.Activation

// The activations of the supported encoders and heads.
const (
	ActGELU    = kern.ActGELU    // exact erf form ("gelu")
	ActGELUNew = kern.ActGELUNew // tanh approximation ("gelu_new", GPT-2)
	ActTanh    = kern.ActTanh
	ActSigmoid = kern.ActSigmoid
)

// ParseActivation maps a Hugging Face hidden_act string to an Activation.
func ParseActivation(s string) (Activation, error) { return kern.ParseActivation(s) }

type actK struct{ a Activation }

func (k actK) Name() string                       { return fmt.Sprintf("act%d", k.a) }
func (k actK) Attrs() kern.Attrs                  { return kern.ActivationAttrs{Act: k.a} }
func (k actK) OutShape(in [][]int) ([]int, error) { return cloneShape(in[0]), nil }
func (k actK) Forward(in []Value, out Value) error {
	switch k.a {
	case ActGELU:
		kern.GELUForward(out.F, in[0].F)
	case ActGELUNew:
		kern.GELUNewForward(out.F, in[0].F)
	case ActTanh:
		kern.TanhForward(out.F, in[0].F)
	case ActSigmoid:
		kern.SigmoidForward(out.F, in[0].F)
	}
	return nil
}
func (k actK) Backward(in []Value, out Value, dout Value, grads []Value) error {
	dx := grads[0].F
	if dx == nil {
		return nil
	}
	switch k.a {
	case ActGELU:
		kern.GELUBackward(dx, dout.F, in[0].F)
	case ActGELUNew:
		kern.GELUNewBackward(dx, dout.F, in[0].F)
	case ActTanh:
		kern.TanhBackward(dx, dout.F, out.F)
	case ActSigmoid:
		kern.SigmoidBackward(dx, dout.F, out.F)
	}
	return nil
}

// Backward reads the input (GELU forms) or the output (tanh, sigmoid).
func (k actK) BackwardReadsInput(int) bool {
	return k.a == ActGELU || k.a == ActGELUNew
}
func (k actK) BackwardReadsOutput() bool { return k.a == ActTanh || k.a == ActSigmoid }

// Act applies an elementwise activation.
func Act(x *Node, a Activation) *Node { return x.g.Apply(actK{a: a}, x) }

// ---- dropout ---------------------------------------------------------------

type dropoutK struct {
	p    float64
	rng  *rand.Rand
	mask []float32
}

func (k *dropoutK) Name() string                       { return fmt.Sprintf("dropout(p=%g)", k.p) }
func (k *dropoutK) Attrs() kern.Attrs                  { return kern.DropoutAttrs{P: k.p} }
func (k *dropoutK) OutShape(in [][]int) ([]int, error) { return cloneShape(in[0]), nil }
func (k *dropoutK) Forward(in []Value, out Value) error {
	return kern.DropoutForward(out.F, Grow(&k.mask, len(out.F)), in[0].F, k.p, k.rng)
}
func (k *dropoutK) Backward(_ []Value, _ Value, dout Value, grads []Value) error {
	if grads[0].F != nil {
		kern.DropoutBackward(grads[0].F, dout.F, k.mask)
	}
	return nil
}

// Buffers: the scaled keep mask, saved for Backward.
func (k *dropoutK) Buffers(in [][]int) []KernelBuffer {
	return []KernelBuffer{{Buf: &k.mask, Len: Numel(in[0]), Use: Saved}}
}

// Backward reads only the mask.
func (k *dropoutK) BackwardReadsInput(int) bool { return false }
func (k *dropoutK) BackwardReadsOutput() bool   { return false }

// Dropout applies inverted dropout (keep with probability 1−p, scale by
// 1/(1−p)) in training graphs with p > 0; otherwise it returns x itself.
// Masks are drawn from the graph's RNG in execution order.
func Dropout(x *Node, p float64) *Node {
	if !x.g.Train || p == 0 {
		return x
	}
	if p < 0 || p >= 1 {
		return x.g.Fail(fmt.Errorf("dropout probability %g outside [0, 1)", p))
	}
	return x.g.Apply(&dropoutK{p: p, rng: x.g.RNG}, x)
}

// ---- gathers ---------------------------------------------------------------

type gatherK struct{ idx []int32 }

func (k *gatherK) Name() string      { return "gather_rows" }
func (k *gatherK) Attrs() kern.Attrs { return kern.GatherRowsAttrs{} }
func (k *gatherK) OutShape(in [][]int) ([]int, error) {
	src, idx := in[0], in[1]
	if len(src) != 3 || len(idx) != 2 || idx[0] != src[0] {
		return nil, fmt.Errorf("source %v and index %v do not fit (B,N,D) and (B,M)", src, idx)
	}
	return []int{src[0], idx[1], src[2]}, nil
}
func (k *gatherK) Forward(in []Value, out Value) error {
	s := in[0].Shape
	idx := Int32s(&k.idx, in[1].I)
	return kern.GatherRows(out.F, in[0].F, idx, s[0], s[1], in[1].Shape[1], s[2])
}
func (k *gatherK) Backward(in []Value, _ Value, dout Value, grads []Value) error {
	if grads[0].F == nil {
		return nil
	}
	s := in[0].Shape
	return kern.ScatterAddRows(grads[0].F, dout.F, k.idx, s[0], s[1], in[1].Shape[1], s[2])
}

// Backward reads the index it saved (idx), not the inputs' data.
func (k *gatherK) BackwardReadsInput(int) bool { return false }
func (k *gatherK) BackwardReadsOutput() bool   { return false }

// GatherRows picks rows per batch: src (B,N,D), idx (B,M) int64 with −1
// for a zero row → (B,M,D). Word pooling, prompt extraction and span
// start/end indexing are all this op.
func GatherRows(src, idx *Node) *Node {
	if !idx.isInt {
		return src.g.Fail(fmt.Errorf("gather_rows: index must be an int input"))
	}
	return src.g.Apply(&gatherK{}, src, idx)
}

type embeddingK struct{ ids []int32 }

func (k *embeddingK) Name() string      { return "embedding" }
func (k *embeddingK) Attrs() kern.Attrs { return kern.EmbeddingAttrs{} }
func (k *embeddingK) OutShape(in [][]int) ([]int, error) {
	if len(in[0]) != 2 {
		return nil, fmt.Errorf("weight %v is not (V,D)", in[0])
	}
	return append(cloneShape(in[1]), in[0][1]), nil
}
func (k *embeddingK) Forward(in []Value, out Value) error {
	ids := Int32s(&k.ids, in[1].I)
	return kern.Embedding(out.F, in[0].F, ids, in[0].Shape[0], in[0].Shape[1])
}
func (k *embeddingK) Backward(in []Value, _ Value, dout Value, grads []Value) error {
	if grads[0].F == nil {
		return nil
	}
	return kern.EmbeddingBackward(grads[0].F, dout.F, k.ids, in[0].Shape[0], in[0].Shape[1])
}

// Backward reads the ids it saved, not the inputs' data.
func (k *embeddingK) BackwardReadsInput(int) bool { return false }
func (k *embeddingK) BackwardReadsOutput() bool   { return false }

// Embedding looks up rows of weight (V,D) for int ids of any shape → (ids..., D).
func Embedding(weight, ids *Node) *Node {
	if !ids.isInt {
		return weight.g.Fail(fmt.Errorf("embedding: ids must be an int input"))
	}
	return weight.g.Apply(&embeddingK{}, weight, ids)
}

// ---- attention -------------------------------------------------------------

// AttentionKind selects the masking and position scheme of Attention
// (kern.AttentionKind).
type AttentionKind = kern.AttentionKind

// The attention variants of the supported encoders.
const (
	AttnBERT         = kern.AttnBERT         // additive key mask
	AttnCausal       = kern.AttnCausal       // GPT-2: causal fill + additive key mask
	AttnDisentangled = kern.AttnDisentangled // DeBERTa-v2/v3 c2p/p2c relative attention
)

// AttentionConfig holds the static settings of an attention node: the
// attention kernel's attributes.
type AttentionConfig = kern.AttentionAttrs

type attentionK struct {
	cfg   AttentionConfig
	rng   *rand.Rand
	train bool
	dims  kern.AttnDims
	mask  []float32
	probs []float32
	drop  []float32
	ws    []float32
}

func (k *attentionK) Attrs() kern.Attrs { return k.cfg }
func (k *attentionK) Name() string {
	return fmt.Sprintf("attention(kind=%d,heads=%d)", k.cfg.Kind, k.cfg.Heads)
}
func (k *attentionK) OutShape(in [][]int) ([]int, error) {
	q := in[0]
	if len(q) != 3 || !slices.Equal(q, in[1]) || !slices.Equal(q, in[2]) {
		return nil, fmt.Errorf("q %v, k %v, v %v must be equal (B,T,H·d)", q, in[1], in[2])
	}
	if q[2]%k.cfg.Heads != 0 {
		return nil, fmt.Errorf("width %d not divisible by %d heads", q[2], k.cfg.Heads)
	}
	m := in[3]
	if len(m) != 2 || m[0] != q[0] || m[1] != q[1] {
		return nil, fmt.Errorf("mask %v does not fit (B,T) of %v", m, q)
	}
	if k.cfg.Kind == AttnDisentangled {
		rows := 2 * k.cfg.Rel.AttSpan
		for i := 4; i < len(in); i++ {
			if len(in[i]) != 2 || in[i][0] != rows || in[i][1] != q[2] {
				return nil, fmt.Errorf("relative projection %v is not (%d,%d)", in[i], rows, q[2])
			}
		}
	}
	k.dims = kern.AttnDims{Batch: q[0], Seq: q[1], Heads: k.cfg.Heads, HeadDim: q[2] / k.cfg.Heads}
	return cloneShape(q), nil
}

// NonDifferentiable marks the mask.
func (k *attentionK) NonDifferentiable(i int) bool { return i == 3 }

func (k *attentionK) rel(in []Value) (pk, pq []float32) {
	i := 4
	if k.cfg.Rel.C2P {
		pk = in[i].F
		i++
	}
	if k.cfg.Rel.P2C {
		pq = in[i].F
	}
	return
}

func (k *attentionK) Forward(in []Value, out Value) error {
	d := k.dims
	mask := Grow(&k.mask, d.Batch*d.Seq)
	for i, v := range in[3].I {
		mask[i] = float32(v)
	}
	probs := Grow(&k.probs, d.Batch*d.Heads*d.Seq*d.Seq)
	ai := kern.AttnInputs{Q: in[0].F, K: in[1].F, V: in[2].F, Mask: mask}
	if k.train && k.cfg.Dropout > 0 {
		drop := Grow(&k.drop, len(probs))
		ones := Grow(&k.ws, len(probs)) // reuse ws as a ones source
		for i := range ones {
			ones[i] = 1
		}
		if err := kern.DropoutForward(drop, drop, ones, k.cfg.Dropout, k.rng); err != nil {
			return err
		}
		ai.ProbsDropout = drop
	}
	switch k.cfg.Kind {
	case AttnBERT:
		return kern.BertAttentionForward(d, ai, probs, out.F, Grow(&k.ws, kern.AttentionWorkspaceSize(d)))
	case AttnCausal:
		return kern.CausalAttentionForward(d, ai, probs, out.F, Grow(&k.ws, kern.AttentionWorkspaceSize(d)))
	default:
		pk, pq := k.rel(in)
		return kern.DisentangledAttentionForward(d, k.cfg.Rel, ai, pk, pq, probs, out.F, Grow(&k.ws, kern.DisentangledWorkspaceSize(d, k.cfg.Rel)))
	}
}

// Buffers: the float mask (Forward only), the attention probabilities and
// their dropout mask (saved for Backward) and the workspace of each call
// (in Forward also the ones the dropout mask is drawn over).
func (k *attentionK) Buffers([][]int) []KernelBuffer {
	d := k.dims
	np := d.Batch * d.Heads * d.Seq * d.Seq
	ws := kern.AttentionWorkspaceSize(d)
	if k.cfg.Kind == AttnDisentangled {
		ws = kern.DisentangledWorkspaceSize(d, k.cfg.Rel)
	}
	bufs := []KernelBuffer{{Buf: &k.mask, Len: d.Batch * d.Seq, Use: ForwardScratch}, {Buf: &k.probs, Len: np, Use: Saved}}
	if k.train && k.cfg.Dropout > 0 {
		bufs = append(bufs, KernelBuffer{Buf: &k.drop, Len: np, Use: Saved})
		ws = max(ws, np)
	}
	return append(bufs, KernelBuffer{Buf: &k.ws, Len: ws, Use: Scratch})
}

// Backward reads q, k, v and the relative tables, not the mask or the output.
func (k *attentionK) BackwardReadsInput(i int) bool { return i != 3 }
func (k *attentionK) BackwardReadsOutput() bool     { return false }

func (k *attentionK) Backward(in []Value, _ Value, dout Value, grads []Value) error {
	d := k.dims
	ai := kern.AttnInputs{Q: in[0].F, K: in[1].F, V: in[2].F}
	if k.train && k.cfg.Dropout > 0 {
		ai.ProbsDropout = k.drop
	}
	g := kern.AttnGrads{DQ: grads[0].F, DK: grads[1].F, DV: grads[2].F}
	switch k.cfg.Kind {
	case AttnBERT:
		return kern.BertAttentionBackward(d, ai, k.probs, dout.F, g, Grow(&k.ws, kern.AttentionWorkspaceSize(d)))
	case AttnCausal:
		return kern.CausalAttentionBackward(d, ai, k.probs, dout.F, g, Grow(&k.ws, kern.AttentionWorkspaceSize(d)))
	default:
		pk, pq := k.rel(in)
		var dpk, dpq []float32
		i := 4
		if k.cfg.Rel.C2P {
			dpk = grads[i].F
			i++
		}
		if k.cfg.Rel.P2C {
			dpq = grads[i].F
		}
		return kern.DisentangledAttentionBackward(d, k.cfg.Rel, ai, pk, pq, k.probs, dout.F, g, dpk, dpq, Grow(&k.ws, kern.DisentangledWorkspaceSize(d, k.cfg.Rel)))
	}
}

// Attention is fused multi-head scaled-dot-product attention over q, k, v
// (B,T,H·d) with an int attention mask (B,T) → context (B,T,H·d). For
// AttnDisentangled pass the projected relative tables Pk (if c2p) then Pq
// (if p2c), each (2·AttSpan, H·d), as rel.
func Attention(q, k, v, mask *Node, cfg AttentionConfig, rel ...*Node) *Node {
	if !mask.isInt {
		return q.g.Fail(fmt.Errorf("attention: mask must be an int input"))
	}
	want := 0
	if cfg.Kind == AttnDisentangled {
		if cfg.Rel.C2P {
			want++
		}
		if cfg.Rel.P2C {
			want++
		}
	}
	if len(rel) != want {
		return q.g.Fail(fmt.Errorf("attention: %d relative tables given, %d expected", len(rel), want))
	}
	ins := append([]*Node{q, k, v, mask}, rel...)
	return q.g.Apply(&attentionK{cfg: cfg, rng: q.g.RNG, train: q.g.Train}, ins...)
}
