package models

import (
	"fmt"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/losses"
)

// builder wires one shape bucket's graph from the model's parts; each
// architecture's build function is a short sequence of its steps.
type builder struct {
	m *Model
	g *autograd.Graph
	k shapeKey
	c *compiled
}

func (b *builder) intInput(name string, shape ...int) *autograd.Node {
	b.c.inputs[name] = true
	return b.g.IntInput(name, shape...)
}

func (b *builder) floatInput(name string, shape ...int) *autograd.Node {
	b.c.inputs[name] = true
	return b.g.Input(name, shape...)
}

// keep records an intermediate under its fixture name.
func (b *builder) keep(name string, n *autograd.Node) *autograd.Node {
	b.c.named[name] = n
	return n
}

// text runs the text encoder and projection over input_ids
// (gliner/modeling/encoder.py Encoder.forward) and returns the token
// embeddings (B,T,H), kept as tokName.
func (b *builder) text(tokName string) *autograd.Node {
	k := b.k
	ids := b.intInput("input_ids", k.B, k.T)
	mask := b.intInput("attention_mask", k.B, k.T)
	enc := b.keep("encoder_last_hidden_state", b.m.enc.Forward(b.g, ids, mask))
	tok := enc
	if b.m.proj != nil {
		tok = b.m.proj.Forward(b.g, enc)
	}
	return b.keep(tokName, tok)
}

// words gathers each word's first sub-token embedding (B,W,H) through
// words_mask (gliner/modeling/utils.py extract_word_embeddings); words past a
// text's end are zero.
func (b *builder) words(tok *autograd.Node) *autograd.Node {
	return autograd.GatherRows(tok, b.intInput("words_idx", b.k.B, b.k.W))
}

// applyRNN runs the BiLSTM over the words when the model has one.
func (b *builder) applyRNN(words *autograd.Node) *autograd.Node {
	if b.m.rnn == nil {
		return words
	}
	return b.m.rnn.Forward(b.g, words, b.intInput("text_lengths", b.k.B))
}

// entPrompts gathers the uni-encoders' class embeddings (B,C,H) at the
// <<ENT>> positions (gliner/modeling/utils.py extract_prompt_features).
func (b *builder) entPrompts(tok *autograd.Node) *autograd.Node {
	return autograd.GatherRows(tok, b.intInput("prompt_idx", b.k.B, b.k.C))
}

// labelPrompts encodes and pools the bi-encoders' label strings with le
// and broadcasts them to every text (B,C,H) (gliner/modeling/base.py
// BaseBiEncoderModel.get_representations).
func (b *builder) labelPrompts(le *LabelEncoder) *autograd.Node {
	k := b.k
	if k.preLabels {
		pooled := b.keep("token_rep_layer_output.1", b.floatInput("labels_embeds", k.C, b.m.Cfg.HiddenSize))
		return BroadcastRows(pooled, k.B)
	}
	ids := b.intInput("labels_input_ids", k.C, k.TL)
	mask := b.intInput("labels_attention_mask", k.C, k.TL)
	tokens, pooled := le.Forward(b.g, ids, mask)
	b.keep("labels_encoder_token_output", tokens)
	b.keep("token_rep_layer_output.1", pooled)
	return BroadcastRows(pooled, k.B)
}

// spanHead scores spans against classes (gliner/modeling/base.py
// UniEncoderSpanModel.forward): markerV0 span representations,
// prompt_rep_layer (both of sp), their dot products (B,W,K,C) and, in
// training, the span loss with the options opts returns at run time.
func (b *builder) spanHead(sp spanParts, words, prompts *autograd.Node, opts func() losses.Options) {
	k, K, H := b.k, b.m.Cfg.MaxWidth, b.m.Cfg.HiddenSize
	S := k.W * K
	b.keep("words_embedding", words)
	start := b.intInput("span_start", k.B, S)
	end := b.intInput("span_end", k.B, S)
	span := sp.span.Forward(b.g, words, start, end) // (B,S,H)
	b.keep("span_rep", autograd.Reshape(span, k.B, k.W, K, H))
	b.keep("prompts_embedding_pre_proj", prompts)
	p := b.keep("prompts_embedding", b.keep("prompts_embedding_post_proj", sp.prompt.Forward(b.g, prompts)))
	b.c.logits = autograd.Reshape(autograd.BatchMatMulNT(span, p), k.B, k.W, K, k.C)
	if k.train {
		labels := b.floatInput("labels", k.B, S, k.C)
		spanMask := b.floatInput("span_mask", k.B, S)
		promptsMask := b.floatInput("prompts_mask", k.B, k.C)
		b.c.loss = b.g.Apply(&spanLossK{dyn: opts, rng: b.m.rng}, b.c.logits, labels, spanMask, promptsMask)
	}
}

// tokenHead scores words against classes with the Scorer sc
// (gliner/modeling/scorers.py Scorer): logits (B,W,C,3) and, in training, the
// token loss.
func (b *builder) tokenHead(sc *Scorer, words, prompts *autograd.Node, opts func() losses.Options) {
	k := b.k
	b.keep("words_embedding", words)
	b.keep("prompts_embedding", prompts)
	b.c.logits = b.keep("scorer_output", sc.Forward(b.g, words, prompts))
	if k.train {
		labels := b.floatInput("labels", k.B, k.W, k.C, 3)
		wordMask := b.floatInput("word_mask", k.B, k.W)
		promptsMask := b.floatInput("prompts_mask", k.B, k.C)
		b.c.loss = b.g.Apply(&tokenLossK{dyn: opts, rng: b.m.rng}, b.c.logits, labels, wordMask, promptsMask)
	}
}

// lossAsWritten returns the model's loss options at run time.
func (m *Model) lossAsWritten() losses.Options { return m.Loss }

// bind copies a batch into the bucket's declared inputs shared by every
// architecture (the head's own inputs are bound by its bind).
func (m *Model) bind(c *compiled, k shapeKey, b *data.Batch, p *batchPlan) error {
	train := p.train
	var errs []error
	setI := func(name string, v []int64, shape ...int) {
		if c.inputs[name] {
			errs = append(errs, c.m.SetInts(name, v, shape...))
		}
	}
	setF := func(name string, v []float32, shape ...int) {
		if c.inputs[name] {
			errs = append(errs, c.m.SetFloats(name, v, shape...))
		}
	}
	if len(b.AttentionMask.Data) != k.B*k.T || len(b.WordsMask.Data) != k.B*k.T {
		return fmt.Errorf("batch: attention_mask %v and words_mask %v must have input_ids' shape (%d,%d)",
			b.AttentionMask.Shape, b.WordsMask.Shape, k.B, k.T)
	}
	if len(b.TextLengths.Data) != k.B {
		return fmt.Errorf("batch: text_lengths has %d values for %d examples", len(b.TextLengths.Data), k.B)
	}
	setI("input_ids", b.InputIDs.Data, k.B, k.T)
	setI("attention_mask", b.AttentionMask.Data, k.B, k.T)

	wordIdx := make([]int64, k.B*k.W)
	for i := range wordIdx {
		wordIdx[i] = -1
	}
	for i, w := range b.WordsMask.Data {
		if w > int64(k.W) || w < 0 {
			return fmt.Errorf("batch: example %d: words_mask names word %d of %d", i/k.T, w, k.W)
		}
		if w > 0 {
			wordIdx[(i/k.T)*k.W+int(w)-1] = int64(i % k.T)
		}
	}
	setI("words_idx", wordIdx, k.B, k.W)
	lengths := make([]int64, k.B)
	wordMask := make([]float32, k.B*k.W)
	for bi := range lengths {
		lengths[bi] = b.TextLengths.Data[bi]
		for w := 0; w < k.W && int64(w) < lengths[bi]; w++ {
			wordMask[bi*k.W+w] = 1
		}
	}
	setI("text_lengths", lengths, k.B)

	promptsMask := make([]float32, k.B*k.C)
	if m.Arch.BiEncoder() {
		// Bi-encoders score every text against all C label rows.
		for i := range promptsMask {
			promptsMask[i] = 1
		}
		if p.labelEmb != nil {
			setF("labels_embeds", p.labelEmb.F, p.labelEmb.Shape...)
		}
		setI("labels_input_ids", b.LabelsInputIDs.Data, k.C, k.TL)
		setI("labels_attention_mask", b.LabelsAttentionMask.Data, k.C, k.TL)
	} else {
		promptIdx := make([]int64, k.B*k.C)
		for i := range promptIdx {
			promptIdx[i] = -1
		}
		classTok := int64(m.Cfg.ClassTokenIndex)
		for bi := 0; bi < k.B; bi++ {
			n := 0
			for t := 0; t < k.T; t++ {
				if b.InputIDs.Data[bi*k.T+t] != classTok {
					continue
				}
				if n == k.C {
					return fmt.Errorf("batch: example %d: more than %d <<ENT>> tokens (id %d) in the prompt", bi, k.C, classTok)
				}
				pos := int64(t)
				if !m.Cfg.EmbedEntToken {
					pos++
				}
				promptIdx[bi*k.C+n] = pos
				promptsMask[bi*k.C+n] = 1
				n++
			}
			if bi < len(b.IDToClass) && n != len(b.IDToClass[bi]) {
				return fmt.Errorf("batch: example %d: %d <<ENT>> tokens (id %d) in the prompt, %d classes", bi, n, classTok, len(b.IDToClass[bi]))
			}
		}
		setI("prompt_idx", promptIdx, k.B, k.C)
	}

	S := k.W * m.Cfg.MaxWidth
	spanMask := make([]float32, k.B*S)
	if c.inputs["span_start"] {
		if len(b.SpanIdx.Data) != k.B*S*2 || len(b.SpanMask.Data) != k.B*S {
			return fmt.Errorf("batch: span_idx %v / span_mask %v, want (%d,%d,2) / (%d,%d)", b.SpanIdx.Shape, b.SpanMask.Shape, k.B, S, k.B, S)
		}
		start := make([]int64, k.B*S)
		end := make([]int64, k.B*S)
		for i := 0; i < k.B*S; i++ {
			if b.SpanMask.Data[i] {
				start[i] = b.SpanIdx.Data[2*i]
				end[i] = b.SpanIdx.Data[2*i+1]
				spanMask[i] = 1
			}
		}
		setI("span_start", start, k.B, S)
		setI("span_end", end, k.B, S)
	}
	if train {
		if b.Labels.Shape == nil {
			return fmt.Errorf("batch: training batch has no labels")
		}
		want := []int{k.B, S, k.C}
		if m.Arch.TokenLevel() {
			want = []int{k.B, k.W, k.C, 3}
		}
		if fmt.Sprint(b.Labels.Shape) != fmt.Sprint(want) {
			return fmt.Errorf("batch: labels have shape %v, %v wants %v", b.Labels.Shape, m.Arch, want)
		}
		setF("labels", b.Labels.Data, want...)
		setF("span_mask", spanMask, k.B, S)
		setF("word_mask", wordMask, k.B, k.W)
		setF("prompts_mask", promptsMask, k.B, k.C)
	}
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("batch: %w", err)
		}
	}
	return nil
}
