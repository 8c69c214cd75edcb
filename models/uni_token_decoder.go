package models

import (
	"fmt"
	"math"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
)

// UniEncoderTokenDecoder (gliner/modeling/base.py UniEncoderTokenDecoderModel
// in urchade/GLiNER c2bb58d): UniEncoderToken's scorer on (words, raw
// prompts) gives the token logits (B,W,C,3); span rows (the gold spans and
// sampled negatives in training, the rows proposed from the token scores at
// inference) are represented by the TokenMarker span_rep_layer and scored
// against the raw prompts (span_logits (B,S,C)); the kept rows' span vectors,
// followed by the decoder tokens of their words, prefix the GPT-2 labels
// decoder, which learns (teacher forcing) and generates each span's label.
//
// The reference's prompt_rep_layer exists (its MRO builds it:
// UniEncoderTokenDecoderModel.__init__ reaches UniEncoderSpanDecoderModel's)
// but is never used. decoder_mode "prompt" is not supported;
// full_decoder_context is not read (the reference's token decoder always puts
// the span's decoder tokens in the prefix).
//
// Behaviours that differ from the reference unless Loss.ReferenceCompat is
// set:
//   - Prefix words (UniEncoderTokenDecoderModel.select_token_decoder_embedding):
//     the reference compares 0-based span bounds with the 1-based
//     decoder_words_mask, so a span's context is shifted one word left and
//     a span starting at word 0 takes the whole prompt and the padding.
//     gliner-go takes the span's own words.
//   - Targets and geometry: as UniEncoderSpanDecoder (span_decoder.go).
//   - Loss (UniEncoderTokenDecoderModel.loss): the reference multiplies the
//     token loss by token_loss_coef twice; gliner-go once.
//   - Inference (UniEncoderTokenDecoderModel.forward): the reference keeps a
//     span for the decoder when max_c σ(span_logit) > 0.5 (fixed); gliner-go
//     uses the decoding threshold and only the example's own classes.
//   - Span rows at inference (modeling/utils.py
//     extract_spans_from_tokens) cover only words inside each text.

// tokenDecoderHead is UniEncoderTokenDecoder's head: markerV0 (its
// TokenMarker span rows) and the unused prompt_rep_layer, the scorer and
// the labels decoder.
type tokenDecoderHead struct {
	spanParts
	scorerPart
	decoderPart
}

func newTokenDecoder(m *Model) (archHead, error) {
	h := &tokenDecoderHead{}
	if err := firstErr(m.addTextEncoder, m.addRNN,
		func() (err error) { h.spanParts, err = m.newSpanParts(); return err },
		func() (err error) { h.scorerPart, err = m.newScorerPart(); return err },
		func() (err error) { h.decoderPart, err = m.newDecoderPart(); return err }); err != nil {
		return nil, err
	}
	if h.dec.mode != DecoderSpan {
		return nil, fmt.Errorf("gliner config: decoder_mode %q is not supported for %v (only \"span\")", h.dec.mode, m.Arch)
	}
	h.dec.words = true
	return h, nil
}

func (h *tokenDecoderHead) plan(m *Model, k *shapeKey, b *data.Batch, p *batchPlan) error {
	return m.tokenDecoderShape(k, b, p)
}

func (h *tokenDecoderHead) bind(m *Model, c *compiled, k shapeKey, b *data.Batch, p *batchPlan) error {
	if err := m.bindTokenDecoder(c, k, b); err != nil {
		return err
	}
	return m.decoderBind(c, k, p)
}

func (h *tokenDecoderHead) build(b *builder) {
	if b.k.stage == tokenSlotsStage {
		b.tokenSlotHead(h.span, true)
		return
	}
	m, k, g := b.m, b.k, b.g
	tok := b.text("token_rep_layer_output")
	prompts := b.entPrompts(tok)
	words := b.applyRNN(b.keep("words_embedding_pre_rnn", b.words(tok)))
	b.keep("words_embedding_post_rnn", words)
	b.keep("words_embedding", words)
	b.keep("prompts_embedding", prompts)
	b.c.logits = b.keep("scorer_output", h.scorer.Forward(g, words, prompts))
	if !k.train {
		return
	}
	labels := b.floatInput("labels", k.B, k.W, k.C, 3)
	wordMask := b.floatInput("word_mask", k.B, k.W)
	promptsMask := b.floatInput("prompts_mask", k.B, k.C)
	tokLoss := g.Apply(&tokenLossK{dyn: m.lossAsWritten, rng: m.rng}, b.c.logits, labels, wordMask, promptsMask)
	S := k.E
	if S == 0 {
		// No span row in the batch (no gold entity): the token loss alone.
		b.c.loss = LossSum([]float32{float32(m.Cfg.TokenLossCoef)}, tokLoss)
		return
	}
	span := b.keep("span_rep", h.span.Forward(g, words, b.intInput("slot_start", k.B, S), b.intInput("slot_end", k.B, S)))
	spanLogits := b.keep("span_logits", autograd.BatchMatMulNT(span, prompts))
	spanLabels := b.floatInput("span_labels", k.B, S, k.C)
	slotMask := b.floatInput("slot_mask", k.B, S)
	spanLoss := g.Apply(&tokenLossK{dyn: m.lossAsWritten, rng: m.rng},
		autograd.Reshape(spanLogits, k.B, S, k.C, 1), autograd.Reshape(spanLabels, k.B, S, k.C, 1), slotMask, promptsMask)
	tc, sc := float32(m.Cfg.TokenLossCoef), float32(m.Cfg.SpanLossCoef)
	if m.Loss.ReferenceCompat {
		// (tc·tok + sc·span)·tc (base.py UniEncoderTokenDecoderModel.loss).
		tc, sc = tc*tc, sc*tc
	}
	b.c.loss = LossSum([]float32{tc, sc}, tokLoss, spanLoss)
	M, T := k.Dec[0], k.Dec[1]
	if M == 0 {
		return
	}
	d := h.dec
	flat := autograd.Reshape(span, 1, k.B*S, m.Cfg.HiddenSize)
	kept := autograd.Reshape(autograd.GatherRows(flat, b.intInput("decoder_span_rows", 1, M)), M, m.Cfg.HiddenSize)
	if d.proj != nil {
		kept = d.proj.Forward(g, kept)
	}
	x := b.keep("decoder_inputs_embeds", DecoderInputs(kept, g.Param(d.gpt.WTE()), b.intInput("decoder_slots", M, T)))
	logits := b.keep("decoder_lm_logits", d.gpt.Forward(g, x, b.intInput("decoder_mask", M, T), b.intInput("decoder_positions", M, T)))
	dl := b.keep("decoder_loss", DecoderLoss(logits, b.intInput("decoder_targets", M, T)))
	b.c.loss = scaledSum(dl, b.c.loss, float32(m.Cfg.DecoderLossCoef), 1)
}

// tokenDecoderShape fills a token decoder training batch's shape key:
// span rows E = S, and the decoder dims of its plan, put in bp.
func (m *Model) tokenDecoderShape(k *shapeKey, b *data.Batch, bp *batchPlan) error {
	d := m.decoder()
	if !k.train {
		return nil
	}
	s := b.SpanIdx.Shape
	if len(s) != 3 || s[0] != k.B || s[2] != 2 {
		return fmt.Errorf("%v batch: span_idx has shape %v, want (B=%d,S,2) (the collator's represent_spans rows)", m.Arch, s, k.B)
	}
	k.E = s[1]
	if ls := b.SpanLabels.Shape; len(ls) != 3 || ls[0] != k.B || ls[1] != k.E || ls[2] != k.C {
		return fmt.Errorf("%v batch: span_labels have shape %v, want (%d,%d,%d)", m.Arch, ls, k.B, k.E, k.C)
	}
	p, err := d.tokenTrainPlan(b, k.B, k.E, k.C, m.Loss.ReferenceCompat)
	if err != nil {
		return fmt.Errorf("%v batch: %w", m.Arch, err)
	}
	bp.dec = p
	k.Dec = [2]int{p.M, p.T}
	return nil
}

// bindTokenDecoder binds a training batch's span rows and span labels.
func (m *Model) bindTokenDecoder(c *compiled, k shapeKey, b *data.Batch) error {
	if !k.train || k.E == 0 {
		return nil
	}
	if err := m.bindTrainSlots(c, b, k.B, k.E); err != nil {
		return err
	}
	if err := c.m.SetFloats("span_labels", b.SpanLabels.Data, k.B, k.E, k.C); err != nil {
		return fmt.Errorf("%v batch: %w", m.Arch, err)
	}
	return nil
}

// tokenTrainPlan keeps the rows with a gold class (max_c span_labels = 1
// and span_mask, base.py select_token_decoder_embedding) and lays out
// their teacher-forced sequences.
func (d *spanDecoder) tokenTrainPlan(b *data.Batch, B, S, C int, compat bool) (*decoderPlan, error) {
	keep := func(bi, n int) bool {
		if !b.SpanMask.Data[bi*S+n] {
			return false
		}
		mx := float32(math.Inf(-1))
		for _, v := range b.SpanLabels.Data[(bi*S+n)*C : (bi*S+n+1)*C] {
			mx = max(mx, v)
		}
		return mx == 1
	}
	kept, rows, spanIdx := keptSpans(keep, B, S)
	p := &decoderPlan{M: len(rows), Rows: rows, SpanIdx: spanIdx}
	if p.M == 0 {
		return p, nil
	}
	slots, mask, tp, err := d.tokenPrefixes(b, b.SpanIdx.Data, kept, S, compat)
	if err != nil {
		return nil, err
	}
	if err := d.teacherForce(p, b, slots, mask, tp, compat); err != nil {
		return nil, err
	}
	return p, nil
}

// tokenPrefixes lays out each kept row's decoder prefix (the reference's
// UniEncoderTokenDecoderModel.select_token_decoder_embedding): left padding,
// the span vector, then the decoder tokens of its words. spans (B,S,2) are
// the rows' word bounds. Under compat the reference's bounds (0-based span
// words against the 1-based decoder_words_mask, so mask values s..e) and its
// prefix length (over every packed row, the padding rows taking the example's
// last span row, as its index −1 does); otherwise the span's words (mask
// s+1..e+1) and the kept rows' length.
func (d *spanDecoder) tokenPrefixes(b *data.Batch, spans []int64, kept [][]int, S int, compat bool) (slots, mask []int64, tp int, err error) {
	B := len(kept)
	if s := b.DecoderInputIDs.Shape; len(s) != 2 || s[0] != B {
		return nil, nil, 0, fmt.Errorf("decoder_input_ids have shape %v, want (B=%d,Td)", s, B)
	}
	td := b.DecoderInputIDs.Shape[1]
	if len(b.DecoderWordsMask.Data) != B*td {
		return nil, nil, 0, fmt.Errorf("decoder_words_mask has shape %v, want decoder_input_ids' (%d,%d)", b.DecoderWordsMask.Shape, B, td)
	}
	ids, wm := b.DecoderInputIDs.Data, b.DecoderWordsMask.Data
	bounds := func(bi, n int) (int64, int64) {
		s, e := spans[(bi*S+n)*2], spans[(bi*S+n)*2+1]
		if compat {
			return s, e
		}
		return s + 1, e + 1
	}
	tokens := func(bi int, lo, hi int64) []int64 {
		var t []int64
		for j := 0; j < td; j++ {
			if w := wm[bi*td+j]; w >= lo && w <= hi {
				t = append(t, ids[bi*td+j])
			}
		}
		return t
	}
	maxTok := 0
	for bi, ks := range kept {
		for _, n := range ks {
			lo, hi := bounds(bi, n)
			maxTok = max(maxTok, len(tokens(bi, lo, hi)))
		}
		if compat && len(ks) < S {
			lo, hi := bounds(bi, S-1)
			maxTok = max(maxTok, len(tokens(bi, lo, hi)))
		}
	}
	tp = maxTok + 1
	for bi, ks := range kept {
		for _, n := range ks {
			row := make([]int64, tp)
			rm := make([]int64, tp)
			lo, hi := bounds(bi, n)
			toks := tokens(bi, lo, hi)
			off := tp - len(toks)
			for j := 0; j < off-1; j++ {
				row[j] = SlotZero
			}
			row[off-1], rm[off-1] = SlotSpan, 1
			for j, id := range toks {
				if id < 0 || id >= int64(d.Cfg.VocabSize) {
					return nil, nil, 0, fmt.Errorf("example %d: decoder_input_ids holds %d, outside the decoder vocabulary of %d", bi, id, d.Cfg.VocabSize)
				}
				row[off+j], rm[off+j] = id, 1
			}
			slots = append(slots, row...)
			mask = append(mask, rm...)
		}
	}
	return slots, mask, tp, nil
}

// generateTokenLabels is GenerateLabels for UniEncoderTokenDecoder: span rows
// are proposed from the token scores at o.Threshold
// (extract_spans_from_tokens), the rows whose best class probability passes
// the keep threshold (0.5 under compat, as the reference's fixed value;
// o.Threshold otherwise) are packed per example and the decoder continues
// their prefixes.
func (m *Model) generateTokenLabels(b *data.Batch, out *Output, o GenerateOptions) (*GeneratedLabels, error) {
	d := m.decoder()
	slots, err := m.tokenSlots(out, b, o.Threshold)
	if err != nil {
		return nil, fmt.Errorf("generate labels: %w", err)
	}
	B, S, H := len(b.TextLengths.Data), slots.S, m.Cfg.HiddenSize
	C := slots.SpanLogits.Shape[2]
	compat := m.Loss.ReferenceCompat
	keepThr := o.Threshold
	if compat {
		keepThr = 0.5
	}
	keep := func(bi, n int) bool {
		if !slots.SpanMask[bi*S+n] {
			return false
		}
		nc := C
		if !compat && bi < len(b.IDToClass) && len(b.IDToClass[bi]) > 0 {
			nc = min(C, len(b.IDToClass[bi]))
		}
		best := float32(math.Inf(-1))
		for _, v := range slots.SpanLogits.F[(bi*S+n)*C : (bi*S+n)*C+nc] {
			best = max(best, v)
		}
		return float64(sigmoid32(best)) > keepThr
	}
	kept, rows, spanIdx := keptSpans(keep, B, S)
	g := &GeneratedLabels{S: S, SpanIdx: spanIdx, Spans: slots.SpanIdx, Slots: slots}
	if len(rows) == 0 {
		return g, nil
	}
	prefixSlots, mask, tp, err := d.tokenPrefixes(b, slots.SpanIdx, kept, S, compat)
	if err != nil {
		return nil, fmt.Errorf("generate labels: %w", err)
	}
	vecs := make([]float32, 0, len(rows)*H)
	for _, r := range rows {
		vecs = append(vecs, slots.SpanRep.F[int(r)*H:int(r+1)*H]...)
	}
	if err := m.generateFromPrefix(g, vecs, prefixSlots, mask, len(rows), tp, o); err != nil {
		return nil, fmt.Errorf("generate labels: %w", err)
	}
	return g, nil
}

// generateFromPrefix projects the kept rows' span vectors (n×H), builds
// their prefixes (slots, mask: (n,tp)) and generates their labels into g.
func (m *Model) generateFromPrefix(g *GeneratedLabels, vecs []float32, slots, mask []int64, n, tp int, o GenerateOptions) error {
	d := m.decoder()
	vecs, err := d.project(m.Store, vecs, n, m.Cfg.HiddenSize)
	if err != nil {
		return err
	}
	Dd := d.Cfg.NEmbd
	wte, _ := m.Store.Get(d.gpt.WTE())
	prefix := prefixEmbeddings(slots, wte.Data, vecs, n, tp, Dd)
	g.Prefix = autograd.Value{Shape: []int{n, tp, Dd}, F: prefix}
	var pm []int64
	if !m.Loss.ReferenceCompat {
		pm = mask
	}
	maxNew := o.MaxNewTokens
	if maxNew == 0 {
		maxNew = DefaultMaxNewTokens
	}
	if g.IDs, err = d.gpt.Generate(m.Store, prefix, n, tp, pm, o.generation(maxNew, d.eos)); err != nil {
		return err
	}
	if o.Tokenizer != nil {
		for _, ids := range g.IDs {
			g.Text = append(g.Text, DecodeLabel(o.Tokenizer, ids))
		}
	}
	return nil
}

// DecodeTokenSpans decodes UniEncoderTokenDecoder's span rows with their
// generated labels, as the reference's
// TokenGenerativeDecoder.decode_generative (gliner/decoding/decoder.py)
// intends (it raises as written: gliner/model.py
// UniEncoderSpanDecoderGLiNER.decode_batch passes no span_logits and
// greedy_search sorts tuples by .score): every valid row n and class c with
// σ(span_logit) > threshold becomes a candidate carrying row n's generated
// label (none for rows not given to the decoder), then the greedy selection.
// gen is GenerateLabels' result for the same output and threshold.
func (m *Model) DecodeTokenSpans(b *data.Batch, gen *GeneratedLabels, o decode.Options) ([][]GenSpan, error) {
	if gen == nil || gen.Slots == nil {
		return nil, fmt.Errorf("decode token spans: no span rows (GenerateLabels of %v gives them)", UniEncoderTokenDecoder)
	}
	ts := gen.Slots
	B, S := len(b.IDToClass), ts.S
	C := ts.SpanLogits.Shape[2]
	if len(ts.SpanMask) != B*S {
		return nil, fmt.Errorf("decode token spans: %d span rows for %d texts × %d", len(ts.SpanMask), B, S)
	}
	// Row n of example bi → its generated label.
	label := make([]map[int]string, B)
	r := 0
	for bi := 0; bi < B; bi++ {
		label[bi] = map[int]string{}
		for k := 0; k < S; k++ {
			n := gen.SpanIdx[bi*S+k]
			if n < 0 {
				break
			}
			if r < len(gen.Text) {
				label[bi][int(n)] = gen.Text[r]
			}
			r++
		}
	}
	res := make([][]GenSpan, B)
	for bi := 0; bi < B; bi++ {
		var cands []GenSpan
		for n := 0; n < S; n++ {
			if !ts.SpanMask[bi*S+n] {
				continue
			}
			st, en := int(ts.SpanIdx[(bi*S+n)*2]), int(ts.SpanIdx[(bi*S+n)*2+1])
			for c := 0; c < C && c < len(b.IDToClass[bi]); c++ {
				p := sigmoid32(ts.SpanLogits.F[(bi*S+n)*C+c])
				if float64(p) <= o.Threshold {
					continue
				}
				gs := GenSpan{Span: decode.Span{Start: st, End: en, Label: b.IDToClass[bi][c], Score: p}}
				if l, ok := label[bi][n]; ok {
					gs.Generated = []string{l}
				}
				cands = append(cands, gs)
			}
		}
		res[bi] = greedyGen(cands, o)
	}
	return res, nil
}

// greedyGen is decode.Greedy over spans carrying generated labels.
func greedyGen(cands []GenSpan, o decode.Options) []GenSpan {
	plain := make([]decode.Span, len(cands))
	for i, c := range cands {
		plain[i] = c.Span
		plain[i].Score = c.Score
	}
	// Greedy sorts stably and keeps spans, not indices: tag each span by
	// its candidate index through the label to recover the generated
	// labels of the accepted ones.
	idx := make(map[decode.Span][]int, len(cands))
	for i, s := range plain {
		idx[s] = append(idx[s], i)
	}
	sel := decode.Greedy(plain, o.FlatNER, o.MultiLabel)
	out := make([]GenSpan, 0, len(sel))
	for _, s := range sel {
		i := idx[s][0]
		idx[s] = idx[s][1:]
		out = append(out, cands[i])
	}
	return out
}
