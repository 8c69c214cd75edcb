package models

import "github.com/gliner-go/gliner/data"

// CollatorConfig is the collator configuration for this model: the
// model's architecture (prompt, tensors and label layout) with the
// config's max_width, max_types, max_len, max_neg_type_ratio and prompt
// markers, the relex training augmentation (UniEncoderSpanRelex) and the
// blank-entity probability (UniEncoderSpanDecoder), as the reference's
// data processors read them from the config (gliner/data_processing in
// urchade/GLiNER c2bb58d). ModelMaxLength and Truncation are left at
// their defaults: they depend on the tokenizer and the caller's policy.
func (m *Model) CollatorConfig() data.CollatorConfig {
	cfg := m.Cfg
	c := data.DefaultCollatorConfig(m.Arch)
	c.MaxWidth, c.MaxTypes, c.MaxLen, c.MaxNegTypeRatio = cfg.MaxWidth, cfg.MaxTypes, cfg.MaxLen, cfg.MaxNegTypeRatio
	c.EntToken, c.SepToken = cfg.EntToken, cfg.SepToken
	if cfg.RelToken != "" {
		c.RelToken = cfg.RelToken
	}
	if m.Arch.Relex() {
		c.AugmentDataProb = cfg.AugmentDataProb
		if len(cfg.AugmentEntDropProb) == 2 {
			c.AugmentEntDropProb = [2]float64{cfg.AugmentEntDropProb[0], cfg.AugmentEntDropProb[1]}
		}
		if len(cfg.AugmentRelDropProb) == 2 {
			c.AugmentRelDropProb = [2]float64{cfg.AugmentRelDropProb[0], cfg.AugmentRelDropProb[1]}
		}
		c.AugmentAddOtherProb = cfg.AugmentAddOtherProb
	}
	if m.Arch.Decoder() {
		c.BlankEntityProb = cfg.BlankEntityProb
	}
	if m.Arch.TokenLevel() && m.Arch.Decoder() {
		// UniEncoderTokenDecoderConfig forces represent_spans (gliner/config.py).
		c.RepresentSpans, c.NegSpansRatio = true, cfg.NegSpansRatio
	}
	return c
}

// PadsTrainBatches reports whether training batches of this model may be
// padded to shape buckets (data.ShapeBuckets, Batch.PadTo) with the loss
// unchanged: the uni-encoder span and token models. Relex, span-decoder
// and bi-encoder training batches carry tensors the padding does not
// extend (entities and pairs, decoder inputs, the batch's own label set).
func (m *Model) PadsTrainBatches() bool {
	return !m.Arch.BiEncoder() && !m.Arch.Relex() && !m.Arch.Decoder()
}

// PadsInferenceBatches reports whether inference batches may be padded to
// shape buckets with the outputs at valid positions unchanged: every
// model but relex (its entity and pair tensors are not extended) and a
// span decoder under Loss.ReferenceCompat (whose generation lays its
// prefix out over the padding span slots, as the reference does, so
// padding would change the generated labels; see span_decoder.go).
func (m *Model) PadsInferenceBatches() bool {
	return !m.Arch.Relex() && !(m.Arch.Decoder() && m.Loss.ReferenceCompat)
}
