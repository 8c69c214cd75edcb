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
