package models

import (
	"fmt"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/data"
)

// UniEncoderTokenRelex (gliner/modeling/base.py UniEncoderTokenRelexModel in
// urchade/GLiNER c2bb58d): UniEncoderToken's scorer, on the words and the
// prompts after prompt_rep_layer, gives the token logits (B,W,C,3); the
// entity slots (the gold entities in training, the rows proposed from the
// token scores at inference, gliner/modeling/utils.py
// extract_spans_from_tokens) are represented by the TokenMarker
// span_rep_layer (B,E,H) and go through UniEncoderSpanRelex's relation head
// (relex.go): adjacency, pairs above adjacency_threshold (the gold adj_matrix
// in training), pair_rep_layer and rel_logits (B,N,R) against the raw <<REL>>
// embeddings. The loss is span_loss_coef·token loss +
// adjacency_loss_coef·adjacency loss + relation_loss_coef·relation loss.
//
// Unless Loss.ReferenceCompat is set, inference slots cover only words
// inside each text (the reference's take padding words too).

// tokenRelexHead is UniEncoderTokenRelex's head: markerV0 (its
// TokenMarker span rows) and prompt_rep_layer, the scorer and the
// relation head.
type tokenRelexHead struct {
	spanParts
	scorerPart
	relexPart
}

func newTokenRelex(m *Model) (archHead, error) {
	h := &tokenRelexHead{}
	err := firstErr(m.addTextEncoder, m.addRNN,
		func() (err error) { h.spanParts, err = m.newSpanParts(); return err },
		func() (err error) { h.scorerPart, err = m.newScorerPart(); return err },
		func() (err error) { h.relexPart, err = m.newRelexPart(); return err })
	return h, err
}

func (h *tokenRelexHead) plan(m *Model, k *shapeKey, b *data.Batch, p *batchPlan) error {
	var err error
	*k, err = m.tokenRelexKey(*k, b, p)
	return err
}

func (h *tokenRelexHead) bind(m *Model, c *compiled, k shapeKey, b *data.Batch, p *batchPlan) error {
	return m.bindTokenRelex(c, k, b, p)
}

func (h *tokenRelexHead) build(b *builder) {
	switch b.k.stage {
	case tokenSlotsStage:
		b.tokenSlotHead(h.span, false)
		return
	case relexAdjacency, relexPairs:
		b.relexHeadOnly(h.relex)
		return
	}
	m, k, g := b.m, b.k, b.g
	tok := b.text("token_rep_layer_output")
	prompts := b.entPrompts(tok)
	words := b.applyRNN(b.keep("words_embedding_pre_rnn", b.words(tok)))
	b.keep("words_embedding_post_rnn", words)
	b.keep("words_embedding", words)
	b.keep("prompts_embedding_pre_proj", prompts)
	p := b.keep("prompts_embedding", b.keep("prompts_embedding_post_proj", h.prompt.Forward(g, prompts)))
	b.c.logits = b.keep("scorer_output", h.scorer.Forward(g, words, p))
	var q *autograd.Node
	if k.R > 0 {
		q = b.keep("rel_prompts_embedding", autograd.GatherRows(tok, b.intInput("rel_prompt_idx", k.B, k.R)))
	}
	if !k.train {
		return
	}
	labels := b.floatInput("labels", k.B, k.W, k.C, 3)
	wordMask := b.floatInput("word_mask", k.B, k.W)
	promptsMask := b.floatInput("prompts_mask", k.B, k.C)
	b.c.loss = g.Apply(&tokenLossK{dyn: m.lossAsWritten, rng: m.rng}, b.c.logits, labels, wordMask, promptsMask)
	if k.R == 0 {
		return
	}
	ent := b.keep("span_rep", h.span.Forward(g, words, b.intInput("slot_start", k.B, k.E), b.intInput("slot_end", k.B, k.E)))
	entMask := b.floatInput("ent_mask", k.B, k.E)
	adj := b.relexAdjacency(h.relex, ent, entMask)
	relLogits := b.relexPairs(h.relex, ent, q)
	adjLabels := b.floatInput("adj_matrix", k.B, k.E, k.E)
	relLabels := b.floatInput("rel_matrix", k.B, k.N, k.R)
	pairMask := b.floatInput("pair_mask", k.B, k.N)
	relPromptsMask := b.floatInput("rel_prompts_mask", k.B, k.R)
	adjLoss := g.Apply(&adjLossK{dyn: m.relexLossOptions, rng: m.rng}, adj, adjLabels, entMask)
	relLoss := g.Apply(&relLossK{dyn: m.relexLossOptions, rng: m.rng}, relLogits, relLabels, pairMask, relPromptsMask)
	cfg := m.Cfg
	b.c.loss = LossSum([]float32{float32(cfg.SpanLossCoef), float32(cfg.AdjacencyLossCoef), float32(cfg.RelationLossCoef)},
		b.c.loss, adjLoss, relLoss)
}

// tokenRelexKey adds the relex sizes to a token relex batch's key: R
// always; in training E (the batch's entity slots) and N (the gold
// adj_matrix pairs) with the plan that binds them, put in bp.
func (m *Model) tokenRelexKey(k shapeKey, b *data.Batch, bp *batchPlan) (shapeKey, error) {
	k.stage = relexFull
	k.R = m.relPromptCount(b, k.T)
	if !bp.train || k.R == 0 {
		return k, nil
	}
	if b.RelMatrix.Shape == nil || b.AdjMatrix.Shape == nil {
		// The token loss alone, as the reference without rel_matrix.
		k.R = 0
		return k, nil
	}
	s := b.SpanIdx.Shape
	if len(s) != 3 || s[0] != k.B || s[2] != 2 || len(b.SpanMask.Data) != k.B*s[1] {
		return k, fmt.Errorf("%v batch: span_idx %v / span_mask %v, want (B=%d,E,2) / (B,E) (the collator's entity slots)", m.Arch, s, b.SpanMask.Shape, k.B)
	}
	E := s[1]
	as := b.AdjMatrix.Shape
	if len(as) != 3 || as[0] != k.B || as[1] != E || as[2] != E {
		return k, fmt.Errorf("%v batch: adj_matrix has shape %v, want (%d,%d,%d) like the entity slots", m.Arch, as, k.B, E, E)
	}
	rs := b.RelMatrix.Shape
	if len(rs) != 3 || rs[0] != k.B || len(b.RelMatrix.Data) != rs[0]*rs[1]*rs[2] {
		return k, fmt.Errorf("%v batch: rel_matrix has shape %v, want (B=%d,N,R)", m.Arch, rs, k.B)
	}
	Epad := max(E, 1)
	p := &relexPlan{B: k.B, E: Epad, R: k.R}
	p.entMask = make([]float32, k.B*Epad)
	p.adj = make([]float32, k.B*Epad*Epad)
	for bi := 0; bi < k.B; bi++ {
		for e := 0; e < E; e++ {
			if b.SpanMask.Data[bi*E+e] {
				p.entMask[bi*Epad+e] = 1
			}
			copy(p.adj[(bi*Epad+e)*Epad:(bi*Epad+e)*Epad+E], b.AdjMatrix.Data[(bi*E+e)*E:(bi*E+e+1)*E])
		}
	}
	// Pairs: build_entity_pairs on the gold adjacency; rel_matrix rows
	// follow the same row-major order and are cut or zero-padded to (N, R)
	// (base.py UniEncoderSpanRelexModel.forward).
	p.setPairs(selectPairs(p.adj, k.B, Epad, m.relexParts().AdjacencyThreshold))
	p.rel = make([]float32, k.B*p.N*k.R)
	for bi := 0; bi < k.B; bi++ {
		for n := 0; n < p.N && n < rs[1]; n++ {
			for r := 0; r < k.R && r < rs[2]; r++ {
				p.rel[(bi*p.N+n)*k.R+r] = b.RelMatrix.Data[(bi*rs[1]+n)*rs[2]+r]
			}
		}
	}
	bp.relex = p
	k.E, k.N = p.E, p.N
	return k, nil
}

// bindTokenRelex binds the <<REL>> positions and, in training, the entity
// slots, selections and targets of bp.
func (m *Model) bindTokenRelex(c *compiled, k shapeKey, b *data.Batch, bp *batchPlan) error {
	if k.R == 0 {
		return nil
	}
	idx, mask, err := m.relPromptIdx(k, b)
	if err != nil {
		return err
	}
	errs := []error{c.m.SetInts("rel_prompt_idx", idx, k.B, k.R)}
	if bp.train {
		p := bp.relex
		if p == nil || p.B != k.B || p.E != k.E || p.N != k.N || p.R != k.R {
			return fmt.Errorf("%v batch: internal error: no selection for shape %+v", m.Arch, k)
		}
		E := b.SpanIdx.Shape[1]
		start := make([]int64, k.B*k.E)
		end := make([]int64, k.B*k.E)
		for bi := 0; bi < k.B; bi++ {
			for e := 0; e < E; e++ {
				i := bi*E + e
				s, t := b.SpanIdx.Data[2*i], b.SpanIdx.Data[2*i+1]
				if s < 0 || t < s || t >= int64(k.W) {
					if b.SpanMask.Data[i] {
						return fmt.Errorf("%v batch: %s: entity slot %d = [%d, %d] is not a word range of %d words", m.Arch, exampleName(b, bi), e, s, t, k.W)
					}
					s, t = 0, 0
				}
				start[bi*k.E+e], end[bi*k.E+e] = s, t
			}
		}
		errs = append(errs, c.m.SetInts("slot_start", start, k.B, k.E), c.m.SetInts("slot_end", end, k.B, k.E),
			m.bindHeadInputs(c, p),
			c.m.SetFloats("adj_matrix", p.adj, k.B, k.E, k.E),
			c.m.SetFloats("rel_matrix", p.rel, k.B, k.N, k.R),
			c.m.SetFloats("pair_mask", p.pairMask, k.B, k.N),
			c.m.SetFloats("rel_prompts_mask", mask, k.B, k.R))
	}
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("%v batch: %w", m.Arch, err)
		}
	}
	return nil
}

// forwardTokenRelex is ForwardRelex for UniEncoderTokenRelex: entity slots
// are the rows proposed from the token scores at threshold (modeling/utils.py
// extract_spans_from_tokens, the reference's represent_spans of
// UniEncoderTokenRelexModel).
func (m *Model) forwardTokenRelex(b *data.Batch, threshold, adjacencyThreshold float64) (*Output, error) {
	c, err := m.run(b, false, nil)
	if err != nil {
		return nil, err
	}
	out, err := m.output(c)
	if err != nil {
		return nil, err
	}
	slots, err := m.tokenSlots(out, b, threshold)
	if err != nil {
		return nil, err
	}
	B, E := len(b.TextLengths.Data), slots.S
	out.Intermediates["span_rep"] = slots.SpanRep
	ro := &RelexOutput{E: E, EntitySpans: slots.SpanIdx, EntityMask: slots.SpanMask}
	out.Relex = ro
	p := &relexPlan{B: B, E: E, entMask: make([]float32, B*E)}
	for i, v := range slots.SpanMask {
		if v {
			p.entMask[i] = 1
		}
	}
	if err := m.relexHeads(out, b, p, slots.SpanRep.F, adjacencyThreshold); err != nil {
		return nil, err
	}
	return out, nil
}
