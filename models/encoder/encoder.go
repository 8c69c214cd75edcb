package encoder

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
	"github.com/gliner-go/gliner/layers"
)

// Encoder is a BERT or DeBERTa-v2/v3 encoder whose parameters live in a
// store under Prefix (e.g. "token_rep_layer.bert_layer.model").
type Encoder struct {
	Cfg    *Config
	Prefix string

	word, pos, tokType *layers.Embedding
	embNorm            *layers.LayerNorm
	blocks             []*layers.TransformerBlock
	relEmb             string
	relNorm            *layers.LayerNorm
	attSpan            int
	buckets, maxRel    int
	embDrop            layers.Dropout
}

func name(prefix, n string) string {
	if prefix == "" {
		return n
	}
	return prefix + "." + n
}

// New registers an encoder's parameters in s under prefix, initialised as
// transformers does (N(0, initializer_range²) weights, zero biases, unit
// LayerNorm scales).
func New(s *autograd.Store, prefix string, cfg *Config) (*Encoder, error) {
	e := &Encoder{Cfg: cfg, Prefix: prefix, embDrop: layers.Dropout{P: cfg.HiddenDropoutProb}}
	std := cfg.InitializerRange
	eps := float32(cfg.LayerNormEps)
	act, err := autograd.ParseActivation(cfg.HiddenAct)
	if err != nil {
		return nil, fmt.Errorf("encoder %s: %w", prefix, err)
	}
	if e.word, err = layers.NewEmbedding(s, name(prefix, "embeddings.word_embeddings"), cfg.VocabSize, cfg.HiddenSize, std, cfg.PadTokenID); err != nil {
		return nil, err
	}
	block := layers.BlockConfig{
		Hidden: cfg.HiddenSize, Intermediate: cfg.IntermediateSize, Act: act, Eps: eps,
		HiddenDropout: cfg.HiddenDropoutProb, InitStd: std,
		Attention: autograd.AttentionConfig{Heads: cfg.NumAttentionHeads, Dropout: cfg.AttentionProbsDropoutProb},
	}
	switch cfg.Type() {
	case BERT:
		if e.pos, err = layers.NewEmbedding(s, name(prefix, "embeddings.position_embeddings"), cfg.MaxPositionEmbeddings, cfg.HiddenSize, std, -1); err != nil {
			return nil, err
		}
		if cfg.TypeVocabSize > 0 {
			if e.tokType, err = layers.NewEmbedding(s, name(prefix, "embeddings.token_type_embeddings"), cfg.TypeVocabSize, cfg.HiddenSize, std, -1); err != nil {
				return nil, err
			}
		}
		block.Names = layers.BERTAttentionNames
		block.Attention.Kind = autograd.AttnBERT
	case DeBERTaV2:
		if !cfg.RelativeAttention {
			return nil, fmt.Errorf("encoder %s: deberta-v2 with relative_attention false is not supported", prefix)
		}
		if cfg.PositionBiasedInput {
			if e.pos, err = layers.NewEmbedding(s, name(prefix, "embeddings.position_embeddings"), cfg.MaxPositionEmbeddings, cfg.HiddenSize, std, -1); err != nil {
				return nil, err
			}
		}
		if cfg.TypeVocabSize > 0 {
			if e.tokType, err = layers.NewEmbedding(s, name(prefix, "embeddings.token_type_embeddings"), cfg.TypeVocabSize, cfg.HiddenSize, std, -1); err != nil {
				return nil, err
			}
		}
		e.buckets = cfg.PositionBuckets
		e.maxRel = cfg.MaxRelativePositions
		if e.maxRel < 1 {
			e.maxRel = cfg.MaxPositionEmbeddings
		}
		e.attSpan = kern.AttSpan(e.buckets, e.maxRel)
		e.relEmb = name(prefix, "encoder.rel_embeddings.weight")
		if _, err := s.Add(e.relEmb, []int{2 * e.attSpan, cfg.HiddenSize}, autograd.Normal{Std: std}); err != nil {
			return nil, err
		}
		for _, n := range strings.Split(cfg.NormRelEbd, "|") {
			if strings.TrimSpace(n) == "layer_norm" {
				if e.relNorm, err = layers.NewLayerNorm(s, name(prefix, "encoder.LayerNorm"), cfg.HiddenSize, eps); err != nil {
					return nil, err
				}
			}
		}
		block.Names = layers.DeBERTaAttentionNames
		block.Attention.Kind = autograd.AttnDisentangled
		block.Attention.Rel = kern.Disentangled{AttSpan: e.attSpan, C2P: cfg.hasPos("c2p"), P2C: cfg.hasPos("p2c")}
		block.SeparatePositionProjections = !cfg.ShareAttKey
	}
	if e.embNorm, err = layers.NewLayerNorm(s, name(prefix, "embeddings.LayerNorm"), cfg.HiddenSize, eps); err != nil {
		return nil, err
	}
	for l := 0; l < cfg.NumHiddenLayers; l++ {
		b, err := layers.NewTransformerBlock(s, name(prefix, "encoder.layer."+strconv.Itoa(l)), block)
		if err != nil {
			return nil, err
		}
		e.blocks = append(e.blocks, b)
	}
	if cfg.Type() == BERT {
		// The pooler is part of every BERT checkpoint; GLiNER never uses it.
		if _, err := layers.NewLinear(s, name(prefix, "pooler.dense"), cfg.HiddenSize, cfg.HiddenSize, true, autograd.Normal{Std: std}); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Forward encodes int token ids (B,T) with the int attention mask (B,T)
// and returns last_hidden_state (B,T,D).
func (e *Encoder) Forward(g *autograd.Graph, ids, mask *autograd.Node) *autograd.Node {
	if g.Err() != nil {
		return g.Fail(nil)
	}
	B, T, D := ids.Dim(0), ids.Dim(1), e.Cfg.HiddenSize
	if e.pos != nil && T > e.Cfg.MaxPositionEmbeddings {
		return g.Fail(fmt.Errorf("encoder: %d tokens exceed max_position_embeddings %d", T, e.Cfg.MaxPositionEmbeddings))
	}
	x := e.word.Forward(g, ids) // (B,T,D)
	if e.pos != nil {
		x = autograd.AddLeadingRows(x, g.Param(e.pos.Weight))
	}
	if e.tokType != nil {
		// token_type_ids are all 0: add row 0 to every token.
		x = autograd.Reshape(autograd.AddLeadingRows(autograd.Reshape(x, B*T, 1, D), g.Param(e.tokType.Weight)), B, T, D)
	}
	x = e.embNorm.Forward(g, x)
	var rel *autograd.Node
	if e.Cfg.Type() == DeBERTaV2 {
		x = autograd.MaskRows(x, mask)
		idx, err := kern.BuildRelativeIndex(T, e.buckets, e.maxRel)
		if err != nil {
			return g.Fail(fmt.Errorf("encoder: %w", err))
		}
		for _, b := range e.blocks {
			b.Attn.Cfg.Rel.RelIndex = idx
		}
		rel = g.Param(e.relEmb)
		if e.relNorm != nil {
			rel = e.relNorm.Forward(g, rel)
		}
		rel = layers.Dropout{P: e.Cfg.HiddenDropoutProb}.Forward(rel)
	}
	x = e.embDrop.Forward(x)
	for _, b := range e.blocks {
		x = b.Forward(g, x, mask, rel)
	}
	return x
}
