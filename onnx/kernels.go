package onnx

import (
	"fmt"
	"math"
	"slices"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
	pb "github.com/gliner-go/gliner/onnx/onnxpb"
)

// step is one traced kernel application as the mappings see it: the
// ONNX names of its inputs, the static shapes (probe A) and dimension
// expressions of its inputs and output.
type step struct {
	k      autograd.Kernel
	in     []string
	inInt  []bool
	shapes [][]int
	dims   [][]dimExpr
	out    []dimExpr
}

// kernelAttrs is the kernel's kern attribute struct (autograd.AttrsOf);
// every kernel of the inference graphs declares one.
func kernelAttrs(k autograd.Kernel) (kern.Attrs, error) {
	a := autograd.AttrsOf(k)
	if a == nil {
		return nil, fmt.Errorf("kernel %q declares no kern attributes (autograd.Attributed)", k.Name())
	}
	return a, nil
}

// mapKernel emits the ONNX nodes of one kernel and returns its output
// name. It switches on the kernel's kern attribute struct (kern.Attrs):
// one case per kernel type of the inference graphs, reading the kernel's
// settings from the struct's fields; the backward passes and losses are
// not exported.
func (x *exporter) mapKernel(s step) (string, error) {
	b := x.b
	in := s.in
	attrs, err := kernelAttrs(s.k)
	if err != nil {
		return "", err
	}
	switch a := attrs.(type) {
	case kern.LinearAttrs:
		if _, isParam := x.params[in[1]]; x.quant && isParam {
			return x.linearInt8(in, a.Bias)
		}
		y := b.op("MatMul", []string{in[0], b.transpose(in[1], 1, 0)})
		if a.Bias {
			y = b.op("Add", []string{y, in[2]})
		}
		return y, nil
	case kern.AddAttrs:
		return b.op("Add", in), nil
	case kern.ReLUAttrs:
		return b.op("Relu", in), nil
	case kern.DropoutAttrs:
		// Inference graphs do not drop.
		return b.op("Identity", in), nil
	case kern.ReshapeAttrs:
		// The target shape is the output's, as expressions of the batch
		// dimensions (a.Shape is the probe's).
		shape, err := x.shapeTensor(s.out)
		if err != nil {
			return "", err
		}
		return b.op("Reshape", []string{in[0], shape}), nil
	case kern.ConcatLastAttrs:
		return b.op("Concat", in, aInt("axis", -1)), nil
	case kern.BatchMatMulNTAttrs:
		return b.op("MatMul", []string{in[0], b.transpose(in[1], 0, 2, 1)}), nil
	case kern.LayerNormAttrs:
		return b.op("LayerNormalization", in, aInt("axis", -1), aFloat("epsilon", a.Eps)), nil
	case kern.ActivationAttrs:
		return x.activation(a.Act, in[0])
	case kern.GatherRowsAttrs:
		return x.gatherRows(in[0], in[1]), nil
	case kern.EmbeddingAttrs:
		return b.op("Gather", []string{in[0], in[1]}, aInt("axis", 0)), nil
	case kern.AddLeadingRowsAttrs:
		// x (..., T, D) + table[0:T].
		t, err := x.dimTensor(s.dims[0][len(s.dims[0])-2])
		if err != nil {
			return "", err
		}
		rows := b.op("Slice", []string{in[1], b.i64(0), t, b.i64(0)})
		return b.op("Add", []string{in[0], rows}), nil
	case kern.MaskRowsAttrs:
		m := b.castF(b.nonZero(in[1]))
		return b.op("Mul", []string{in[0], b.unsqueeze(m, -1)}), nil
	case kern.MaskedMeanAttrs:
		// Σ_t m·x / max(Σ_t m, 1e-9) over axis 1 of x (N,T,D).
		m := b.castF(in[1])
		num := b.op("ReduceSum", []string{b.op("Mul", []string{in[0], b.unsqueeze(m, -1)}), b.i64(1)}, aInt("keepdims", 0))
		den := b.op("Max", []string{b.op("ReduceSum", []string{m, b.i64(1)}, aInt("keepdims", 1)), b.f32(1e-9)})
		return b.op("Div", []string{num, den}), nil
	case kern.BroadcastRowsAttrs:
		// (N,D) → (Copies,N,D); Copies is the batch size at run time.
		shape, err := x.shapeTensor(s.out)
		if err != nil {
			return "", err
		}
		return b.op("Expand", []string{in[0], shape}), nil
	case kern.SigmoidPairMaskAttrs:
		// σ(x)·m_i·m_j over (B,E,E) (kern.SigmoidPairMaskForward).
		m := in[1]
		pm := b.op("Mul", []string{b.unsqueeze(m, 2), b.unsqueeze(m, 1)})
		return b.op("Mul", []string{b.op("Sigmoid", []string{in[0]}), pm}), nil
	case kern.BiLSTMAttrs:
		return x.biLSTM(s)
	case kern.SpanFirstLayerAttrs:
		return x.spanFirstLayer(s), nil
	case kern.ScorerHiddenAttrs:
		return x.scorerHidden(s), nil
	case kern.AttentionAttrs:
		return x.attention(s, a)
	default:
		return "", fmt.Errorf("kernel %q (%s) has no ONNX mapping", s.k.Name(), a.Kernel())
	}
}

func (x *exporter) activation(act kern.Activation, v string) (string, error) {
	b := x.b
	switch act {
	case kern.ActGELU:
		// x·½·(1 + erf(x/√2)), transformers' GELUActivation.
		e := b.op("Erf", []string{b.op("Div", []string{v, b.f32(float32(math.Sqrt2))})})
		return b.op("Mul", []string{b.op("Mul", []string{v, b.f32(0.5)}), b.op("Add", []string{e, b.f32(1)})}), nil
	case kern.ActGELUNew:
		// ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), transformers' NewGELUActivation.
		x3 := b.op("Mul", []string{b.op("Mul", []string{v, v}), v})
		inner := b.op("Mul", []string{b.op("Add", []string{v, b.op("Mul", []string{x3, b.f32(0.044715)})}), b.f32(float32(math.Sqrt(2 / math.Pi)))})
		t := b.op("Add", []string{b.op("Tanh", []string{inner}), b.f32(1)})
		return b.op("Mul", []string{b.op("Mul", []string{v, b.f32(0.5)}), t}), nil
	case kern.ActTanh:
		return b.op("Tanh", []string{v}), nil
	case kern.ActSigmoid:
		return b.op("Sigmoid", []string{v}), nil
	}
	return "", fmt.Errorf("activation %v has no ONNX mapping", act)
}

// gatherRows is src (B,N,D) rows idx (B,M), −1 giving a zero row.
func (x *exporter) gatherRows(src, idx string) string {
	b := x.b
	valid := b.op("GreaterOrEqual", []string{idx, b.i64s(0)})
	safe := b.op("Max", []string{idx, b.i64s(0)})
	rows := b.op("GatherND", []string{src, b.unsqueeze(safe, -1)}, aInt("batch_dims", 1))
	return b.op("Mul", []string{rows, b.unsqueeze(b.castF(valid), -1)})
}

// biLSTM is one bidirectional layer, ONNX LSTM over the packed lengths.
// PyTorch stacks the gates i, f, g, o; ONNX wants i, o, f, c.
func (x *exporter) biLSTM(s step) (string, error) {
	b := x.b
	in := s.in
	h := int64(s.shapes[3][1])
	reorder := func(w string) string {
		parts := b.add("Split", []string{w, b.i64(h, h, h, h)}, 4, aInt("axis", 0))
		return b.op("Concat", []string{parts[0], parts[3], parts[1], parts[2]}, aInt("axis", 0))
	}
	var W, R, B [2]string
	for d := 0; d < 2; d++ {
		wih, whh, bih, bhh := in[2+4*d], in[3+4*d], in[4+4*d], in[5+4*d]
		W[d] = b.unsqueeze(reorder(wih), 0)
		R[d] = b.unsqueeze(reorder(whh), 0)
		B[d] = b.unsqueeze(b.op("Concat", []string{reorder(bih), reorder(bhh)}, aInt("axis", 0)), 0)
	}
	cat := func(p [2]string) string { return b.op("Concat", p[:], aInt("axis", 0)) }
	xs := b.transpose(in[0], 1, 0, 2) // (W,B,In)
	lens := b.op("Cast", []string{in[1]}, aInt("to", int64(pb.TensorProto_INT32)))
	outs := b.add("LSTM", []string{xs, cat(W), cat(R), cat(B), lens}, 1,
		aInt("hidden_size", h),
		&pb.AttributeProto{Name: "direction", Type: pb.AttributeProto_STRING, S: []byte("bidirectional")})
	y := b.transpose(outs[0], 2, 0, 1, 3) // (B,W,2,h)
	return b.op("Reshape", []string{y, b.i64(0, 0, -1)}), nil
}

// spanFirstLayer is markerV0's first out_project layer per span:
// ReLU(start)[s]·W_aᵀ + ReLU(end)[e]·W_bᵀ + b, W = [W_a | W_b].
func (x *exporter) spanFirstLayer(s step) string {
	b := x.b
	in := s.in
	H := int64(s.shapes[0][2])
	wa := b.transpose(b.sliceAxis(in[2], 1, 0, H), 1, 0)
	wb := b.transpose(b.sliceAxis(in[2], 1, H, 2*H), 1, 0)
	a := b.op("MatMul", []string{b.op("Relu", []string{in[0]}), wa})
	e := b.op("MatMul", []string{b.op("Relu", []string{in[1]}), wb})
	ga := b.op("GatherND", []string{a, b.unsqueeze(in[4], -1)}, aInt("batch_dims", 1))
	ge := b.op("GatherND", []string{e, b.unsqueeze(in[5], -1)}, aInt("batch_dims", 1))
	return b.op("Add", []string{b.op("Add", []string{ga, ge}), in[3]})
}

// scorerHidden is the token scorer's first out_mlp layer over
// z = [t0 ; l0 ; t1⊙l1] for every (word, class): Wa·t0 + Wb·l0 + Wc·(t1⊙l1) + b.
func (x *exporter) scorerHidden(s step) string {
	b := x.b
	in := s.in
	H := int64(s.shapes[0][2] / 2)
	t0, t1 := b.sliceAxis(in[0], -1, 0, H), b.sliceAxis(in[0], -1, H, 2*H)
	l0, l1 := b.sliceAxis(in[1], -1, 0, H), b.sliceAxis(in[1], -1, H, 2*H)
	w := func(i int64) string { return b.transpose(b.sliceAxis(in[2], 1, i*H, (i+1)*H), 1, 0) }
	ta := b.unsqueeze(b.op("MatMul", []string{t0, w(0)}), 2) // (B,W,1,4H)
	lb := b.unsqueeze(b.op("MatMul", []string{l0, w(1)}), 1) // (B,1,C,4H)
	p := b.op("Mul", []string{b.unsqueeze(t1, 2), b.unsqueeze(l1, 1)})
	h := b.op("MatMul", []string{p, w(2)})
	return b.op("Add", []string{b.op("Add", []string{b.op("Add", []string{h, ta}), lb}), in[3]})
}

// heads reshapes (B,T,h·d) to (B,h,T,d).
func (x *exporter) heads(v string, h int64) string {
	return x.b.transpose(x.b.op("Reshape", []string{v, x.b.i64(0, 0, h, -1)}), 0, 2, 1, 3)
}

func (x *exporter) attention(s step, cfg kern.AttentionAttrs) (string, error) {
	b := x.b
	var err error
	in := s.in
	h := int64(cfg.Heads)
	dh := s.shapes[0][2] / cfg.Heads
	q, k, v := x.heads(in[0], h), x.heads(in[1], h), x.heads(in[2], h)
	kt := b.transpose(k, 0, 1, 3, 2)
	var probs string
	switch cfg.Kind {
	case kern.AttnBERT:
		// (Q·Kᵀ)/√d + (1 − m_j)·Float32Min, softmax over keys (kern.BertAttentionForward).
		sc := b.op("Div", []string{b.op("MatMul", []string{q, kt}), b.f32(float32(math.Sqrt(float64(dh))))})
		add := b.op("Mul", []string{b.op("Sub", []string{b.f32(1), b.castF(in[3])}), b.f32(kern.Float32Min)})
		sc = b.op("Add", []string{sc, b.unsqueeze(add, 1, 2)})
		probs = b.op("Softmax", []string{sc}, aInt("axis", -1))
	case kern.AttnDisentangled:
		probs, err = x.disentangledProbs(s, cfg, q, k, dh)
		if err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("kernel %q: attention kind %d has no ONNX mapping", s.k.Name(), cfg.Kind)
	}
	ctx := b.transpose(b.op("MatMul", []string{probs, v}), 0, 2, 1, 3)
	return b.op("Reshape", []string{ctx, b.i64(0, 0, -1)}), nil
}

// disentangledProbs is DeBERTa-v2's attention probabilities as
// kern.DisentangledAttentionForward computes them:
// content Q·(K/s)ᵀ, c2p[i,j] = Q_i·Pk[δ(i,j)]/s, p2c[i,j] = K_j·Pq[δ(i,j)]/s,
// scores filled with Float32Min where m_i·m_j = 0, softmax, then zeroed there.
func (x *exporter) disentangledProbs(s step, cfg kern.AttentionAttrs, q, k string, dh int) (string, error) {
	b := x.b
	in := s.in
	sc := b.f32(cfg.Rel.Scale(dh))
	score := b.op("MatMul", []string{q, b.transpose(b.op("Div", []string{k, sc}), 0, 1, 3, 2)})
	full := b.op("Shape", []string{score})
	var rel string
	if cfg.Rel.C2P || cfg.Rel.P2C {
		delta, err := x.relIndex(s, cfg)
		if err != nil {
			return "", err
		}
		h := int64(cfg.Heads)
		table := func(p string) string { // (2A, h·d) → (h, d, 2A)
			return b.transpose(b.op("Reshape", []string{p, b.i64(0, h, -1)}), 1, 2, 0)
		}
		i := 4
		if cfg.Rel.C2P {
			c := b.op("MatMul", []string{q, table(in[i])}) // (B,h,T,2A)
			g := b.op("GatherElements", []string{c, b.op("Expand", []string{delta, full})}, aInt("axis", -1))
			rel = b.op("Div", []string{g, sc})
			i++
		}
		if cfg.Rel.P2C {
			p := b.op("MatMul", []string{k, table(in[i])}) // (B,h,Tj,2A)
			dt := b.transpose(delta, 1, 0)
			g := b.transpose(b.op("GatherElements", []string{p, b.op("Expand", []string{dt, full})}, aInt("axis", -1)), 0, 1, 3, 2)
			g = b.op("Div", []string{g, sc})
			if rel == "" {
				rel = g
			} else {
				rel = b.op("Add", []string{rel, g})
			}
		}
		score = b.op("Add", []string{score, rel})
	}
	m := b.nonZero(in[3])
	pair := b.op("And", []string{b.unsqueeze(m, 1, 3), b.unsqueeze(m, 1, 2)}) // (B,1,T,T)
	score = b.op("Where", []string{pair, score, b.f32(kern.Float32Min)})
	probs := b.op("Softmax", []string{score}, aInt("axis", -1))
	return b.op("Where", []string{pair, probs, b.f32(0)}), nil
}

// maxRelLen bounds the sequence length of exported DeBERTa graphs: the
// relative index δ(i,j) depends on i−j only and is stored for
// |i−j| < maxRelLen.
const maxRelLen = 4096

// relIndex is δ (T,T) for the run-time T: a Gather from the constant
// vector δ(r) over r = i − j. The vector comes from the encoder settings
// whose table (kern.BuildRelativeIndex) equals the kernel's at the probe.
func (x *exporter) relIndex(s step, cfg kern.AttentionAttrs) (string, error) {
	T := s.shapes[0][1]
	var found *[2]int
	for _, pp := range x.relParams {
		idx, err := kern.BuildRelativeIndex(T, pp[0], pp[1])
		if err == nil && slices.Equal(idx, cfg.Rel.RelIndex) {
			found = &pp
			break
		}
	}
	if found == nil {
		return "", fmt.Errorf("kernel %q: its relative index matches no encoder's position_buckets / max_relative_positions", s.k.Name())
	}
	key := fmt.Sprint("relindex", *found, s.dims[0][1])
	if n, ok := x.b.consts[key]; ok {
		return n, nil
	}
	P, Pmax := found[0], found[1]
	span := kern.AttSpan(P, Pmax)
	vec := make([]int64, 2*maxRelLen-1)
	for r := -(maxRelLen - 1); r < maxRelLen; r++ {
		v := kern.RelativePositionBucket(r, P, Pmax) + span
		v = max(0, min(v, 2*span-1))
		vec[r+maxRelLen-1] = int64(v)
	}
	name := x.b.fresh("rel_index_table")
	x.b.int64Init(name, []int{len(vec)}, vec)
	b := x.b
	t, err := x.dimTensor(s.dims[0][1])
	if err != nil {
		return "", err
	}
	ts := b.op("Squeeze", []string{t, b.i64(0)})
	pos := b.op("Range", []string{b.i64s(0), ts, b.i64s(1)})
	diff := b.op("Sub", []string{b.unsqueeze(pos, 1), b.unsqueeze(pos, 0)})
	delta := b.op("Gather", []string{name, b.op("Add", []string{diff, b.i64s(maxRelLen - 1)})}, aInt("axis", 0))
	x.b.consts[key] = delta
	return delta, nil
}
