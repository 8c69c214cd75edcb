package models

import (
	"fmt"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/losses"
)

// decoderPlan is one batch's decoder layout: which spans are kept and how
// each row of the decoder's input is assembled (gliner/modeling/base.py
// UniEncoderSpanDecoderModel.select_span_decoder_embedding and forward).
type decoderPlan struct {
	// M kept spans, prefix length Tp, sequence length T.
	M, Tp, T int
	// Rows are the kept spans' indices into the (B·S) span rows,
	// batch-major in flat-index order.
	Rows []int64
	// SpanIdx is the reference's decoder_span_idx (B,S): per example the
	// kept flat span indices, left-aligned, −1 after.
	SpanIdx []int64
	// Slots, Mask (M,Tp) for a generation plan, (M,T) for training;
	// Positions and Targets (M,T) in training only.
	Slots, Mask, Positions, Targets []int64
}

// keptSpans packs the kept flat indices of each example.
func keptSpans(keep func(b, n int) bool, B, S int) (kept [][]int, rows, spanIdx []int64) {
	kept = make([][]int, B)
	spanIdx = make([]int64, B*S)
	for i := range spanIdx {
		spanIdx[i] = -1
	}
	for b := 0; b < B; b++ {
		for n := 0; n < S; n++ {
			if keep(b, n) {
				spanIdx[b*S+len(kept[b])] = int64(n)
				kept[b] = append(kept[b], n)
				rows = append(rows, int64(b*S+n))
			}
		}
	}
	return kept, rows, spanIdx
}

// prefixes lays out each kept span's prefix (select_span_decoder_embedding):
// left padding (SlotZero, mask 0), the span vector (SlotSpan), then the
// decoder tokens of its words when the decoder sees them. The prefix length
// is 1 + the most tokens of a kept span or, under compat, as the reference
// sizes it: also over the padding slots of examples with fewer than S kept
// spans, whose word range (sel −1 → words 0..K−1) takes in the prompt and
// padding tokens.
func (d *spanDecoder) prefixes(b *data.Batch, kept [][]int, K, S int, compat bool) (slots, mask []int64, tp int, err error) {
	B := len(kept)
	var ids, wm []int64
	td := 0
	if d.words {
		if s := b.DecoderInputIDs.Shape; len(s) != 2 || s[0] != B {
			return nil, nil, 0, fmt.Errorf("decoder_input_ids have shape %v, want (B=%d,Td)", s, B)
		}
		td = b.DecoderInputIDs.Shape[1]
		if len(b.DecoderWordsMask.Data) != B*td || len(b.DecoderInputIDs.Data) != B*td {
			return nil, nil, 0, fmt.Errorf("decoder_words_mask has shape %v, want decoder_input_ids' (%d,%d)", b.DecoderWordsMask.Shape, B, td)
		}
		ids, wm = b.DecoderInputIDs.Data, b.DecoderWordsMask.Data
	}
	count := func(bi int, lo, hi int64) int {
		n := 0
		for t := 0; t < td; t++ {
			if w := wm[bi*td+t]; w >= lo && w <= hi {
				n++
			}
		}
		return n
	}
	maxTok := 0
	for bi, ks := range kept {
		for _, n := range ks {
			s := int64(n / K)
			maxTok = max(maxTok, count(bi, s+1, s+int64(n%K)+1))
		}
		if compat && d.words && len(ks) < S {
			maxTok = max(maxTok, count(bi, 0, int64(K-1)))
		}
	}
	tp = maxTok + 1
	for bi, ks := range kept {
		for _, n := range ks {
			row := make([]int64, tp)
			rm := make([]int64, tp)
			s := int64(n / K)
			lo, hi := s+1, s+int64(n%K)+1
			var toks []int64
			for t := 0; t < td; t++ {
				if w := wm[bi*td+t]; w >= lo && w <= hi {
					toks = append(toks, ids[bi*td+t])
				}
			}
			off := tp - len(toks)
			for j := 0; j < off-1; j++ {
				row[j] = SlotZero
			}
			row[off-1], rm[off-1] = SlotSpan, 1
			for j, id := range toks {
				if id < 0 || id >= int64(d.Cfg.VocabSize) {
					return nil, nil, 0, fmt.Errorf("example %d: decoder_input_ids holds %d, outside the decoder vocabulary of %d", bi, id, d.Cfg.VocabSize)
				}
				row[off+j], rm[off+j] = id, 1
			}
			slots = append(slots, row...)
			mask = append(mask, rm...)
		}
	}
	return slots, mask, tp, nil
}

// trainPlan keeps the gold spans (max_c labels = 1 and span_mask) and lays
// out the teacher-forced sequences [prefix ; labels[:, :-1]] with their
// targets (UniEncoderSpanDecoderModel.forward): under compat the reference's
// (every label column, padding included), otherwise the label tokens, one end
// token, and nothing for padding.
func (d *spanDecoder) trainPlan(b *data.Batch, B, W, K int, compat bool) (*decoderPlan, error) {
	S := W * K
	C := b.NumClasses
	if len(b.Labels.Data) != B*S*C || len(b.SpanMask.Data) != B*S {
		return nil, fmt.Errorf("labels %v / span_mask %v, want (%d,%d,%d) / (%d,%d)", b.Labels.Shape, b.SpanMask.Shape, B, S, C, B, S)
	}
	keep := func(bi, n int) bool {
		if !b.SpanMask.Data[bi*S+n] {
			return false
		}
		mx := float32(0)
		for c, v := range b.Labels.Data[(bi*S+n)*C : (bi*S+n+1)*C] {
			if c == 0 || v > mx {
				mx = v
			}
		}
		return mx == 1
	}
	kept, rows, spanIdx := keptSpans(keep, B, S)
	p := &decoderPlan{M: len(rows), Rows: rows, SpanIdx: spanIdx}
	if p.M == 0 {
		return p, nil
	}
	slots, mask, tp, err := d.prefixes(b, kept, K, S, compat)
	if err != nil {
		return nil, err
	}
	if err := d.teacherForce(p, b, slots, mask, tp, compat); err != nil {
		return nil, err
	}
	return p, nil
}

// teacherForce completes a training plan whose kept rows and prefixes
// (slots, mask: (M,tp)) are laid out: the teacher-forced sequences
// [prefix ; labels[:, :-1]] and their targets (the reference's
// decode_labels, gliner/modeling/base.py UniEncoderSpanDecoderModel).
func (d *spanDecoder) teacherForce(p *decoderPlan, b *data.Batch, slots, mask []int64, tp int, compat bool) error {
	ls := b.DecoderLabelsIDs.Shape
	if len(ls) != 2 {
		return fmt.Errorf("decoder_labels_ids have shape %v, want (M,Tl)", ls)
	}
	if ls[0] != p.M {
		return fmt.Errorf("decoder_labels_ids have %d rows but the labels mark %d gold spans", ls[0], p.M)
	}
	Tl := ls[1]
	if Tl < 1 || len(b.DecoderLabelsMask.Data) != p.M*Tl || len(b.DecoderLabels.Data) != p.M*Tl {
		return fmt.Errorf("decoder_labels_ids %v, decoder_labels_mask %v and decoder_labels %v differ in shape",
			ls, b.DecoderLabelsMask.Shape, b.DecoderLabels.Shape)
	}
	nl := Tl - 1 // label columns fed as inputs
	if !compat {
		nl = Tl
	}
	T := tp + nl
	p.Tp, p.T = tp, T
	p.Slots = make([]int64, 0, p.M*T)
	p.Mask = make([]int64, 0, p.M*T)
	p.Positions = make([]int64, p.M*T)
	p.Targets = make([]int64, p.M*T)
	V := int64(d.Cfg.VocabSize)
	for r := 0; r < p.M; r++ {
		p.Slots = append(p.Slots, slots[r*tp:(r+1)*tp]...)
		p.Mask = append(p.Mask, mask[r*tp:(r+1)*tp]...)
		lab := b.DecoderLabelsIDs.Data[r*Tl : (r+1)*Tl]
		lm := b.DecoderLabelsMask.Data[r*Tl : (r+1)*Tl]
		for j := 0; j < nl; j++ {
			if lab[j] < 0 || lab[j] >= V {
				return fmt.Errorf("decoder_labels_ids row %d holds %d, outside the decoder vocabulary of %d", r, lab[j], V)
			}
			p.Slots = append(p.Slots, lab[j])
			p.Mask = append(p.Mask, lm[j])
		}
		// full = [−100]×Tp ++ label targets; targets[t] = full[t+1].
		full := make([]int64, tp, T+1)
		for j := range full {
			full[j] = losses.IgnoreIndex
		}
		if compat {
			full = append(full, b.DecoderLabels.Data[r*Tl:(r+1)*Tl]...)
		} else {
			n := 0
			for n < Tl && lm[n] == 1 {
				full = append(full, lab[n])
				n++
			}
			full = append(full, d.eos)
			for len(full) < T+1 {
				full = append(full, losses.IgnoreIndex)
			}
		}
		copy(p.Targets[r*T:(r+1)*T], full[1:])
		var c int64
		for t := 0; t < T; t++ {
			i := r*T + t
			switch {
			case compat:
				p.Positions[i] = int64(t)
			case p.Mask[i] == 1:
				p.Positions[i] = c
				c++
			default:
				p.Positions[i] = 1
			}
		}
	}
	return nil
}
