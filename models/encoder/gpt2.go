package encoder

import (
	"fmt"
	"math"
	"strconv"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/layers"
)

// GPT2 is a GPT2LMHeadModel, GLiNER's labels decoder
// (UniEncoderSpanDecoder), whose parameters live in a store under Prefix
// (in a GLiNER model "decoder.decoder_layer.model") with the reference's
// keys: transformer.wte.weight (V,D), transformer.wpe.weight
// (n_positions,D), transformer.h.{i}.{ln_1,attn.c_attn,attn.c_proj,ln_2,
// mlp.c_fc,mlp.c_proj}.{weight,bias}, transformer.ln_f.{weight,bias} and,
// only when tie_word_embeddings is false, lm_head.weight (V,D).
//
// Tied head: with tie_word_embeddings (the default, and GLiNER's case)
// lm_head.weight IS transformer.wte.weight, as in PyTorch. The store holds
// the one parameter under the wte key, so the embedding lookup and the
// output projection share it and its gradient is the sum of both uses.
// The reference's state dict still lists both keys with equal values:
// LoadState accepts lm_head.weight (and requires it to equal wte) or its
// absence, and StateTensors writes it back as a second name for the wte
// data. Stores loaded some other way must drop the lm_head key
// (TiedHeadKey) before loading and add it when saving.
//
// Conv1D weights (c_attn, c_proj, c_fc) keep the reference's [in, out]
// layout in the store; the graph multiplies by them directly.
type GPT2 struct {
	Cfg    *GPT2Config
	Prefix string

	wte, wpe, lmHead string
	blocks           []gpt2Block
	lnF              *layers.LayerNorm
	act              autograd.Activation
}

type gpt2Block struct {
	ln1, ln2                   *layers.LayerNorm
	attnW, attnB, projW, projB string
	fcW, fcB, mlpW, mlpB       string
}

func (c *GPT2Config) activation() (autograd.Activation, error) {
	return autograd.ParseActivation(c.ActivationFunction)
}

// NewGPT2 registers a GPT-2 language model's parameters in s under prefix,
// initialised as transformers v4.40.2 does (N(0, initializer_range²)
// weights and embeddings, c_proj weights N(0, (initializer_range /
// sqrt(2·n_layer))²), zero biases, unit LayerNorm scales).
func NewGPT2(s *autograd.Store, prefix string, cfg *GPT2Config) (*GPT2, error) {
	if cfg == nil {
		return nil, fmt.Errorf("gpt2 %s: nil config", prefix)
	}
	act, err := cfg.activation()
	if err != nil {
		return nil, fmt.Errorf("gpt2 %s: %w", prefix, err)
	}
	m := &GPT2{Cfg: cfg, Prefix: prefix, act: act}
	D, F, std := cfg.NEmbd, cfg.Inner(), cfg.InitializerRange
	projStd := std / math.Sqrt(2*float64(cfg.NLayer))
	add := func(key string, shape []int, init autograd.Init) (string, error) {
		n := name(prefix, key)
		if _, err := s.Add(n, shape, init); err != nil {
			return "", fmt.Errorf("gpt2 %s: %w", prefix, err)
		}
		return n, nil
	}
	if m.wte, err = add("transformer.wte.weight", []int{cfg.VocabSize, D}, autograd.Normal{Std: std}); err != nil {
		return nil, err
	}
	if m.wpe, err = add("transformer.wpe.weight", []int{cfg.NPositions, D}, autograd.Normal{Std: std}); err != nil {
		return nil, err
	}
	eps := float32(cfg.LayerNormEpsilon)
	for l := 0; l < cfg.NLayer; l++ {
		p := "transformer.h." + strconv.Itoa(l) + "."
		var b gpt2Block
		if b.ln1, err = layers.NewLayerNorm(s, name(prefix, p+"ln_1"), D, eps); err != nil {
			return nil, err
		}
		for _, w := range []struct {
			dst   *string
			key   string
			shape []int
			init  autograd.Init
		}{
			{&b.attnW, p + "attn.c_attn.weight", []int{D, 3 * D}, autograd.Normal{Std: std}},
			{&b.attnB, p + "attn.c_attn.bias", []int{3 * D}, autograd.Const{}},
			{&b.projW, p + "attn.c_proj.weight", []int{D, D}, autograd.Normal{Std: projStd}},
			{&b.projB, p + "attn.c_proj.bias", []int{D}, autograd.Const{}},
		} {
			if *w.dst, err = add(w.key, w.shape, w.init); err != nil {
				return nil, err
			}
		}
		if b.ln2, err = layers.NewLayerNorm(s, name(prefix, p+"ln_2"), D, eps); err != nil {
			return nil, err
		}
		for _, w := range []struct {
			dst   *string
			key   string
			shape []int
			init  autograd.Init
		}{
			{&b.fcW, p + "mlp.c_fc.weight", []int{D, F}, autograd.Normal{Std: std}},
			{&b.fcB, p + "mlp.c_fc.bias", []int{F}, autograd.Const{}},
			{&b.mlpW, p + "mlp.c_proj.weight", []int{F, D}, autograd.Normal{Std: projStd}},
			{&b.mlpB, p + "mlp.c_proj.bias", []int{D}, autograd.Const{}},
		} {
			if *w.dst, err = add(w.key, w.shape, w.init); err != nil {
				return nil, err
			}
		}
		m.blocks = append(m.blocks, b)
	}
	if m.lnF, err = layers.NewLayerNorm(s, name(prefix, "transformer.ln_f"), D, eps); err != nil {
		return nil, err
	}
	if cfg.TieWordEmbeddings {
		m.lmHead = m.wte
	} else if m.lmHead, err = add("lm_head.weight", []int{cfg.VocabSize, D}, autograd.Normal{Std: std}); err != nil {
		return nil, err
	}
	return m, nil
}

// WTE is the store name of the token embedding table (V,D).
func (m *GPT2) WTE() string { return m.wte }

// LMHead is the store name of the output projection (V,D): the wte name
// when the head is tied.
func (m *GPT2) LMHead() string { return m.lmHead }

// TiedHeadKey is the reference's lm_head.weight key under Prefix when the
// head is tied to wte (so the store has no parameter of that name), else "".
func (m *GPT2) TiedHeadKey() string {
	if m.lmHead == m.wte {
		return name(m.Prefix, "lm_head.weight")
	}
	return ""
}

// Embed looks up int token ids (B,T) in wte → (B,T,D): the decoder's
// get_input_embeddings(), which GLiNER uses for the span words and labels.
func (m *GPT2) Embed(g *autograd.Graph, ids *autograd.Node) *autograd.Node {
	return autograd.Embedding(g.Param(m.wte), ids)
}

// Hidden runs the transformer on inputsEmbeds (B,T,D) with the int
// attention mask (B,T) (1 = attend, 0 = padding key) and returns the final
// layer norm's output (B,T,D). positions is an int (B,T) node of position
// ids, or nil for the reference's default in a plain forward: 0..T−1 for
// every row regardless of the mask (teacher forcing sees left padding
// shift the real tokens' positions).
func (m *GPT2) Hidden(g *autograd.Graph, inputsEmbeds, mask, positions *autograd.Node) *autograd.Node {
	if g.Err() != nil {
		return g.Fail(nil)
	}
	sh := inputsEmbeds.Shape()
	if len(sh) != 3 || sh[2] != m.Cfg.NEmbd {
		return g.Fail(fmt.Errorf("gpt2 %s: inputs_embeds shape %v is not (B,T,%d)", m.Prefix, sh, m.Cfg.NEmbd))
	}
	B, T, D := sh[0], sh[1], sh[2]
	if ms := mask.Shape(); len(ms) != 2 || ms[0] != B || ms[1] != T {
		return g.Fail(fmt.Errorf("gpt2 %s: attention mask shape %v does not fit (%d,%d)", m.Prefix, ms, B, T))
	}
	var x *autograd.Node
	if positions == nil {
		if T > m.Cfg.NPositions {
			return g.Fail(fmt.Errorf("gpt2 %s: %d positions exceed n_positions %d", m.Prefix, T, m.Cfg.NPositions))
		}
		x = autograd.AddLeadingRows(inputsEmbeds, g.Param(m.wpe))
	} else {
		if ps := positions.Shape(); len(ps) != 2 || ps[0] != B || ps[1] != T {
			return g.Fail(fmt.Errorf("gpt2 %s: position ids shape %v does not fit (%d,%d)", m.Prefix, ps, B, T))
		}
		x = autograd.Add(inputsEmbeds, autograd.Embedding(g.Param(m.wpe), positions))
	}
	x = layers.Dropout{P: m.Cfg.EmbdPdrop}.Forward(x)
	resid := layers.Dropout{P: m.Cfg.ResidPdrop}
	attn := autograd.AttentionConfig{Kind: autograd.AttnCausal, Heads: m.Cfg.NHead, Dropout: m.Cfg.AttnPdrop}
	for _, b := range m.blocks {
		h := b.ln1.Forward(g, x)
		qkv := conv1D(h, g.Param(b.attnW), g.Param(b.attnB)) // (B,T,3D)
		ctx := autograd.Attention(columns(qkv, 0, D), columns(qkv, D, D), columns(qkv, 2*D, D), mask, attn)
		x = autograd.Add(x, resid.Forward(conv1D(ctx, g.Param(b.projW), g.Param(b.projB))))
		h = autograd.Act(conv1D(b.ln2.Forward(g, x), g.Param(b.fcW), g.Param(b.fcB)), m.act)
		x = autograd.Add(x, resid.Forward(conv1D(h, g.Param(b.mlpW), g.Param(b.mlpB))))
	}
	return m.lnF.Forward(g, x)
}

// Forward returns the LM logits (B,T,V) = Hidden(...)·lm_headᵀ for
// inputsEmbeds (B,T,D), the int attention mask (B,T) and optional int
// position ids (B,T) (nil: 0..T−1, see Hidden). For token ids, pass
// m.Embed(g, ids) as inputsEmbeds.
func (m *GPT2) Forward(g *autograd.Graph, inputsEmbeds, mask, positions *autograd.Node) *autograd.Node {
	h := m.Hidden(g, inputsEmbeds, mask, positions)
	if g.Err() != nil {
		return g.Fail(nil)
	}
	return autograd.Linear(h, g.Param(m.lmHead), nil)
}
