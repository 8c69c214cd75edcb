// Package kern holds the numeric kernels behind every graph operation of
// gliner-go: matrix products through BLAS (OpenBLAS via cgo by default,
// pure Go with the `purego` build tag) and hand-written forward and
// backward passes on row-major float32 slices. Kernels know nothing of
// graphs; package autograd (and the thin wrappers in models and
// models/encoder) adapt them to Gorgonia ops.
//
// Every kernel has an attribute struct (see Attrs) that names it and holds
// its static settings, a forward and a backward function, and a
// finite-difference test beside it. The kernels by family (attribute type:
// forward / backward):
//
// Dense products (dense.go, dense_fused.go, blas.go):
//   - LinearAttrs: LinearForward / LinearBackward
//   - Conv1DAttrs: Conv1DForward / Conv1DBackward
//   - BatchMatMulNTAttrs: BatchMatMulNTForward / BatchMatMulNTBackward
//   - ScorerHiddenAttrs: ScorerHiddenForward / ScorerHiddenBackward
//   - SpanFirstLayerAttrs: SpanFirstLayerForward / SpanFirstLayerBackward
//
// Elementwise (elementwise*.go, activation.go, dropout.go):
//   - AddAttrs: Add / identity
//   - ReLUAttrs: ReLUForward / ReLUBackward
//   - ActivationAttrs: GELU, GELUNew, Tanh, Sigmoid Forward / Backward
//   - DropoutAttrs: DropoutForward / DropoutBackward
//   - SigmoidPairMaskAttrs: SigmoidPairMaskForward / SigmoidPairMaskBackward
//   - ScaledSumAttrs: ScaledSumForward / ScaledSumBackward
//   - DotConstAttrs: DotConstForward / DotConstBackward
//
// Normalisation, attention, recurrence (layernorm.go, attention*.go,
// softmax.go, relpos.go, lstm.go):
//   - LayerNormAttrs: LayerNormForward / LayerNormBackward
//   - AttentionAttrs: BertAttention, CausalAttention, DisentangledAttention
//     Forward / Backward
//   - BiLSTMAttrs: BiLSTMForward / BiLSTMBackward
//
// Gathers, scatters and layout (embedding.go, gather.go, layout.go):
//   - EmbeddingAttrs: Embedding / EmbeddingBackward
//   - GatherRowsAttrs: GatherRows / ScatterAddRows
//   - ReshapeAttrs: none (a view)
//   - ConcatLastAttrs: ConcatLastForward / ConcatLastBackward
//   - ColumnsAttrs: ColumnsForward / ColumnsBackward
//   - AddLeadingRowsAttrs: AddLeadingRowsForward / AddLeadingRowsBackward
//   - MaskRowsAttrs: MaskRowsForward / MaskRowsBackward
//   - BroadcastRowsAttrs: BroadcastRowsForward / BroadcastRowsBackward
//   - MaskedMeanAttrs: MaskedMeanForward / MaskedMeanBackward
//   - DecoderInputsAttrs: DecoderInputsForward / DecoderInputsBackward
//
// Losses (loss*.go; package losses re-exports them under their former
// names). The forward returns a *LossResult whose Backward is the
// gradient with respect to the logits:
//   - SpanLossAttrs: SpanLoss
//   - TokenLossAttrs: TokenLoss
//   - AdjacencyLossAttrs: AdjacencyLoss
//   - RelationLossAttrs: RelationLoss
//   - DecoderCrossEntropyAttrs: DecoderCrossEntropy
//
// with NegativeMask and LossElement, the element loss they share.
package kern
