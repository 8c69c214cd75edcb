package kern

import (
	"fmt"
	"math"
)

// IgnoreIndex is the target value the element loss and the decoder
// cross-entropy ignore.
const IgnoreIndex = -100

// clampEps is the reference's eps in focal_loss_with_logits.
const clampEps = 1e-6

// elemParams are the element-loss settings in float64.
type elemParams struct {
	alpha, gamma, margin, smoothing float64
	// normalize applies the sigmoid (false: the input is a probability).
	normalize bool
	// round32 rounds the probability and the element loss to float32 as the
	// reference's float32 tensors do; false keeps everything in float64 (used
	// by the finite-difference tests).
	round32 bool
}

func newElemParams(o LossOptions, normalize, round32 bool) elemParams {
	return elemParams{
		alpha: float64(o.Alpha), gamma: float64(o.Gamma),
		margin: float64(o.ProbMargin), smoothing: float64(o.LabelSmoothing),
		normalize: normalize, round32: round32,
	}
}

func sigmoid64(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// element returns the reference element loss ℓ(x, y) and dℓ/dx for one
// element (gliner/modeling/loss_functions.py focal_loss_with_logits),
// including the valid mask (y == -100 gives 0, 0). The derivative is the one
// PyTorch autograd computes for that formula: each clamp passes the gradient
// only where its input lies inside the clamp range (bounds included), so a
// saturated element has gradient 0.
func lossElement(x, y float64, ep elemParams) (loss, grad float64) {
	if y == IgnoreIndex {
		return 0, 0
	}
	t := y
	if ep.smoothing != 0 {
		t = y*(1-ep.smoothing) + 0.5*ep.smoothing
	}
	p, dpdx := x, 1.0
	if ep.normalize {
		p = sigmoid64(x)
		if ep.round32 {
			p = float64(float32(p))
		}
		dpdx = p * (1 - p)
	}
	// pm = clamp(p − m, 0, 1)
	pm, dpm := p-ep.margin, 1.0
	if pm < 0 {
		pm, dpm = 0, 0
	} else if pm > 1 {
		pm, dpm = 1, 0
	}
	if ep.round32 {
		pm = float64(float32(pm))
	}
	q := 1 - pm // 1 − pm
	if ep.round32 {
		q = float64(float32(q))
	}
	// A = −t·ln(max(p,eps)) − (1−t)·ln(max(q,eps))
	pc, dpc := p, 1.0
	if p < clampEps {
		pc, dpc = clampEps, 0
	}
	qc, dqc := q, 1.0
	if q < clampEps {
		qc, dqc = clampEps, 0
	}
	a := -t*math.Log(pc) - (1-t)*math.Log(qc)
	// dA/dp: dq/dp = −dpm.
	dadp := -t*dpc/pc + (1-t)*dqc/qc*dpm
	l, dldp := a, dadp
	if ep.gamma > 0 {
		pt := p*t + q*(1-t)
		base := 1 - pt
		f := math.Pow(base, ep.gamma)
		// d(base)/dp = −(t − (1−t)·dpm)
		dbase := -(t - (1-t)*dpm)
		df := ep.gamma * math.Pow(base, ep.gamma-1) * dbase
		l, dldp = a*f, dadp*f+a*df
	}
	if ep.alpha >= 0 {
		w := ep.alpha*t + (1-ep.alpha)*(1-t)
		l, dldp = l*w, dldp*w
	}
	if ep.round32 {
		l = float64(float32(l))
	}
	return l, dldp * dpdx
}

// Element computes the reference element loss
// (gliner/modeling/loss_functions.py focal_loss_with_logits) and its
// derivative for one logit x and target y (0/1, a soft target, or -100 to
// ignore) under o's α, γ, margin and smoothing; normalize=false treats x as a
// probability (the relex adjacency). Computed as the reference's float32
// tensors are.
func LossElement(x, y float32, o LossOptions, normalize bool) (loss, dLossdX float32) {
	l, g := lossElement(float64(x), float64(y), newElemParams(o, normalize, true))
	return float32(l), float32(g)
}

// LossResult is a computed loss and what its backward needs.
type LossResult struct {
	// Loss is the reduced loss (sum or mean); with ReductionNone it is the sum
	// of PerElement, for logging.
	Loss float32
	// PerElement holds, with ReductionNone only, the masked loss of every
	// output element in the layout of the logits (for the decoder
	// cross-entropy: one per target row).
	PerElement []float32
	// Reduction is the reduction the loss was computed with.
	Reduction Reduction

	// local[i] = d(output o(i))/d(logit i), the mean's 1/count included.
	local []float32
	// group maps logit i to output i/group (1 for element losses, the
	// vocabulary size for the cross-entropy).
	group int
}

// NumOutputs is the length Backward expects of dOut: 1 for sum and mean, the
// number of output elements for ReductionNone.
func (r *LossResult) NumOutputs() int {
	if r.Reduction != ReductionNone {
		return 1
	}
	return len(r.local) / r.group
}

// Backward returns d(loss)/d(logits) given the upstream gradient dOut of the
// loss output: one value for sum and mean, one per output element for
// ReductionNone.
func (r *LossResult) Backward(dOut []float32) ([]float32, error) {
	g := make([]float32, len(r.local))
	if err := r.BackwardInto(g, dOut); err != nil {
		return nil, err
	}
	return g, nil
}

// BackwardInto is Backward writing d(loss)/d(logits) into g (the length of
// the logits) instead of a new slice.
func (r *LossResult) BackwardInto(g, dOut []float32) error {
	if len(dOut) != r.NumOutputs() {
		return fmt.Errorf("loss backward: upstream gradient has %d values, the %s loss output has %d", len(dOut), r.Reduction, r.NumOutputs())
	}
	if len(g) != len(r.local) {
		return fmt.Errorf("loss backward: gradient buffer has %d values, the logits %d", len(g), len(r.local))
	}
	if r.Reduction != ReductionNone {
		for i, v := range r.local {
			g[i] = dOut[0] * v
		}
		return nil
	}
	for i, v := range r.local {
		g[i] = dOut[i/r.group] * v
	}
	return nil
}

// Grad is Backward with an upstream gradient of 1 (sum and mean only; with
// ReductionNone it is the gradient of the sum of PerElement).
func (r *LossResult) Grad() []float32 {
	g := make([]float32, len(r.local))
	copy(g, r.local)
	return g
}

// reduceElements computes the element losses of x against y, weighted by
// weight (masks; nil = all 1), and reduces them: the mean divides by denom
// (0 when denom is 0, as the reference). It returns the loss, the per-element
// losses (ReductionNone) and the local derivatives, all in float64.
func (sc *LossScratch) reduceElements(x, y, weight []float64, denom float64, ep elemParams, red Reduction) (loss float64, per, local []float64) {
	local = growClear(&sc.local, len(x))
	if red == ReductionNone {
		per = growClear(&sc.per, len(x))
	}
	sum := 0.0
	for i := range x {
		w := 1.0
		if weight != nil {
			w = weight[i]
		}
		if w == 0 {
			continue
		}
		l, g := lossElement(x[i], y[i], ep)
		lw := l * w
		if ep.round32 {
			lw = float64(float32(lw))
		}
		sum += lw
		local[i] = g * w
		if per != nil {
			per[i] = lw
		}
	}
	if ep.round32 {
		sum = float64(float32(sum))
	}
	if red == ReductionMean {
		if denom <= 0 {
			for i := range local {
				local[i] = 0
			}
			return 0, nil, local
		}
		for i := range local {
			local[i] /= denom
		}
		if ep.round32 {
			return float64(float32(sum) / float32(denom)), nil, local
		}
		return sum / denom, nil, local
	}
	return sum, per, local
}

// toResult converts a float64 computation to a LossResult.
// into sc's result, whose buffers it reuses.
func (sc *LossScratch) toResult(loss float64, per, local []float64, red Reduction, group int) *LossResult {
	r := &sc.res
	*r = LossResult{Loss: float32(loss), Reduction: red, local: grow(&sc.local32, len(local)), group: group}
	for i, v := range local {
		r.local[i] = float32(v)
	}
	if per != nil {
		r.PerElement = grow(&sc.per32, len(per))
		for i, v := range per {
			r.PerElement[i] = float32(v)
		}
	}
	return r
}

// to64 widens a into the buffer *buf (grown as needed).
func (sc *LossScratch) to64(buf *[]float64, a []float32) []float64 {
	out := grow(buf, len(a))
	for i, v := range a {
		out[i] = float64(v)
	}
	return out
}

// LossScratch holds the buffers of the element losses (SpanLoss,
// TokenLoss, AdjacencyLoss, RelationLoss) so that repeated calls of the
// same sizes allocate nothing: a graph kernel keeps one per node. The zero
// value is ready to use. The *LossResult its methods return, and its
// PerElement, are the scratch's own and valid until its next call; the
// package-level functions use a fresh scratch per call.
type LossScratch struct {
	x, y, w, local, per []float64
	proposal            []bool
	neg                 []float32
	local32, per32      []float32
	res                 LossResult
}

// grow returns (*buf)[:n], reallocating *buf when it is too short; the
// contents are unspecified.
func grow[T any](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n)
	}
	*buf = (*buf)[:n]
	return *buf
}

// growClear is grow with the n elements zeroed.
func growClear[T any](buf *[]T, n int) []T {
	s := grow(buf, n)
	clear(s)
	return s
}
