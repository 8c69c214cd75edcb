package decode

import "fmt"

// TokenSpanRows lists the entity slots a token model proposes from its
// start/end/inside probabilities, as the reference's
// extract_spans_from_tokens (gliner/modeling/utils.py, urchade/GLiNER
// c2bb58d) does for UniEncoderTokenDecoder and UniEncoderTokenRelex:
// starts are the (w, c) with p_start > threshold and ends the (w, c) with
// p_end > threshold, both in row-major (w, c) order; every start i and end
// j of the same class with w_j ≥ w_i whose inside probabilities on
// w_i..w_j (same class) are all > threshold gives the row [w_i, w_j], in
// start-major then end order. The class is dropped, so one (start, end)
// appears once per class that produced it; there is no width limit.
// probs is (W, C, 3); only words < numWords take part (the reference
// passes the padded width W). Comparisons are in float32, as the
// reference compares its float32 tensors with the threshold.
func TokenSpanRows(probs []float32, w, c, numWords int, threshold float64) ([][2]int, error) {
	if w < 0 || c < 0 || len(probs) != w*c*3 {
		return nil, fmt.Errorf("token span rows: probs have %d values, shape (W=%d, C=%d, 3) wants %d", len(probs), w, c, w*c*3)
	}
	if numWords < 0 || numWords > w {
		return nil, fmt.Errorf("token span rows: text has %d words, probs cover %d", numWords, w)
	}
	if threshold != threshold {
		return nil, fmt.Errorf("token span rows: threshold is NaN")
	}
	thr := float32(threshold)
	at := func(wi, ci, ch int) float32 { return probs[(wi*c+ci)*3+ch] }
	type pos struct{ w, c int }
	var starts, ends []pos
	for wi := 0; wi < numWords; wi++ {
		for ci := 0; ci < c; ci++ {
			if at(wi, ci, 0) > thr {
				starts = append(starts, pos{wi, ci})
			}
			if at(wi, ci, 1) > thr {
				ends = append(ends, pos{wi, ci})
			}
		}
	}
	var rows [][2]int
	for _, s := range starts {
		for _, e := range ends {
			if e.c != s.c || e.w < s.w {
				continue
			}
			ok := true
			for j := s.w; j <= e.w && ok; j++ {
				ok = at(j, s.c, 2) > thr
			}
			if ok {
				rows = append(rows, [2]int{s.w, e.w})
			}
		}
	}
	return rows, nil
}
