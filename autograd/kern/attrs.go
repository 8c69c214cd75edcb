package kern

import "fmt"

// Attrs is the identity and static settings of one kernel: every kernel
// has its own attribute struct type (LayerNormAttrs, AttentionAttrs, …)
// holding what is fixed when a graph is built; dimensions come from the
// input shapes. Code that maps kernels to another format (an ONNX
// exporter, a GPU backend) switches on the attribute type. The graph
// wrappers in package autograd and models return theirs from Attrs().
type Attrs interface {
	// Kernel is the kernel's name, the same for every value of the type.
	Kernel() string
}

// ---- dense products ---------------------------------------------------------

// LinearAttrs is torch.nn.Linear, y = x·Wᵀ (+ b) over the last axis
// (LinearForward, LinearBackward).
type LinearAttrs struct{ Bias bool }

// Conv1DAttrs is GPT-2's Conv1D, y = x·W + b with W stored (in, out)
// (Conv1DForward, Conv1DBackward).
type Conv1DAttrs struct{}

// BatchMatMulNTAttrs is out[b] = a[b]·b[b]ᵀ (BatchMatMulNTForward,
// BatchMatMulNTBackward).
type BatchMatMulNTAttrs struct{}

// ScorerHiddenAttrs is the token scorer's fused pair construction and
// first out_mlp layer (ScorerHiddenForward, ScorerHiddenBackward).
type ScorerHiddenAttrs struct{}

// SpanFirstLayerAttrs is markerV0's first out_project layer applied to
// every span from per-word products (SpanFirstLayerForward,
// SpanFirstLayerBackward).
type SpanFirstLayerAttrs struct{}

func (LinearAttrs) Kernel() string         { return "linear" }
func (Conv1DAttrs) Kernel() string         { return "conv1d" }
func (BatchMatMulNTAttrs) Kernel() string  { return "bmm_nt" }
func (ScorerHiddenAttrs) Kernel() string   { return "scorer_hidden" }
func (SpanFirstLayerAttrs) Kernel() string { return "span_first_layer" }

// ---- elementwise -----------------------------------------------------------

// AddAttrs is the elementwise sum of two equal shapes (Add; its backward
// is the identity).
type AddAttrs struct{}

// ReLUAttrs is max(x, 0) (ReLUForward, ReLUBackward).
type ReLUAttrs struct{}

// Activation names an elementwise nonlinearity.
type Activation int

// The activations of the supported encoders and heads.
const (
	ActGELU    Activation = iota // exact erf form ("gelu")
	ActGELUNew                   // tanh approximation ("gelu_new", GPT-2)
	ActTanh
	ActSigmoid
)

// String is the Hugging Face hidden_act name of a.
func (a Activation) String() string {
	switch a {
	case ActGELU:
		return "gelu"
	case ActGELUNew:
		return "gelu_new"
	case ActTanh:
		return "tanh"
	case ActSigmoid:
		return "sigmoid"
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

// ParseActivation maps a Hugging Face hidden_act string to an Activation.
func ParseActivation(s string) (Activation, error) {
	switch s {
	case "gelu":
		return ActGELU, nil
	case "gelu_new", "gelu_pytorch_tanh":
		return ActGELUNew, nil
	case "tanh":
		return ActTanh, nil
	case "sigmoid":
		return ActSigmoid, nil
	}
	return 0, fmt.Errorf("unsupported activation %q (valid: gelu, gelu_new, gelu_pytorch_tanh, tanh, sigmoid)", s)
}

// ActivationAttrs is one elementwise activation (GELUForward/Backward,
// GELUNewForward/Backward, TanhForward/Backward, SigmoidForward/Backward).
type ActivationAttrs struct{ Act Activation }

// DropoutAttrs is inverted dropout with drop probability P
// (DropoutForward, DropoutBackward); the mask comes from the graph's RNG.
type DropoutAttrs struct{ P float64 }

// SigmoidPairMaskAttrs is σ(x)·m_i·m_j over (B,E,E) scores
// (SigmoidPairMaskForward, SigmoidPairMaskBackward).
type SigmoidPairMaskAttrs struct{}

// ScaledSumAttrs is Σ Weights[i]·x_i over scalar inputs (ScaledSumForward,
// ScaledSumBackward): the total losses of the relex and decoder models.
type ScaledSumAttrs struct{ Weights []float32 }

// DotConstAttrs is the scalar Σ x⊙W for a fixed W (DotConstForward,
// DotConstBackward), used by gradient tests.
type DotConstAttrs struct{ W []float32 }

func (AddAttrs) Kernel() string             { return "add" }
func (ReLUAttrs) Kernel() string            { return "relu" }
func (ActivationAttrs) Kernel() string      { return "activation" }
func (DropoutAttrs) Kernel() string         { return "dropout" }
func (SigmoidPairMaskAttrs) Kernel() string { return "sigmoid_pair_mask" }
func (ScaledSumAttrs) Kernel() string       { return "scaled_sum" }
func (DotConstAttrs) Kernel() string        { return "dot_const" }

// ---- normalisation and attention ------------------------------------------

// LayerNormAttrs is torch.nn.LayerNorm over the last axis
// (LayerNormForward, LayerNormBackward).
type LayerNormAttrs struct{ Eps float32 }

// AttentionKind selects the masking and position scheme of attention.
type AttentionKind int

// The attention variants of the supported encoders.
const (
	AttnBERT         AttentionKind = iota // additive key mask
	AttnCausal                            // GPT-2: causal fill + additive key mask
	AttnDisentangled                      // DeBERTa-v2/v3 c2p/p2c relative attention
)

// AttentionAttrs is fused multi-head scaled-dot-product attention
// (BertAttentionForward/Backward, CausalAttentionForward/Backward,
// DisentangledAttentionForward/Backward by Kind).
type AttentionAttrs struct {
	Kind  AttentionKind
	Heads int
	// Dropout on the attention probabilities (training graphs only).
	Dropout float64
	// Disentangled settings (AttnDisentangled only).
	Rel Disentangled
}

// BiLSTMAttrs is one bidirectional LSTM layer over packed lengths
// (BiLSTMForward, BiLSTMBackward).
type BiLSTMAttrs struct{}

func (LayerNormAttrs) Kernel() string { return "layernorm" }
func (AttentionAttrs) Kernel() string { return "attention" }
func (BiLSTMAttrs) Kernel() string    { return "bilstm" }

// ---- gathers, scatters and layout -----------------------------------------

// EmbeddingAttrs is a row lookup of a (V,D) table (Embedding,
// EmbeddingBackward).
type EmbeddingAttrs struct{}

// GatherRowsAttrs picks rows per batch (GatherRows, ScatterAddRows).
type GatherRowsAttrs struct{}

// ReshapeAttrs views a tensor with another shape; it has no maths (the
// output aliases the input).
type ReshapeAttrs struct{ Shape []int }

// ConcatLastAttrs joins tensors on their last axis (ConcatLastForward,
// ConcatLastBackward).
type ConcatLastAttrs struct{}

// ColumnsAttrs selects the columns [Off, Off+Width) of the last axis
// (ColumnsForward, ColumnsBackward).
type ColumnsAttrs struct{ Off, Width int }

// AddLeadingRowsAttrs adds the leading rows of a table to every (T,D)
// block (AddLeadingRowsForward, AddLeadingRowsBackward).
type AddLeadingRowsAttrs struct{}

// MaskRowsAttrs zeroes the rows whose mask is 0 (MaskRowsForward,
// MaskRowsBackward).
type MaskRowsAttrs struct{}

// BroadcastRowsAttrs repeats an (N,D) tensor Copies times
// (BroadcastRowsForward, BroadcastRowsBackward).
type BroadcastRowsAttrs struct{ Copies int }

// MaskedMeanAttrs pools (N,T,D) over T with a 0/1 mask (MaskedMeanForward,
// MaskedMeanBackward).
type MaskedMeanAttrs struct{}

// DecoderInputsAttrs assembles the labels decoder's inputs_embeds from
// token ids, span vectors and zero slots (DecoderInputsForward,
// DecoderInputsBackward).
type DecoderInputsAttrs struct{}

func (EmbeddingAttrs) Kernel() string      { return "embedding" }
func (GatherRowsAttrs) Kernel() string     { return "gather_rows" }
func (ReshapeAttrs) Kernel() string        { return "reshape" }
func (ConcatLastAttrs) Kernel() string     { return "concat_last" }
func (ColumnsAttrs) Kernel() string        { return "columns" }
func (AddLeadingRowsAttrs) Kernel() string { return "add_leading_rows" }
func (MaskRowsAttrs) Kernel() string       { return "mask_rows" }
func (BroadcastRowsAttrs) Kernel() string  { return "broadcast_rows" }
func (MaskedMeanAttrs) Kernel() string     { return "masked_mean" }
func (DecoderInputsAttrs) Kernel() string  { return "decoder_inputs" }

// ---- losses -----------------------------------------------------------------

// SpanLossAttrs is the span-model loss (SpanLoss, LossResult.Backward).
type SpanLossAttrs struct{ Options LossOptions }

// TokenLossAttrs is the token-model loss (TokenLoss, LossResult.Backward).
type TokenLossAttrs struct{ Options LossOptions }

// AdjacencyLossAttrs is the relex adjacency loss (AdjacencyLoss,
// LossResult.Backward).
type AdjacencyLossAttrs struct{ Options LossOptions }

// RelationLossAttrs is the relex relation loss (RelationLoss,
// LossResult.Backward).
type RelationLossAttrs struct{ Options LossOptions }

// DecoderCrossEntropyAttrs is the labels-decoder token cross-entropy
// (DecoderCrossEntropy, LossResult.Backward).
type DecoderCrossEntropyAttrs struct{ Options CEOptions }

func (SpanLossAttrs) Kernel() string            { return "span_loss" }
func (TokenLossAttrs) Kernel() string           { return "token_loss" }
func (AdjacencyLossAttrs) Kernel() string       { return "adjacency_loss" }
func (RelationLossAttrs) Kernel() string        { return "relation_loss" }
func (DecoderCrossEntropyAttrs) Kernel() string { return "decoder_cross_entropy" }

// ---- optimizer --------------------------------------------------------------
// These act on parameters, gradients and optimizer state in place, outside
// any graph (package train runs them on the store's backend).

// AdamWAttrs is one parameter's torch.optim.AdamW update with the step's
// float32 constants (train.AdamW.Step): inputs weight, gradient, first and
// second moment, all updated in place.
type AdamWAttrs struct {
	Decay, Beta1, OneMinusBeta1, Beta2, OneMinusBeta2, Eps, NegStep, BiasCorr2Sqrt float32
}

// GradNormAttrs is torch.nn.utils.clip_grad_norm_'s global L2 norm of the
// input tensors (each tensor's norm rounded to float32, accumulated in
// float64), a scalar output.
type GradNormAttrs struct{}

// ScaleAttrs multiplies a tensor in place by C (gradient clipping).
type ScaleAttrs struct{ C float32 }

func (AdamWAttrs) Kernel() string    { return "adamw" }
func (GradNormAttrs) Kernel() string { return "grad_norm" }
func (ScaleAttrs) Kernel() string    { return "scale" }
