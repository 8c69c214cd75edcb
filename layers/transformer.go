package layers

import (
	"github.com/gliner-go/gliner/autograd"
)

// AttentionNames are the state-dict names of the query, key and value
// projections ("query"/"key"/"value" in BERT, "query_proj"/"key_proj"/
// "value_proj" in DeBERTa).
type AttentionNames struct{ Query, Key, Value string }

// BERTAttentionNames and DeBERTaAttentionNames are the two naming schemes.
var (
	BERTAttentionNames    = AttentionNames{"query", "key", "value"}
	DeBERTaAttentionNames = AttentionNames{"query_proj", "key_proj", "value_proj"}
)

// MultiHeadAttention projects x to queries, keys and values and runs the
// fused attention kernel. Keys: <prefix>.{query,key,value}.{weight,bias}
// (or the DeBERTa names).
type MultiHeadAttention struct {
	Q, K, V *Linear
	Cfg     autograd.AttentionConfig
	// PosK and PosQ project the relative table when DeBERTa does not share
	// attention keys (pos_key_proj / pos_query_proj); nil otherwise.
	PosK, PosQ *Linear
}

// NewMultiHeadAttention registers the three projections (hidden→hidden,
// with bias, N(0, std²) weights).
func NewMultiHeadAttention(s *autograd.Store, prefix string, hidden int, names AttentionNames, cfg autograd.AttentionConfig, std float64) (*MultiHeadAttention, error) {
	init := autograd.Normal{Std: std}
	q, err := NewLinear(s, join(prefix, names.Query), hidden, hidden, true, init)
	if err != nil {
		return nil, err
	}
	k, err := NewLinear(s, join(prefix, names.Key), hidden, hidden, true, init)
	if err != nil {
		return nil, err
	}
	v, err := NewLinear(s, join(prefix, names.Value), hidden, hidden, true, init)
	if err != nil {
		return nil, err
	}
	return &MultiHeadAttention{Q: q, K: k, V: v, Cfg: cfg}, nil
}

// Forward maps x (B,T,hidden) with the int attention mask (B,T) to the
// context (B,T,hidden). For disentangled attention rel is the relative
// embedding table after its LayerNorm, (2·AttSpan, hidden); it is projected
// by the key/query projections (shared keys) or by PosK/PosQ.
func (a *MultiHeadAttention) Forward(g *autograd.Graph, x, mask, rel *autograd.Node) *autograd.Node {
	q := a.Q.Forward(g, x)
	k := a.K.Forward(g, x)
	v := a.V.Forward(g, x)
	var tables []*autograd.Node
	if a.Cfg.Kind == autograd.AttnDisentangled {
		kp, qp := a.K, a.Q
		if a.PosK != nil {
			kp = a.PosK
		}
		if a.PosQ != nil {
			qp = a.PosQ
		}
		if a.Cfg.Rel.C2P {
			tables = append(tables, kp.Forward(g, rel))
		}
		if a.Cfg.Rel.P2C {
			tables = append(tables, qp.Forward(g, rel))
		}
	}
	return autograd.Attention(q, k, v, mask, a.Cfg, tables...)
}

// TransformerBlock is the post-LayerNorm encoder layer of BERT and
// DeBERTa:
//
//	a = LN(x + Drop(Dense_o(Attention(x))))
//	y = LN(a + Drop(Dense_2(act(Dense_1(a)))))
//
// Keys under <prefix>: attention.self.*, attention.output.dense.*,
// attention.output.LayerNorm.*, intermediate.dense.*, output.dense.*,
// output.LayerNorm.*.
type TransformerBlock struct {
	Attn          *MultiHeadAttention
	AttnOut       *Linear
	AttnNorm      *LayerNorm
	Intermediate  *Linear
	Output        *Linear
	OutNorm       *LayerNorm
	Act           autograd.Activation
	HiddenDropout Dropout
}

// BlockConfig sizes a TransformerBlock.
type BlockConfig struct {
	Hidden, Intermediate int
	Names                AttentionNames
	Attention            autograd.AttentionConfig
	Act                  autograd.Activation
	Eps                  float32
	HiddenDropout        float64
	InitStd              float64
	// SeparatePositionProjections registers pos_key_proj / pos_query_proj
	// (DeBERTa without share_att_key).
	SeparatePositionProjections bool
}

// NewTransformerBlock registers one encoder layer.
func NewTransformerBlock(s *autograd.Store, prefix string, c BlockConfig) (*TransformerBlock, error) {
	init := autograd.Normal{Std: c.InitStd}
	attn, err := NewMultiHeadAttention(s, join(prefix, "attention.self"), c.Hidden, c.Names, c.Attention, c.InitStd)
	if err != nil {
		return nil, err
	}
	if c.SeparatePositionProjections {
		if c.Attention.Rel.C2P {
			if attn.PosK, err = NewLinear(s, join(prefix, "attention.self.pos_key_proj"), c.Hidden, c.Hidden, true, init); err != nil {
				return nil, err
			}
		}
		if c.Attention.Rel.P2C {
			if attn.PosQ, err = NewLinear(s, join(prefix, "attention.self.pos_query_proj"), c.Hidden, c.Hidden, true, init); err != nil {
				return nil, err
			}
		}
	}
	b := &TransformerBlock{Attn: attn, Act: c.Act, HiddenDropout: Dropout{P: c.HiddenDropout}}
	if b.AttnOut, err = NewLinear(s, join(prefix, "attention.output.dense"), c.Hidden, c.Hidden, true, init); err != nil {
		return nil, err
	}
	if b.AttnNorm, err = NewLayerNorm(s, join(prefix, "attention.output.LayerNorm"), c.Hidden, c.Eps); err != nil {
		return nil, err
	}
	if b.Intermediate, err = NewLinear(s, join(prefix, "intermediate.dense"), c.Hidden, c.Intermediate, true, init); err != nil {
		return nil, err
	}
	if b.Output, err = NewLinear(s, join(prefix, "output.dense"), c.Intermediate, c.Hidden, true, init); err != nil {
		return nil, err
	}
	if b.OutNorm, err = NewLayerNorm(s, join(prefix, "output.LayerNorm"), c.Hidden, c.Eps); err != nil {
		return nil, err
	}
	return b, nil
}

// Forward maps x (B,T,hidden) → (B,T,hidden); mask is the int attention
// mask (B,T); rel is the relative table for disentangled attention (else nil).
func (b *TransformerBlock) Forward(g *autograd.Graph, x, mask, rel *autograd.Node) *autograd.Node {
	ctx := b.Attn.Forward(g, x, mask, rel)
	a := b.AttnNorm.Forward(g, autograd.Add(b.HiddenDropout.Forward(b.AttnOut.Forward(g, ctx)), x))
	h := autograd.Act(b.Intermediate.Forward(g, a), b.Act)
	return b.OutNorm.Forward(g, autograd.Add(b.HiddenDropout.Forward(b.Output.Forward(g, h)), a))
}
