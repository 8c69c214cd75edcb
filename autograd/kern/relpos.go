package kern

import (
	"fmt"
	"math"
)

// RelativePositionBucket maps a relative position r = i − j (query i, key j)
// to DeBERTa-v2's log bucket, exactly as transformers' make_log_bucket_position
// evaluates it: with mid = P div 2, positions with |r| ≤ mid are kept, and
// larger ones become sign(r)·(ceil(ln(|r|/mid) / ln((Pmax−1)/mid) · (mid−1)) + mid),
// every step of the log branch in float32, truncated to an integer at the end.
// P is position_buckets and Pmax is max_relative_positions after the
// "< 1 ⇒ max_position_embeddings" rule. With P ≤ 0 or Pmax ≤ 0 there is no
// bucketing and r is returned unchanged. The result is odd in r.
func RelativePositionBucket(r, P, Pmax int) int {
	if P <= 0 || Pmax <= 0 {
		return r
	}
	mid := P / 2
	abs := r
	if abs < 0 {
		abs = -abs
	}
	if abs <= mid {
		return r
	}
	x := float32(abs) / float32(mid)
	lx := float32(math.Log(float64(x)))
	lm := float32(math.Log(float64(float32(float64(Pmax-1) / float64(mid)))))
	q := lx / lm
	q = q * float32(mid-1)
	v := float32(math.Ceil(float64(q))) + float32(mid)
	if r < 0 {
		v = -v
	}
	return int(v)
}

// AttSpan is DeBERTa-v2's pos_ebd_size: position_buckets when positive,
// otherwise max_relative_positions. The relative-embedding table used by the
// attention has 2·AttSpan rows.
func AttSpan(P, Pmax int) int {
	if P > 0 {
		return P
	}
	return Pmax
}

// BuildRelativeIndex returns the T×T row-major table δ(i,j) =
// clamp(bucket(i−j) + att_span, 0, 2·att_span−1) (query i, key j) that
// selects the row of the relative-embedding projections Pk/Pq used for the
// pair (i, j); att_span = AttSpan(P, Pmax). It is built once per sequence
// length and passed to the disentangled-attention kernels through
// Disentangled.RelIndex.
func BuildRelativeIndex(T, P, Pmax int) ([]int32, error) {
	span := AttSpan(P, Pmax)
	if T < 0 {
		return nil, fmt.Errorf("kern.BuildRelativeIndex: negative length %d", T)
	}
	if span <= 0 {
		return nil, fmt.Errorf("kern.BuildRelativeIndex: position_buckets %d and max_relative_positions %d give no relative span", P, Pmax)
	}
	idx := make([]int32, T*T)
	hi := 2*span - 1
	for i := 0; i < T; i++ {
		for j := 0; j < T; j++ {
			v := RelativePositionBucket(i-j, P, Pmax) + span
			if v < 0 {
				v = 0
			} else if v > hi {
				v = hi
			}
			idx[i*T+j] = int32(v)
		}
	}
	return idx, nil
}
