package models

import (
	"fmt"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/layers"
	"github.com/gliner-go/gliner/losses"
	"github.com/gliner-go/gliner/models/encoder"
)

// UniEncoderSpanDecoder (gliner/modeling/base.py UniEncoderSpanDecoderModel):
// UniEncoderSpan plus a GPT-2 labels decoder that learns (and generates) each
// kept span's label string. In training the gold spans are kept; each one's
// decoder prefix is its span vector (projected by _enc2dec_proj when
// hidden_size differs from the decoder's n_embd), followed in decoder_mode
// "span" with full_decoder_context by the decoder tokens of its words; the
// label's tokens follow (teacher forcing) and their cross-entropy, summed, is
// weighted by decoder_loss_coef beside the span loss (span_loss_coef).
//
// Two behaviours differ from the reference unless Loss.ReferenceCompat is set
// (docs/reference_differences.md):
//   - Targets: the reference's label tensor carries no end token and its
//     padding (<|endoftext|>) counts as targets (a masked_fill that is not
//     in place, processor.py prepare_decoder_labels). gliner-go ignores
//     padding but appends one <|endoftext|> target after every label, so
//     the decoder learns where a label ends (the teacher-forced sequence is
//     one token longer than the reference's). Under ReferenceCompat every
//     padding token is a target.
//   - Prefix geometry: the reference sizes the left-padded prefix over the
//     padding span slots too (whose quirky word range 0..K−1 takes in the
//     prompt tokens), and feeds positions 0..T−1 regardless of the padding;
//     its generation attends to the left padding. gliner-go sizes the prefix
//     over the kept spans, numbers positions from the first real slot
//     (cumsum(mask)−1) and masks the padding in generation as in training.
//     ReferenceCompat reproduces the reference.
//
// decoder_mode "prompt" is gliner-go's own (the reference's prompt path in
// UniEncoderSpanDecoderModel.forward crashes): the prefix is the span vector
// alone and the generated label replaces the class name (LabelsReplace). The
// text prompt is the one data.Collator builds (the given types after <<ENT>>;
// the reference's prompt-mode prompt without label words is not built): train
// with blank_entity_prob 1 so that every batch has the single class "entity"
// and the decoder learns the types, then predict with the labels ["entity"]
// and let the decoder name each span (TestSpanDecoderPromptModeLearnsLabels
// does exactly this).

// DecoderPrefix is where the labels decoder's Hugging Face keys live.
const DecoderPrefix = "decoder.decoder_layer.model"

// DecoderMode is the span decoder's decoder_mode.
type DecoderMode int

// The decoder modes.
const (
	// DecoderSpan: prefix = span vector + the span words' decoder tokens
	// (with full_decoder_context), generated labels enrich the entities.
	DecoderSpan DecoderMode = iota
	// DecoderPrompt: prefix = the span vector alone, generated labels
	// replace the class names (gliner-go's own; broken in the reference).
	DecoderPrompt
)

func (d DecoderMode) String() string {
	if d == DecoderPrompt {
		return "prompt"
	}
	return "span"
}

// ParseDecoderMode parses decoder_mode ("" or null means "span").
func ParseDecoderMode(s string) (DecoderMode, error) {
	switch s {
	case "", "span":
		return DecoderSpan, nil
	case "prompt":
		return DecoderPrompt, nil
	}
	return 0, fmt.Errorf("unknown decoder_mode %q (valid: span, prompt)", s)
}

// spanDecoder holds the decoder architectures' labels decoder parts.
type spanDecoder struct {
	Cfg  *encoder.GPT2Config
	gpt  *encoder.GPT2
	proj *layers.Projection // _enc2dec_proj, nil when hidden_size = n_embd
	mode DecoderMode
	// words: the prefix carries the span's decoder tokens.
	words bool
	eos   int64
}

// spanDecoderHead is UniEncoderSpanDecoder's head: the span head and the
// labels decoder.
type spanDecoderHead struct {
	spanParts
	decoderPart
}

func newSpanDecoder(m *Model) (archHead, error) {
	if err := firstErr(m.addTextEncoder, m.addRNN); err != nil {
		return nil, err
	}
	sp, err := m.newSpanParts()
	if err != nil {
		return nil, err
	}
	dp, err := m.newDecoderPart()
	return &spanDecoderHead{spanParts: sp, decoderPart: dp}, err
}

func (h *spanDecoderHead) plan(m *Model, k *shapeKey, b *data.Batch, p *batchPlan) error {
	return m.decoderShape(k, b, p)
}

func (h *spanDecoderHead) bind(m *Model, c *compiled, k shapeKey, _ *data.Batch, p *batchPlan) error {
	return m.decoderBind(c, k, p)
}

// newDecoderPart registers the GPT-2 labels decoder and, when
// hidden_size differs from its n_embd, _enc2dec_proj (both decoder
// architectures).
func (m *Model) newDecoderPart() (decoderPart, error) {
	raw := m.Cfg.LabelsDecoderConfig
	if len(raw) == 0 || string(raw) == "null" {
		return decoderPart{}, fmt.Errorf("gliner config: labels_decoder_config is required for %v (no decoder can be downloaded)", m.Arch)
	}
	dc, err := encoder.ParseGPT2Config(raw)
	if err != nil {
		return decoderPart{}, fmt.Errorf("gliner config: labels_decoder_config: %w", err)
	}
	mode := DecoderSpan
	if m.Cfg.DecoderMode != nil {
		if mode, err = ParseDecoderMode(*m.Cfg.DecoderMode); err != nil {
			return decoderPart{}, fmt.Errorf("gliner config: %w", err)
		}
	}
	if dc.EOS() < 0 || dc.EOS() >= dc.VocabSize {
		return decoderPart{}, fmt.Errorf("gliner config: labels_decoder_config: eos_token_id %d outside the vocabulary of %d", dc.EOS(), dc.VocabSize)
	}
	d := &spanDecoder{Cfg: dc, mode: mode, words: mode == DecoderSpan && m.Cfg.FullDecoderContext, eos: int64(dc.EOS())}
	if d.gpt, err = encoder.NewGPT2(m.Store, DecoderPrefix, dc); err != nil {
		return decoderPart{}, err
	}
	if H := m.Cfg.HiddenSize; H != dc.NEmbd {
		if d.proj, err = layers.NewProjection(m.Store, "_enc2dec_proj", H, dc.NEmbd, m.Cfg.Dropout); err != nil {
			return decoderPart{}, err
		}
	}
	return decoderPart{dec: d}, nil
}

// decoderSpanLoss is the span loss options of the decoder model: as written,
// or under ReferenceCompat with label smoothing passed as the probability
// margin (the reference's positional slip in
// UniEncoderSpanDecoderModel.loss).
func (m *Model) decoderSpanLoss() losses.Options { return m.biSpanLoss() }

func (h *spanDecoderHead) build(b *builder) {
	tok := b.text("token_rep_layer_output")
	prompts := b.entPrompts(tok)
	words := b.applyRNN(b.keep("words_embedding_pre_rnn", b.words(tok)))
	b.keep("words_embedding_post_rnn", words)
	b.spanHead(h.spanParts, words, prompts, b.m.decoderSpanLoss)
	M, T := b.k.Dec[0], b.k.Dec[1]
	if !b.k.train || M == 0 {
		return
	}
	d, g := h.dec, b.g
	B, S, H := b.k.B, b.k.W*b.m.Cfg.MaxWidth, b.m.Cfg.HiddenSize
	span := autograd.Reshape(b.c.named["span_rep"], 1, B*S, H)
	rows := b.intInput("decoder_span_rows", 1, M)
	kept := autograd.Reshape(autograd.GatherRows(span, rows), M, H)
	if d.proj != nil {
		kept = d.proj.Forward(g, kept)
	}
	slots := b.intInput("decoder_slots", M, T)
	x := b.keep("decoder_inputs_embeds", DecoderInputs(kept, g.Param(d.gpt.WTE()), slots))
	mask := b.intInput("decoder_mask", M, T)
	pos := b.intInput("decoder_positions", M, T)
	logits := b.keep("decoder_lm_logits", d.gpt.Forward(g, x, mask, pos))
	targets := b.intInput("decoder_targets", M, T)
	dl := b.keep("decoder_loss", DecoderLoss(logits, targets))
	b.c.loss = scaledSum(dl, b.c.loss, float32(b.m.Cfg.DecoderLossCoef), float32(b.m.Cfg.SpanLossCoef))
}

// decoderShape fills the decoder dims of a training batch's shape key
// (kept spans M, sequence length T) and puts the batch's layout in bp.
func (m *Model) decoderShape(k *shapeKey, b *data.Batch, bp *batchPlan) error {
	if !k.train {
		return nil
	}
	p, err := m.decoder().trainPlan(b, k.B, k.W, m.Cfg.MaxWidth, m.Loss.ReferenceCompat)
	if err != nil {
		return fmt.Errorf("%v batch: %w", m.Arch, err)
	}
	bp.dec = p
	k.Dec = [2]int{p.M, p.T}
	return nil
}

// decoderBind copies the decoder layout of a training batch (bp.dec) into
// its graph inputs.
func (m *Model) decoderBind(c *compiled, k shapeKey, bp *batchPlan) error {
	if !k.train || k.Dec[0] == 0 {
		return nil
	}
	p := bp.dec
	if p == nil || p.M != k.Dec[0] || p.T != k.Dec[1] {
		return fmt.Errorf("%v batch: no decoder plan for this batch", m.Arch)
	}
	M, T := k.Dec[0], k.Dec[1]
	for _, e := range []error{
		c.m.SetInts("decoder_span_rows", p.Rows, 1, M),
		c.m.SetInts("decoder_slots", p.Slots, M, T),
		c.m.SetInts("decoder_mask", p.Mask, M, T),
		c.m.SetInts("decoder_positions", p.Positions, M, T),
		c.m.SetInts("decoder_targets", p.Targets, M, T),
	} {
		if e != nil {
			return fmt.Errorf("%v batch: %w", m.Arch, e)
		}
	}
	return nil
}

// decoderCheckState validates the decoder part of a checkpoint (the tied
// lm_head must equal wte) and returns the key the store does not hold.
func (m *Model) decoderCheckState(st *checkpoints.State) ([]string, error) {
	d := m.decoder()
	if d == nil {
		return nil, nil
	}
	if err := d.gpt.LoadState(m.Store, st); err != nil {
		return nil, err
	}
	var ignore []string
	if k := d.gpt.TiedHeadKey(); k != "" {
		ignore = append(ignore, k)
	}
	for _, n := range st.Names {
		if len(n) > len(DecoderPrefix) && n[:len(DecoderPrefix)] == DecoderPrefix && isCausalBuffer(n) {
			ignore = append(ignore, n)
		}
	}
	return ignore, nil
}

func isCausalBuffer(n string) bool {
	return len(n) > 9 && (n[len(n)-9:] == "attn.bias" || (len(n) > 16 && n[len(n)-16:] == "attn.masked_bias"))
}

// Decoder is the model's labels decoder (nil for other architectures).
func (m *Model) Decoder() *encoder.GPT2 {
	if d := m.decoder(); d != nil {
		return d.gpt
	}
	return nil
}

// DecoderMode is the decoder's mode (span or prompt); meaningful only when
// Decoder is not nil.
func (m *Model) DecoderMode() DecoderMode {
	if d := m.decoder(); d != nil {
		return d.mode
	}
	return DecoderSpan
}
