package kern

// The loss kernels, plain Go over float32 slices (package losses re-exports
// them under their former names):
// the element loss of the reference (`focal_loss_with_logits`, computed on
// probabilities with clamps), negative masking, the span, token, relation
// extraction and decoder cross-entropy losses, each with an exact hand-written
// backward (the gradient with respect to the logits).
//
// Every loss returns a *LossResult holding the reduced loss and what Backward
// needs; the graph kernels in models wrap them (SpanLossAttrs, …). The numbers
// follow the reference (GLiNER v0.2.27) computed in float32, so the fixtures'
// losses match within 1e-4 relative.
//
// Differences from the reference, all documented at the function concerned:
//   - ReductionNone returns the real per-element losses; the reference warns
//     and sums.
//   - TokenLoss applies the masking strategy unless LossOptions.ReferenceCompat is
//     set (the reference never passes it to the token loss).
//   - DecoderCrossEntropy can ignore padding targets (the reference counts
//     them: processor.py
//     UniEncoderSpanDecoderProcessor.prepare_decoder_labels).

import (
	"fmt"
	"strings"
)

// Reduction selects how element losses are reduced.
type Reduction int

// Reductions. ReductionSum is the reference default.
const (
	ReductionSum Reduction = iota
	ReductionMean
	ReductionNone
)

var reductionNames = []string{"sum", "mean", "none"}

// String returns the reference's name for r.
func (r Reduction) String() string {
	if r < 0 || int(r) >= len(reductionNames) {
		return fmt.Sprintf("Reduction(%d)", int(r))
	}
	return reductionNames[r]
}

// ParseReduction parses "sum", "mean" or "none".
func ParseReduction(s string) (Reduction, error) {
	for i, n := range reductionNames {
		if s == n {
			return Reduction(i), nil
		}
	}
	return 0, fmt.Errorf("unknown loss reduction %q (valid: %s)", s, strings.Join(reductionNames, ", "))
}

// Masking is the negative-masking strategy (gliner/modeling/base.py
// BaseModel._loss).
type Masking int

// Masking strategies. MaskingNone is the reference default for span models;
// the relex losses default to MaskingSpan.
const (
	MaskingNone Masking = iota
	MaskingGlobal
	MaskingLabel
	MaskingSpan
)

var maskingNames = []string{"none", "global", "label", "span"}

// String returns the reference's name for m.
func (m Masking) String() string {
	if m < 0 || int(m) >= len(maskingNames) {
		return fmt.Sprintf("Masking(%d)", int(m))
	}
	return maskingNames[m]
}

// ParseMasking parses "none", "global", "label" or "span".
func ParseMasking(s string) (Masking, error) {
	for i, n := range maskingNames {
		if s == n {
			return Masking(i), nil
		}
	}
	return 0, fmt.Errorf("unknown negative masking %q (valid: %s)", s, strings.Join(maskingNames, ", "))
}

// Options are the loss settings the reference's trainer passes to the model.
type LossOptions struct {
	// Alpha weights positives by α and negatives by 1−α; negative disables it.
	Alpha float32
	// Gamma is the focal exponent; 0 disables focal modulation.
	Gamma float32
	// ProbMargin is subtracted from the probability in the negative term.
	ProbMargin float32
	// LabelSmoothing maps targets y to y(1−ε)+0.5ε.
	LabelSmoothing float32
	// Reduction of the masked element losses.
	Reduction Reduction
	// Negatives is the probability of keeping a negative element under
	// Masking; 1 keeps all (no random draws are made then).
	Negatives float32
	// Masking is the negative-masking strategy.
	Masking Masking
	// ReferenceCompat reproduces the reference where it differs on purpose:
	// TokenLoss then ignores Masking, as the reference does.
	ReferenceCompat bool
}

// DefaultOptions are the reference trainer's defaults: plain BCE (α −1,
// γ 0), no margin or smoothing, sum, no negative masking.
func DefaultLossOptions() LossOptions {
	return LossOptions{Alpha: -1, Reduction: ReductionSum, Negatives: 1, Masking: MaskingNone}
}

// Validate checks the ranges of the options.
func (o LossOptions) Validate() error {
	if o.Gamma < 0 {
		return fmt.Errorf("loss options: gamma %v must be >= 0", o.Gamma)
	}
	if o.LabelSmoothing < 0 || o.LabelSmoothing > 1 {
		return fmt.Errorf("loss options: label smoothing %v must be in [0, 1]", o.LabelSmoothing)
	}
	if o.Negatives < 0 {
		return fmt.Errorf("loss options: negatives %v must be >= 0", o.Negatives)
	}
	if o.Reduction < ReductionSum || o.Reduction > ReductionNone {
		return fmt.Errorf("loss options: invalid reduction %v", o.Reduction)
	}
	if o.Masking < MaskingNone || o.Masking > MaskingSpan {
		return fmt.Errorf("loss options: invalid masking %v", o.Masking)
	}
	return nil
}

// SmoothingAsMargin returns o as the reference's BiEncoderSpan and
// UniEncoderSpanDecoder losses see it (gliner/modeling/base.py
// BiEncoderSpanModel.loss and UniEncoderSpanDecoderModel.loss): they pass
// label_smoothing positionally into prob_margin, so the margin becomes the
// smoothing value and smoothing is 0 (the configured margin is dropped).
func (o LossOptions) SmoothingAsMargin() LossOptions {
	o.ProbMargin = o.LabelSmoothing
	o.LabelSmoothing = 0
	return o
}
