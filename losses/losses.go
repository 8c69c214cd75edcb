// Package losses is GLiNER's loss API under its established names: the
// element loss of the reference (`focal_loss_with_logits`, computed on
// probabilities with clamps), negative masking, the span, token, relation
// extraction and decoder cross-entropy losses, each with an exact
// hand-written backward. The kernels themselves live in package
// autograd/kern (loss*.go) beside every other kernel; this package names
// them for callers (recipes, the models' loss graph kernels, self-training).
package losses

import (
	"math/rand/v2"

	"github.com/gliner-go/gliner/autograd/kern"
)

// Reduction selects how element losses are reduced (kern.Reduction).
type Reduction = kern.Reduction

// Reductions. ReductionSum is the reference default.
const (
	ReductionSum  = kern.ReductionSum
	ReductionMean = kern.ReductionMean
	ReductionNone = kern.ReductionNone
)

// Masking is the negative-masking strategy (kern.Masking).
type Masking = kern.Masking

// Masking strategies. MaskingNone is the reference default for span models;
// the relex losses default to MaskingSpan.
const (
	MaskingNone   = kern.MaskingNone
	MaskingGlobal = kern.MaskingGlobal
	MaskingLabel  = kern.MaskingLabel
	MaskingSpan   = kern.MaskingSpan
)

// IgnoreIndex is the target value the element loss and the decoder
// cross-entropy ignore.
const IgnoreIndex = kern.IgnoreIndex

// Options are the loss settings the reference's trainer passes to the
// model (kern.LossOptions).
type Options = kern.LossOptions

// CEOptions configure DecoderCrossEntropy (kern.CEOptions).
type CEOptions = kern.CEOptions

// Result is a computed loss and what its backward needs (kern.LossResult).
type Result = kern.LossResult

// Scratch holds the span, token, adjacency and relation losses' buffers
// between calls (kern.LossScratch): its methods of those names allocate
// nothing once sized, and their Result is valid until its next call.
type Scratch = kern.LossScratch

// DefaultOptions are the reference trainer's defaults: plain BCE (α −1,
// γ 0), no margin or smoothing, sum, no negative masking.
func DefaultOptions() Options { return kern.DefaultLossOptions() }

// ParseReduction parses "sum", "mean" or "none".
func ParseReduction(s string) (Reduction, error) { return kern.ParseReduction(s) }

// ParseMasking parses "none", "global", "label" or "span".
func ParseMasking(s string) (Masking, error) { return kern.ParseMasking(s) }

// Element is kern.LossElement: the reference element loss and its
// derivative for one logit (or probability, normalize=false).
func Element(x, y float32, o Options, normalize bool) (loss, dLossdX float32) {
	return kern.LossElement(x, y, o, normalize)
}

// NegativeMask is kern.NegativeMask: the reference's negative-sampling
// mask for labels viewed as (B, S, C, Ch).
func NegativeMask(labels []float32, b, s, c, ch int, m Masking, negatives float32, rng *rand.Rand) ([]float32, error) {
	return kern.NegativeMask(labels, b, s, c, ch, m, negatives, rng)
}

// SpanLoss is kern.SpanLoss, the span-model loss over (B, S, C) logits.
func SpanLoss(logits, labels []float32, b, s, c int, spanMask, promptsMask []float32, o Options, rng *rand.Rand) (*Result, error) {
	return kern.SpanLoss(logits, labels, b, s, c, spanMask, promptsMask, o, rng)
}

// TokenLoss is kern.TokenLoss, the token-model loss over (B, W, C, Ch)
// logits.
func TokenLoss(logits, labels []float32, b, w, c, ch int, wordMask, promptsMask []float32, o Options, rng *rand.Rand) (*Result, error) {
	return kern.TokenLoss(logits, labels, b, w, c, ch, wordMask, promptsMask, o, rng)
}

// AdjacencyLoss is kern.AdjacencyLoss, the relex adjacency loss over
// (B, E, E) probabilities.
func AdjacencyLoss(adj, labels []float32, b, e int, entMask []float32, o Options, rng *rand.Rand) (*Result, error) {
	return kern.AdjacencyLoss(adj, labels, b, e, entMask, o, rng)
}

// RelationLoss is kern.RelationLoss, the relex relation-classification
// loss over (B, N, R) logits.
func RelationLoss(logits, labels []float32, b, n, r int, pairMask, classMask []float32, o Options, rng *rand.Rand) (*Result, error) {
	return kern.RelationLoss(logits, labels, b, n, r, pairMask, classMask, o, rng)
}

// DecoderCrossEntropy is kern.DecoderCrossEntropy, the labels-decoder
// token cross-entropy of (rows, vocab) logits.
func DecoderCrossEntropy(logits []float32, targets []int64, rows, vocab int, o CEOptions) (*Result, error) {
	return kern.DecoderCrossEntropy(logits, targets, rows, vocab, o)
}
