package data

// SpanIndex is the flat index of the span covering words start..end
// (inclusive) among an example's spans with max width k: start·k + (end−start),
// the reference's start-major order.
func SpanIndex(start, end, k int) int { return start*k + end - start }

// SpanBounds inverts SpanIndex: flat index n covers words n/k .. n/k + n%k.
func SpanBounds(n, k int) (start, end int) { return n / k, n/k + n%k }

// fillSpans writes one example's spans into idx (W·K·2 values) and mask
// (W·K values), which must be zero: for every start s < length and width
// k < maxWidth, span s·K+k = (s, s+k), valid iff s+k < length. Rows of
// starts ≥ length stay (0,0) and masked, as the reference pads them.
func fillSpans(idx []int64, mask []bool, length, maxWidth int) {
	for s := range length {
		for k := range maxWidth {
			n := s*maxWidth + k
			idx[2*n] = int64(s)
			idx[2*n+1] = int64(s + k)
			mask[n] = s+k < length
		}
	}
}

// tokenSpanTargets builds a token model's span targets when represent_spans
// is set (processor.py UniEncoderTokenProcessor.prepare_span_idx): per
// example the gold spans (label in the class map, inside the text), one
// one-hot row each, then int(n_pos·neg_spans_ratio) random negative spans
// (uniform start, width 1..min(K, L−start), rejected when equal to or
// overlapping a gold span; at most 20 attempts per negative wanted). Rows are
// padded to the batch's most spans with span_mask false.
func (c *Collator) tokenSpanTargets(b *Batch, exs []Example) {
	type row struct {
		s, e, cl int // cl −1: negative
	}
	bs, nc, k := b.B(), b.NumClasses, c.cfg.MaxWidth
	rows := make([][]row, bs)
	nsp := 0
	for i := range bs {
		classID := make(map[string]int, len(b.IDToClass[i]))
		for j, l := range b.IDToClass[i] {
			classID[l] = j
		}
		n := len(b.Words[i])
		var pos []row
		for _, e := range exs[i].Entities {
			if cl, ok := classID[e.Label]; ok && e.End < n {
				pos = append(pos, row{e.Start, e.End, cl})
			}
		}
		if c.cfg.Architecture.Decoder() {
			sortSpanRows(pos, func(r row) int { return tokenSpanKey(r.s, r.e) })
		}
		want := int(float64(len(pos)) * c.cfg.NegSpansRatio)
		r := pos
		for attempt, got := 0, 0; got < want && attempt < 20*want; attempt++ {
			s := c.rng.IntN(n)
			e := s + c.rng.IntN(min(k, n-s))
			clash := false
			for _, p := range pos {
				if s <= p.e && p.s <= e {
					clash = true
					break
				}
			}
			if !clash {
				r = append(r, row{s, e, -1})
				got++
			}
		}
		rows[i] = r
		nsp = max(nsp, len(r))
	}
	b.SpanIdx = NewTensor[int64](bs, nsp, 2)
	b.SpanMask = NewTensor[bool](bs, nsp)
	b.SpanLabels = NewTensor[float32](bs, nsp, nc)
	for i, r := range rows {
		for j, x := range r {
			n := i*nsp + j
			b.SpanIdx.Data[2*n], b.SpanIdx.Data[2*n+1] = int64(x.s), int64(x.e)
			b.SpanMask.Data[n] = true
			if x.cl >= 0 {
				b.SpanLabels.Data[n*nc+x.cl] = 1
			}
		}
	}
}
