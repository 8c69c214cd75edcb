package onnx

import (
	"fmt"

	"github.com/gliner-go/gliner/models"
	pb "github.com/gliner-go/gliner/onnx/onnxpb"
)

// The relex architectures' export. gliner-go runs relex inference in
// steps (models.Model.ForwardRelex): the main graph gives the entity
// logits, the host selects entities and pairs, and two head graphs score
// them. The exported file holds all of it as one graph: the traced main
// graph, the entity selection as ONNX operators, the traced adjacency
// graph, the pair selection, the traced pair graph. Every selection is
// computed from run-time shapes (packing by TopK over the candidate
// positions), so the file runs on any batch; the reference's traced
// export instead fixes the dummy batch's sizes in ScatterND indices and
// fails on another batch.
//
// Outputs, as the reference names them (gliner/model.py,
// UniEncoderSpanRelexGLiNER._get_onnx_input_spec and
// UniEncoderTokenRelexGLiNER._get_onnx_input_spec): logits, rel_idx
// (B,N,2) int64 head and tail entity indices (−1 for padding), rel_logits
// (B,N,R) and rel_mask (B,N) bool. The entity indices count the selected
// entities in the order the reference packs them
// (UniEncoderSpanRelexModel.select_span_target_embedding: spans with
// max_c σ(logit) > threshold in flat span order; UniEncoderTokenRelexModel
// .represent_spans: extract_spans_from_tokens' rows). The thresholds are
// the model's Relex() settings (0.5 and 0.5 by default, the reference's
// forward defaults that its traced export fixes too).
func (x *exporter) relex() error {
	m, b := x.m, x.b
	rs := m.Relex()
	token := m.Arch.TokenLevel()
	H := int64(m.Cfg.HiddenSize)
	x.symVal[symR] = x.maxCount(x.relTokens())

	rep := "span_rep"
	if token {
		rep = "words_embedding"
	}
	outs, err := x.emit(func(p [nsym]int) models.GraphDims {
		return models.GraphDims{B: p[symB], T: p[symT], W: p[symW], C: p[symC], R: p[symR]}
	}, []string{rep, "rel_prompts_embedding"}, x.batchInput(!token))
	if err != nil {
		return err
	}
	logits, repV, relPrompts := outs[0], outs[1], outs[2]
	x.logitsOutput(logits, !token, true)

	// Entities: ent (B,E,H), entMask (B,E) float.
	var ent, entMask string
	if !token {
		// select_span_target_embedding: valid spans with
		// max_c σ(logit) > threshold, packed in flat span order.
		mx := b.op("ReduceMax", []string{b.op("Sigmoid", []string{logits})}, aInts("axes", -1), aInt("keepdims", 0))
		keep := b.op("And", []string{b.op("Greater", []string{b.op("Reshape", []string{mx, b.i64(0, -1)}), b.f32(float32(rs.Threshold))}), "span_mask"})
		E := b.op("Max", []string{x.maxCount(b.castI64(keep)), b.i64(1)})
		x.symVal[symE] = E
		idx, sel := x.packFirst(keep, E)
		ent = x.gatherRows(b.op("Reshape", []string{repV, b.i64(0, -1, H)}), idx)
		entMask = b.castF(sel)
	} else {
		start, end, sel, E := x.tokenSlots(logits, rs.Threshold)
		x.symVal[symE] = E
		outs, err := x.emit(func(p [nsym]int) models.GraphDims {
			return models.GraphDims{B: p[symB], W: p[symW], C: p[symC], E: p[symE], Stage: models.StageTokenSlots}
		}, nil, func(name string) (string, error) {
			switch name {
			case "words":
				return repV, nil
			case "slot_start":
				return start, nil
			case "slot_end":
				return end, nil
			}
			return "", fmt.Errorf("the token slot graph's input %q has no ONNX counterpart", name)
		})
		if err != nil {
			return fmt.Errorf("token slots: %w", err)
		}
		ent, entMask = outs[0], b.castF(sel)
	}

	// Adjacency (B,E,E).
	heads := func(name string) (string, error) {
		switch name {
		case "ent":
			return ent, nil
		case "ent_mask":
			return entMask, nil
		case "adj_i", "adj_j":
			// The mlp relations layer's (i, j) of every flat k = i·E + j.
			e, err := x.dimTensor(dimExpr{c: 1, e: [nsym]int{symE: 1}})
			if err != nil {
				return "", err
			}
			ee := b.op("Squeeze", []string{b.op("Mul", []string{e, e}), b.i64(0)})
			k := b.op("Range", []string{b.i64s(0), ee, b.i64s(1)})
			v := b.op("Div", []string{k, e})
			if name == "adj_j" {
				v = b.op("Mod", []string{k, e})
			}
			return b.op("Expand", []string{b.unsqueeze(v, 0), b.op("Concat", []string{x.symVal[symB], b.op("Unsqueeze", []string{ee, b.i64(0)})}, aInt("axis", 0))}), nil
		}
		return "", fmt.Errorf("the relation head's input %q has no ONNX counterpart", name)
	}
	outs, err = x.emit(func(p [nsym]int) models.GraphDims {
		return models.GraphDims{B: p[symB], E: p[symE], Stage: models.StageAdjacency}
	}, nil, heads)
	if err != nil {
		return fmt.Errorf("adjacency: %w", err)
	}
	adj := outs[0]

	// Pairs (build_entity_pairs): ordered (i, j), i ≠ j, with adj > the
	// adjacency threshold, row-major; N = max(pairs, 1). Padding rows
	// score entity 0 (its clamp_min(0)), or a zero vector when no text
	// has a pair.
	e := x.symVal[symE]
	es := b.op("Squeeze", []string{e, b.i64(0)})
	r := b.op("Range", []string{b.i64s(0), es, b.i64s(1)})
	off := b.op("Not", []string{b.op("Equal", []string{b.unsqueeze(r, 1), b.unsqueeze(r, 0)})})
	cand := b.op("And", []string{b.op("Greater", []string{adj, b.f32(float32(rs.AdjacencyThreshold))}), off})
	cand = b.op("Reshape", []string{cand, b.i64(0, -1)})
	n0 := x.maxCount(b.castI64(cand))
	N := b.op("Max", []string{n0, b.i64(1)})
	x.symVal[symN] = N
	flat, valid := x.packFirst(cand, N)
	head := b.op("Where", []string{valid, b.op("Div", []string{flat, e}), b.i64s(-1)})
	tail := b.op("Where", []string{valid, b.op("Mod", []string{flat, e}), b.i64s(-1)})
	pad := b.op("Where", []string{b.op("Greater", []string{n0, b.i64(0)}), b.i64(0), b.i64(-1)})
	headRep := b.op("Where", []string{valid, head, pad})
	tailRep := b.op("Where", []string{valid, tail, pad})
	outs, err = x.emit(func(p [nsym]int) models.GraphDims {
		return models.GraphDims{B: p[symB], E: p[symE], N: p[symN], R: p[symR], Stage: models.StagePairs}
	}, nil, func(name string) (string, error) {
		switch name {
		case "pair_head":
			return headRep, nil
		case "pair_tail":
			return tailRep, nil
		case "rel_prompts":
			return relPrompts, nil
		}
		return heads(name)
	})
	if err != nil {
		return fmt.Errorf("relation pairs: %w", err)
	}
	relIdx := b.op("Concat", []string{b.unsqueeze(head, 2), b.unsqueeze(tail, 2)}, aInt("axis", 2))
	b.output("rel_idx", relIdx, pb.TensorProto_INT64, "batch_size", "num_pairs", "pair_index")
	b.output("rel_logits", outs[0], pb.TensorProto_FLOAT, "batch_size", "num_pairs", "num_rel_classes")
	b.output("rel_mask", valid, pb.TensorProto_BOOL, "batch_size", "num_pairs")
	return nil
}

// packFirst packs, per row of the bool (B,L) mask keep, the positions of
// its first k true entries (k a 1-D [1] tensor, at most L) in order:
// idx (B,k) int64 with −1 past a row's last, and sel (B,k) bool marking
// the real ones. The true positions sort first under the key
// pos + L·[not keep], and TopK picks the k smallest.
func (x *exporter) packFirst(keep, k string) (idx, sel string) {
	b := x.b
	L := b.sliceAxis(b.op("Shape", []string{keep}), 0, 1, 2)
	pos := b.op("Range", []string{b.i64s(0), b.op("Squeeze", []string{L, b.i64(0)}), b.i64s(1)})
	key := b.op("Where", []string{keep, pos, b.op("Add", []string{pos, L})})
	top := b.add("TopK", []string{key, k}, 2, aInt("axis", -1), aInt("largest", 0), aInt("sorted", 1))
	sel = b.op("Less", []string{top[0], L})
	return b.op("Where", []string{sel, top[1], b.i64s(-1)}), sel
}

// tokenSlots proposes UniEncoderTokenRelex's entity rows from the token
// logits (B,W,C,3) as decode.TokenSpanRows does (the reference's
// extract_spans_from_tokens, gliner/modeling/utils.py): every start
// (w_i, c) with p_start > threshold and end (w_j, c) with p_end >
// threshold, w_j ≥ w_i, whose inside probabilities on w_i..w_j are all
// > threshold, in (w_i, c, w_j) order; only words inside each text take
// part unless Loss.ReferenceCompat. It returns slot_start, slot_end
// (B,E) int64 ((0, 0) for padding), the (B,E) bool mask and E = max(rows,
// 1) as a 1-D [1] tensor.
func (x *exporter) tokenSlots(logits string, threshold float64) (start, end, sel, E string) {
	b := x.b
	probs := b.op("Sigmoid", []string{logits})
	thr := b.f32(float32(threshold))
	ch := func(i int64) string {
		return b.op("Greater", []string{b.op("Gather", []string{probs, b.i64s(i)}, aInt("axis", 3)), thr}) // (B,W,C)
	}
	st, en, ins := ch(0), ch(1), ch(2)
	shape := b.op("Shape", []string{logits})
	W, C := b.sliceAxis(shape, 0, 1, 2), b.sliceAxis(shape, 0, 2, 3)
	w := b.op("Range", []string{b.i64s(0), b.op("Squeeze", []string{W, b.i64(0)}), b.i64s(1)})
	if !x.m.Loss.ReferenceCompat {
		inText := b.unsqueeze(b.op("Less", []string{b.unsqueeze(w, 0), "text_lengths"}), 2) // (B,W,1)
		st = b.op("And", []string{st, inText})
		en = b.op("And", []string{en, inText})
	}
	bad := b.castI64(b.op("Not", []string{ins}))
	cum := b.op("CumSum", []string{bad, b.i64s(1)})
	before := b.op("Sub", []string{cum, bad})                                       // outside words before w_i
	jth := func(v string) string { return b.unsqueeze(b.transpose(v, 0, 2, 1), 1) } // (B,1,C,W) over w_j
	inside := b.op("Equal", []string{b.op("Sub", []string{jth(cum), b.unsqueeze(before, 3)}), b.i64s(0)})
	order := b.op("GreaterOrEqual", []string{b.op("Reshape", []string{w, b.i64(1, 1, 1, -1)}), b.op("Reshape", []string{w, b.i64(1, -1, 1, 1)})})
	valid := b.op("And", []string{b.op("And", []string{b.unsqueeze(st, 3), jth(en)}), b.op("And", []string{inside, order})}) // (B,W,C,W)
	flat := b.op("Reshape", []string{valid, b.i64(0, -1)})
	E = b.op("Max", []string{x.maxCount(b.castI64(flat)), b.i64(1)})
	idx, sel := x.packFirst(flat, E)
	cw := b.op("Mul", []string{C, W})
	start = b.op("Where", []string{sel, b.op("Div", []string{idx, cw}), b.i64s(0)})
	end = b.op("Where", []string{sel, b.op("Mod", []string{idx, W}), b.i64s(0)})
	return start, end, sel, E
}
