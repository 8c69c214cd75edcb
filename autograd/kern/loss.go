package kern

import (
	"fmt"
	"math/rand/v2"
)

func lossCheckLen(what string, got, want int) error {
	if got != want {
		return fmt.Errorf("%s has %d values, want %d", what, got, want)
	}
	return nil
}

func lossCheckDims(fn string, dims ...int) error {
	for _, d := range dims {
		if d < 0 {
			// A copy, so that dims does not escape (an allocation per call).
			return fmt.Errorf("%s: negative dimension in %v", fn, append([]int(nil), dims...))
		}
	}
	return nil
}

// NegativeMask draws the reference's negative-sampling mask
// (gliner/modeling/base.py BaseModel._loss) for labels viewed as (B, S, C,
// Ch) (Ch = 1 for 3-D labels): 1 keeps an element, 0 drops it.
//
//   - MaskingGlobal: every element whose label is 0 is kept with
//     probability negatives.
//   - MaskingLabel: every element of a (b, ·, c, ch) column whose labels sum
//     to 0 over S is kept with probability negatives.
//   - MaskingSpan: every element of a (b, s, ·, ch) row whose labels sum to 0
//     over C is kept with probability negatives.
//
// As in the reference (torch.rand_like over the whole tensor), each element
// gets its own Bernoulli draw; rng is drawn once per element in row-major
// order, so a seeded rng makes training reproducible. MaskingNone, or
// negatives >= 1, is a no-op: it returns nil and draws nothing. rng must be
// non-nil otherwise.
func NegativeMask(labels []float32, b, s, c, ch int, m Masking, negatives float32, rng *rand.Rand) ([]float32, error) {
	return new(LossScratch).negativeMask(labels, b, s, c, ch, m, negatives, rng)
}

func (sc *LossScratch) negativeMask(labels []float32, b, s, c, ch int, m Masking, negatives float32, rng *rand.Rand) ([]float32, error) {
	if err := lossCheckDims("negative mask", b, s, c, ch); err != nil {
		return nil, err
	}
	if err := lossCheckLen("negative mask: labels", len(labels), b*s*c*ch); err != nil {
		return nil, err
	}
	if m == MaskingNone || negatives >= 1 {
		return nil, nil
	}
	if m < MaskingNone || m > MaskingSpan {
		return nil, fmt.Errorf("negative mask: invalid masking %v", m)
	}
	if rng == nil {
		return nil, fmt.Errorf("negative mask: masking %q with negatives %v needs a random source, got nil", m, negatives)
	}
	n := len(labels)
	proposal := growClear(&sc.proposal, n)
	idx := func(bi, si, ci, hi int) int { return ((bi*s+si)*c+ci)*ch + hi }
	switch m {
	case MaskingGlobal:
		for i, y := range labels {
			proposal[i] = y == 0
		}
	case MaskingLabel:
		for bi := 0; bi < b; bi++ {
			for ci := 0; ci < c; ci++ {
				for hi := 0; hi < ch; hi++ {
					var sum float32
					for si := 0; si < s; si++ {
						sum += labels[idx(bi, si, ci, hi)]
					}
					if sum == 0 {
						for si := 0; si < s; si++ {
							proposal[idx(bi, si, ci, hi)] = true
						}
					}
				}
			}
		}
	case MaskingSpan:
		for bi := 0; bi < b; bi++ {
			for si := 0; si < s; si++ {
				for hi := 0; hi < ch; hi++ {
					var sum float32
					for ci := 0; ci < c; ci++ {
						sum += labels[idx(bi, si, ci, hi)]
					}
					if sum == 0 {
						for ci := 0; ci < c; ci++ {
							proposal[idx(bi, si, ci, hi)] = true
						}
					}
				}
			}
		}
	}
	mask := growClear(&sc.neg, n)
	for i := range mask {
		keep := rng.Float32() < negatives
		if !proposal[i] || keep {
			mask[i] = 1
		}
	}
	return mask, nil
}

// weightedLoss runs the element loss with per-element weights (nil = 1) in
// float32-faithful or float64 arithmetic.
func (sc *LossScratch) weightedLoss(logits, labels []float64, weight []float64, denom float64, o LossOptions, normalize, round32 bool) (float64, []float64, []float64) {
	return sc.reduceElements(logits, labels, weight, denom, newElemParams(o, normalize, round32), o.Reduction)
}

// spanWeights builds the span-loss weights and denominator.
func (sc *LossScratch) spanWeights(labels []float32, b, s, c int, spanMask, promptsMask []float32, o LossOptions, rng *rand.Rand) ([]float64, float64, error) {
	if err := lossCheckDims("span loss", b, s, c); err != nil {
		return nil, 0, err
	}
	n := b * s * c
	if err := lossCheckLen("span loss: labels (B,S,C)", len(labels), n); err != nil {
		return nil, 0, err
	}
	if err := lossCheckLen("span loss: span_mask (B,S)", len(spanMask), b*s); err != nil {
		return nil, 0, err
	}
	if err := lossCheckLen("span loss: prompts_mask (B,C)", len(promptsMask), b*c); err != nil {
		return nil, 0, err
	}
	neg, err := sc.negativeMask(labels, b, s, c, 1, o.Masking, o.Negatives, rng)
	if err != nil {
		return nil, 0, fmt.Errorf("span loss: %w", err)
	}
	w := grow(&sc.w, n)
	denom := 0.0
	for bi := 0; bi < b; bi++ {
		for si := 0; si < s; si++ {
			sm := float64(spanMask[bi*s+si])
			denom += sm
			for ci := 0; ci < c; ci++ {
				i := (bi*s+si)*c + ci
				v := sm * float64(promptsMask[bi*c+ci])
				if neg != nil {
					v *= float64(neg[i])
				}
				w[i] = v
			}
		}
	}
	return w, denom, nil
}

// SpanLoss is the span-model loss (gliner/modeling/base.py
// UniEncoderSpanModel.loss; UniEncoderSpan, BiEncoderSpan, span decoder and
// relex span term). logits and labels are (B, S, C) with S = W·K spans in
// flat order s = w·K + k — the model's (B, W, K, C) logits in the same
// memory; labels are 0/1 (or -100 to ignore); spanMask is (B, S) and
// promptsMask (B, C), as 0/1. Each element loss is multiplied by the negative
// mask, promptsMask[b,c] and spanMask[b,s]; ReductionSum sums, ReductionMean
// divides the sum by the number of valid spans Σ spanMask (not spans ×
// classes; 0 when there is none), ReductionNone returns the masked element
// losses (the reference warns and sums instead).
//
// For BiEncoderSpan and the span decoder the reference passes smoothing as
// the margin: call with o.SmoothingAsMargin() to reproduce it.
func SpanLoss(logits, labels []float32, b, s, c int, spanMask, promptsMask []float32, o LossOptions, rng *rand.Rand) (*LossResult, error) {
	return new(LossScratch).SpanLoss(logits, labels, b, s, c, spanMask, promptsMask, o, rng)
}

// SpanLoss is the package-level SpanLoss with the scratch's buffers: the
// result is sc's own, valid until sc's next call.
func (sc *LossScratch) SpanLoss(logits, labels []float32, b, s, c int, spanMask, promptsMask []float32, o LossOptions, rng *rand.Rand) (*LossResult, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("span loss: %w", err)
	}
	if err := lossCheckLen("span loss: logits (B,S,C)", len(logits), b*s*c); err != nil {
		return nil, err
	}
	w, denom, err := sc.spanWeights(labels, b, s, c, spanMask, promptsMask, o, rng)
	if err != nil {
		return nil, err
	}
	loss, per, local := sc.weightedLoss(sc.to64(&sc.x, logits), sc.to64(&sc.y, labels), w, denom, o, true, true)
	return sc.toResult(loss, per, local, o.Reduction, 1), nil
}

// tokenWeights builds the token-loss weights and denominator.
func (sc *LossScratch) tokenWeights(labels []float32, b, w, c, ch int, wordMask, promptsMask []float32, o LossOptions, rng *rand.Rand) ([]float64, float64, error) {
	if err := lossCheckDims("token loss", b, w, c, ch); err != nil {
		return nil, 0, err
	}
	n := b * w * c * ch
	if err := lossCheckLen("token loss: labels (B,W,C,Ch)", len(labels), n); err != nil {
		return nil, 0, err
	}
	if err := lossCheckLen("token loss: word mask (B,W)", len(wordMask), b*w); err != nil {
		return nil, 0, err
	}
	if err := lossCheckLen("token loss: prompts_mask (B,C)", len(promptsMask), b*c); err != nil {
		return nil, 0, err
	}
	var neg []float32
	if !o.ReferenceCompat {
		var err error
		neg, err = sc.negativeMask(labels, b, w, c, ch, o.Masking, o.Negatives, rng)
		if err != nil {
			return nil, 0, fmt.Errorf("token loss: %w", err)
		}
	}
	wt := grow(&sc.w, n)
	denom := 0.0
	for bi := 0; bi < b; bi++ {
		for wi := 0; wi < w; wi++ {
			for ci := 0; ci < c; ci++ {
				m := float64(wordMask[bi*w+wi]) * float64(promptsMask[bi*c+ci])
				denom += m
				for hi := 0; hi < ch; hi++ {
					i := ((bi*w+wi)*c+ci)*ch + hi
					v := m
					if neg != nil {
						v *= float64(neg[i])
					}
					wt[i] = v
				}
			}
		}
	}
	return wt, denom, nil
}

// TokenLoss is the token-model loss (gliner/modeling/base.py
// UniEncoderTokenModel.loss; UniEncoderToken, BiEncoderToken). logits and
// labels are (B, W, C, Ch): Ch = 3 for the token logits [start, end, inside],
// Ch = 1 for the span-logit loss of represent_spans models ((B, N, C) with
// wordMask the (B, N) span mask). Each element loss is multiplied by
// wordMask[b,w]·promptsMask[b,c]; ReductionMean divides the sum by Σ
// wordMask·promptsMask (word × class cells, without the factor Ch).
//
// The reference never passes the masking strategy to the token loss; by
// default TokenLoss applies o.Masking (over the (B, W, C, Ch) view: "label"
// columns run over W, "span" rows over C), and o.ReferenceCompat ignores it
// as the reference does.
func TokenLoss(logits, labels []float32, b, w, c, ch int, wordMask, promptsMask []float32, o LossOptions, rng *rand.Rand) (*LossResult, error) {
	return new(LossScratch).TokenLoss(logits, labels, b, w, c, ch, wordMask, promptsMask, o, rng)
}

// TokenLoss is the package-level TokenLoss with the scratch's buffers: the
// result is sc's own, valid until sc's next call.
func (sc *LossScratch) TokenLoss(logits, labels []float32, b, w, c, ch int, wordMask, promptsMask []float32, o LossOptions, rng *rand.Rand) (*LossResult, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("token loss: %w", err)
	}
	if err := lossCheckLen("token loss: logits (B,W,C,Ch)", len(logits), b*w*c*ch); err != nil {
		return nil, err
	}
	wt, denom, err := sc.tokenWeights(labels, b, w, c, ch, wordMask, promptsMask, o, rng)
	if err != nil {
		return nil, err
	}
	loss, per, local := sc.weightedLoss(sc.to64(&sc.x, logits), sc.to64(&sc.y, labels), wt, denom, o, true, true)
	return sc.toResult(loss, per, local, o.Reduction, 1), nil
}

// adjWeights builds the adjacency-loss weights and denominator.
func (sc *LossScratch) adjWeights(labels []float32, b, e int, entMask []float32, o LossOptions, rng *rand.Rand) ([]float64, float64, error) {
	if err := lossCheckDims("adjacency loss", b, e); err != nil {
		return nil, 0, err
	}
	n := b * e * e
	if err := lossCheckLen("adjacency loss: labels (B,E,E)", len(labels), n); err != nil {
		return nil, 0, err
	}
	if err := lossCheckLen("adjacency loss: entity mask (B,E)", len(entMask), b*e); err != nil {
		return nil, 0, err
	}
	neg, err := sc.negativeMask(labels, b, e*e, 1, 1, o.Masking, o.Negatives, rng)
	if err != nil {
		return nil, 0, fmt.Errorf("adjacency loss: %w", err)
	}
	w := grow(&sc.w, n)
	denom := 0.0
	for bi := 0; bi < b; bi++ {
		for i := 0; i < e; i++ {
			for j := 0; j < e; j++ {
				k := (bi*e+i)*e + j
				m := float64(entMask[bi*e+i]) * float64(entMask[bi*e+j])
				denom += m
				if neg != nil {
					m *= float64(neg[k])
				}
				w[k] = m
			}
		}
	}
	return w, denom, nil
}

// AdjacencyLoss is the relex adjacency loss (gliner/modeling/base.py
// UniEncoderSpanRelexModel.adj_loss): adj (B, E, E) holds probabilities
// already (the element loss runs with normalize_prob false, so the gradient
// is with respect to adj), labels the gold adjacency, and the mask is
// entMask[b,i]·entMask[b,j]. Negative masking runs over the (B, E·E, 1) view
// (the reference's default for relex is MaskingSpan, which there amounts to
// per-element masking of zero labels). ReductionMean divides by the mask sum.
func AdjacencyLoss(adj, labels []float32, b, e int, entMask []float32, o LossOptions, rng *rand.Rand) (*LossResult, error) {
	return new(LossScratch).AdjacencyLoss(adj, labels, b, e, entMask, o, rng)
}

// AdjacencyLoss is the package-level AdjacencyLoss with the scratch's buffers: the
// result is sc's own, valid until sc's next call.
func (sc *LossScratch) AdjacencyLoss(adj, labels []float32, b, e int, entMask []float32, o LossOptions, rng *rand.Rand) (*LossResult, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("adjacency loss: %w", err)
	}
	if err := lossCheckLen("adjacency loss: adjacency (B,E,E)", len(adj), b*e*e); err != nil {
		return nil, err
	}
	w, denom, err := sc.adjWeights(labels, b, e, entMask, o, rng)
	if err != nil {
		return nil, err
	}
	loss, per, local := sc.weightedLoss(sc.to64(&sc.x, adj), sc.to64(&sc.y, labels), w, denom, o, false, true)
	return sc.toResult(loss, per, local, o.Reduction, 1), nil
}

// relWeights builds the relation-loss weights and denominator.
func (sc *LossScratch) relWeights(labels []float32, b, n, r int, pairMask, classMask []float32, o LossOptions, rng *rand.Rand) ([]float64, float64, error) {
	if err := lossCheckDims("relation loss", b, n, r); err != nil {
		return nil, 0, err
	}
	if err := lossCheckLen("relation loss: labels (B,N,R)", len(labels), b*n*r); err != nil {
		return nil, 0, err
	}
	if err := lossCheckLen("relation loss: pair mask (B,N)", len(pairMask), b*n); err != nil {
		return nil, 0, err
	}
	if err := lossCheckLen("relation loss: relation prompts mask (B,R)", len(classMask), b*r); err != nil {
		return nil, 0, err
	}
	neg, err := sc.negativeMask(labels, b, n, r, 1, o.Masking, o.Negatives, rng)
	if err != nil {
		return nil, 0, fmt.Errorf("relation loss: %w", err)
	}
	w := grow(&sc.w, b*n*r)
	denom := 0.0
	for bi := 0; bi < b; bi++ {
		for ni := 0; ni < n; ni++ {
			for ri := 0; ri < r; ri++ {
				k := (bi*n+ni)*r + ri
				m := float64(pairMask[bi*n+ni]) * float64(classMask[bi*r+ri])
				denom += m
				if neg != nil {
					m *= float64(neg[k])
				}
				w[k] = m
			}
		}
	}
	return w, denom, nil
}

// RelationLoss is the relex relation-classification loss
// (gliner/modeling/base.py UniEncoderSpanRelexModel.rel_loss): logits and
// labels (B, N, R) over entity pairs, masked by pairMask[b,n]·classMask[b,r];
// ReductionMean divides by the mask sum. The reference uses rel_alpha and
// rel_gamma (falling back to alpha, gamma) and masking "span" by default: the
// caller sets those in o.
func RelationLoss(logits, labels []float32, b, n, r int, pairMask, classMask []float32, o LossOptions, rng *rand.Rand) (*LossResult, error) {
	return new(LossScratch).RelationLoss(logits, labels, b, n, r, pairMask, classMask, o, rng)
}

// RelationLoss is the package-level RelationLoss with the scratch's buffers: the
// result is sc's own, valid until sc's next call.
func (sc *LossScratch) RelationLoss(logits, labels []float32, b, n, r int, pairMask, classMask []float32, o LossOptions, rng *rand.Rand) (*LossResult, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("relation loss: %w", err)
	}
	if err := lossCheckLen("relation loss: logits (B,N,R)", len(logits), b*n*r); err != nil {
		return nil, err
	}
	w, denom, err := sc.relWeights(labels, b, n, r, pairMask, classMask, o, rng)
	if err != nil {
		return nil, err
	}
	loss, per, local := sc.weightedLoss(sc.to64(&sc.x, logits), sc.to64(&sc.y, labels), w, denom, o, true, true)
	return sc.toResult(loss, per, local, o.Reduction, 1), nil
}
