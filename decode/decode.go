// Package decode turns GLiNER probabilities into entities, as the reference's
// decoders do (gliner/decoding/decoder.py): span models threshold the (W, K,
// C) span probabilities, token models pair start and end words whose inside
// probabilities all pass the threshold; both then select spans greedily by
// descending score under the flat, nested or multi-label rule. It also
// computes the evaluation metrics (gliner/evaluation/evaluator.py: micro and
// per-label precision, recall and F1 over (label, start, end, doc) sets).
//
// Inputs are probabilities (σ of the logits), float32, row-major. Entities
// use inclusive word indices.
package decode

import (
	"fmt"
	"sort"
)

// Span is a decoded entity: words Start..End (inclusive), its label and its
// score (a probability).
type Span struct {
	Start, End int
	Label      string
	Score      float32
}

// Options are the decoding settings.
type Options struct {
	// Threshold: a probability must be strictly greater to make a candidate.
	Threshold float64
	// FlatNER forbids any overlap between entities; false (nested) forbids
	// only partial overlap, allowing one entity inside another.
	FlatNER bool
	// MultiLabel allows one span to carry several labels.
	MultiLabel bool
}

// DefaultOptions are the public entry points' defaults: threshold 0.5, flat.
func DefaultOptions() Options { return Options{Threshold: 0.5, FlatNER: true} }

// conflicts reports whether x cannot be accepted next to accepted span y.
func conflicts(x, y Span, flat, multiLabel bool) bool {
	if x.Start == y.Start && x.End == y.End {
		return !multiLabel
	}
	disjoint := x.Start > y.End || y.Start > x.End
	if flat {
		return !disjoint
	}
	nested := (x.Start <= y.Start && x.End >= y.End) || (y.Start <= x.Start && y.End >= x.End)
	return !(disjoint || nested)
}

// Greedy selects among candidate spans as the reference's greedy_search:
// candidates sorted by descending score (stable: ties keep their given
// order), each accepted unless it conflicts with an accepted one (flat: any
// overlap; nested: partial overlap; the same (start, end) conflicts unless
// multiLabel); the accepted spans are returned sorted by start (stable).
// cands is not modified.
func Greedy(cands []Span, flat, multiLabel bool) []Span {
	if len(cands) == 0 {
		return nil
	}
	order := make([]Span, len(cands))
	copy(order, cands)
	sort.SliceStable(order, func(i, j int) bool { return order[i].Score > order[j].Score })
	var out []Span
	for _, x := range order {
		ok := true
		for _, y := range out {
			if conflicts(x, y, flat, multiLabel) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, x)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

func checkOptions(o Options) error {
	if o.Threshold != o.Threshold { // NaN
		return fmt.Errorf("decode: threshold is NaN")
	}
	return nil
}

// Spans decodes one text of a span model: probs is (W, K, C) row-major
// (span s = w·K + k covers words w..w+k), numWords the text's word count,
// labels[c] the name of class c (the reference's id_to_classes[c+1]).
// Candidates are (w, k, c) with prob > threshold (compared in float32, as the
// reference compares its float32 tensor) and w+k+1 ≤ numWords, in row-major
// order; classes c ≥ len(labels) (padding classes of a shorter label set) are
// skipped. Then Greedy.
func Spans(probs []float32, w, k, c, numWords int, labels []string, o Options) ([]Span, error) {
	if err := checkOptions(o); err != nil {
		return nil, err
	}
	if w < 0 || k < 0 || c < 0 || len(probs) != w*k*c {
		return nil, fmt.Errorf("decode spans: probs have %d values, shape (W=%d, K=%d, C=%d) wants %d", len(probs), w, k, c, w*k*c)
	}
	if numWords < 0 || numWords > w {
		return nil, fmt.Errorf("decode spans: text has %d words, probs cover %d", numWords, w)
	}
	thr := float32(o.Threshold)
	var cands []Span
	for s := 0; s < w; s++ {
		for kk := 0; kk < k; kk++ {
			if s+kk+1 > numWords {
				continue
			}
			for ci := 0; ci < c && ci < len(labels); ci++ {
				p := probs[(s*k+kk)*c+ci]
				if p > thr {
					cands = append(cands, Span{Start: s, End: s + kk, Label: labels[ci], Score: p})
				}
			}
		}
	}
	return Greedy(cands, o.FlatNER, o.MultiLabel), nil
}

// SpanBatch decodes a batch of span-model probabilities (B, W, K, C):
// numWords[b] is text b's word count and labels[b] its class names (one
// shared list when len(labels) == 1).
func SpanBatch(probs []float32, b, w, k, c int, numWords []int, labels [][]string, o Options) ([][]Span, error) {
	if b < 0 || len(probs) != b*w*k*c {
		return nil, fmt.Errorf("decode spans: probs have %d values, shape (B=%d, W=%d, K=%d, C=%d) wants %d", len(probs), b, w, k, c, b*w*k*c)
	}
	if len(numWords) != b {
		return nil, fmt.Errorf("decode spans: %d word counts for a batch of %d", len(numWords), b)
	}
	lab, err := labelsPer(labels, b)
	if err != nil {
		return nil, fmt.Errorf("decode spans: %w", err)
	}
	out := make([][]Span, b)
	n := w * k * c
	for i := 0; i < b; i++ {
		out[i], err = Spans(probs[i*n:(i+1)*n], w, k, c, numWords[i], lab[i], o)
		if err != nil {
			return nil, fmt.Errorf("example %d: %w", i, err)
		}
	}
	return out, nil
}

func labelsPer(labels [][]string, b int) ([][]string, error) {
	if len(labels) == b {
		return labels, nil
	}
	if len(labels) == 1 {
		out := make([][]string, b)
		for i := range out {
			out[i] = labels[0]
		}
		return out, nil
	}
	return nil, fmt.Errorf("%d label lists for a batch of %d (want one per text, or one shared)", len(labels), b)
}

// Tokens decodes one text of a token model: probs is (W, C, 3) with channels
// [start, end, inside], numWords the text's word count. Start candidates
// (w, c) with p_start > threshold and end candidates with p_end > threshold
// (float32 comparisons) pair when the class matches and end ≥ start; a pair
// is rejected if any word in [start, end] has p_inside < threshold (compared
// in float64, as the reference's Python floats); its score is the minimum of
// the inside probabilities, p_start and p_end. Candidates are ordered by
// (start, class, end) as the reference's loops, then Greedy.
//
// Only words < numWords are decoded. The reference runs over the padded
// width W and can emit spans over padding words; this port does not.
func Tokens(probs []float32, w, c, numWords int, labels []string, o Options) ([]Span, error) {
	if err := checkOptions(o); err != nil {
		return nil, err
	}
	if w < 0 || c < 0 || len(probs) != w*c*3 {
		return nil, fmt.Errorf("decode tokens: probs have %d values, shape (W=%d, C=%d, 3) wants %d", len(probs), w, c, w*c*3)
	}
	if numWords < 0 || numWords > w {
		return nil, fmt.Errorf("decode tokens: text has %d words, probs cover %d", numWords, w)
	}
	at := func(wi, ci, ch int) float32 { return probs[(wi*c+ci)*3+ch] }
	thr32 := float32(o.Threshold)
	var cands []Span
	for st := 0; st < numWords; st++ {
		for ci := 0; ci < c && ci < len(labels); ci++ {
			ps := at(st, ci, 0)
			if !(ps > thr32) {
				continue
			}
			for ed := st; ed < numWords; ed++ {
				pe := at(ed, ci, 1)
				if !(pe > thr32) {
					continue
				}
				score, ok := ps, true
				if pe < score {
					score = pe
				}
				for j := st; j <= ed; j++ {
					pi := at(j, ci, 2)
					if float64(pi) < o.Threshold {
						ok = false
						break
					}
					if pi < score {
						score = pi
					}
				}
				if ok {
					cands = append(cands, Span{Start: st, End: ed, Label: labels[ci], Score: score})
				}
			}
		}
	}
	return Greedy(cands, o.FlatNER, o.MultiLabel), nil
}

// TokenBatch decodes a batch of token-model probabilities (B, W, C, 3); see
// Tokens and SpanBatch for the arguments.
func TokenBatch(probs []float32, b, w, c int, numWords []int, labels [][]string, o Options) ([][]Span, error) {
	if b < 0 || len(probs) != b*w*c*3 {
		return nil, fmt.Errorf("decode tokens: probs have %d values, shape (B=%d, W=%d, C=%d, 3) wants %d", len(probs), b, w, c, b*w*c*3)
	}
	if len(numWords) != b {
		return nil, fmt.Errorf("decode tokens: %d word counts for a batch of %d", len(numWords), b)
	}
	lab, err := labelsPer(labels, b)
	if err != nil {
		return nil, fmt.Errorf("decode tokens: %w", err)
	}
	out := make([][]Span, b)
	n := w * c * 3
	for i := 0; i < b; i++ {
		out[i], err = Tokens(probs[i*n:(i+1)*n], w, c, numWords[i], lab[i], o)
		if err != nil {
			return nil, fmt.Errorf("example %d: %w", i, err)
		}
	}
	return out, nil
}

// SpanList decodes explicit spans (token models with represent_spans,
// decoder.py TokenDecoder._decode_from_spans): probs is (N, C) for the spans
// spanIdx[n] = [start, end] (inclusive) with spanMask[n]; every valid span
// and class with prob > threshold becomes a candidate in (n, c) order, then
// Greedy.
func SpanList(probs []float32, spanIdx [][2]int, spanMask []bool, c int, labels []string, o Options) ([]Span, error) {
	if err := checkOptions(o); err != nil {
		return nil, err
	}
	n := len(spanIdx)
	if len(probs) != n*c || len(spanMask) != n {
		return nil, fmt.Errorf("decode span list: probs have %d values and the mask %d for %d spans × %d classes", len(probs), len(spanMask), n, c)
	}
	var cands []Span
	for i, se := range spanIdx {
		if !spanMask[i] {
			continue
		}
		if se[0] < 0 || se[1] < se[0] {
			return nil, fmt.Errorf("decode span list: span %d = %v is not a word range", i, se)
		}
		for ci := 0; ci < c && ci < len(labels); ci++ {
			p := probs[i*c+ci]
			if float64(p) > o.Threshold {
				cands = append(cands, Span{Start: se[0], End: se[1], Label: labels[ci], Score: p})
			}
		}
	}
	return Greedy(cands, o.FlatNER, o.MultiLabel), nil
}
