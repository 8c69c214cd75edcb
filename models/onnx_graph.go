package models

import (
	"fmt"

	"github.com/gliner-go/gliner/autograd"
)

// GraphStage selects which of a model's inference graphs
// BuildInferenceGraph builds.
type GraphStage int

// The inference graphs. StageMain is the encoder and entity head of every
// architecture; the others are the relex architectures' head graphs that
// ForwardRelex runs after selecting entities and pairs on the host
// (relex_infer.go, token_slots.go).
const (
	// StageMain: inputs of a batch → logits; for the relex architectures
	// also the named values span_rep / words_embedding and
	// rel_prompts_embedding.
	StageMain GraphStage = iota
	// StageTokenSlots (UniEncoderTokenRelex): words (B,W,H), slot_start,
	// slot_end (B,E) → span_rep (B,E,H) (the TokenMarker span_rep_layer).
	StageTokenSlots
	// StageAdjacency: ent (B,E,H), ent_mask (B,E) (and adj_i, adj_j
	// (B,E·E) for the mlp relations layer) → the adjacency (B,E,E).
	StageAdjacency
	// StagePairs: ent (B,E,H), pair_head, pair_tail (B,N), rel_prompts
	// (B,R,H) → rel_logits (B,N,R).
	StagePairs
)

// GraphDims are the batch dimensions an inference graph is built for:
// batch B, sub-tokens T, words W, classes C and, for the bi-encoders'
// label strings, TL sub-tokens per label; for the relex architectures E
// entities, N entity pairs and R relation classes.
type GraphDims struct {
	B, T, W, C, TL int
	E, N, R        int
	// LabelEmbeddings builds the bi-encoders' graph over pre-computed
	// label embeddings (C,H) (input "labels_embeds") instead of the label
	// token ids.
	LabelEmbeddings bool
	Stage           GraphStage
}

// InferenceGraph is an evaluation-mode graph of the model with its
// declared inputs (the names Model binds from a batch: input_ids,
// attention_mask, words_idx, text_lengths, prompt_idx, span_start,
// span_end, labels_input_ids, labels_attention_mask, labels_embeds,
// rel_prompt_idx; for the head stages the names of GraphStage) and its
// logits: span models (B,W,K,C), token models (B,W,C,3), the head stages
// their output. Named holds the values the graph keeps under the
// reference's intermediate names (span_rep, words_embedding,
// rel_prompts_embedding, …).
type InferenceGraph struct {
	Graph  *autograd.Graph
	Inputs map[string]*autograd.Node
	Logits *autograd.Node
	Named  map[string]*autograd.Node
}

// BuildInferenceGraph builds the graph the model runs for a batch of dims
// in evaluation mode (no dropout, no loss), without compiling it. The
// ONNX exporter traces it (package onnx). The decoder architectures'
// main graph is their encoder and span (or token) scorer, without the
// labels decoder.
func (m *Model) BuildInferenceGraph(d GraphDims) (*InferenceGraph, error) {
	k := shapeKey{B: d.B, T: d.T, W: d.W, C: d.C, TL: d.TL}
	switch m.Arch {
	case UniEncoderSpan, UniEncoderToken, BiEncoderSpan, BiEncoderToken, UniEncoderSpanDecoder, UniEncoderTokenDecoder:
		if d.Stage != StageMain {
			return nil, fmt.Errorf("%v has no inference graph stage %d (only the main graph)", m.Arch, d.Stage)
		}
	case UniEncoderSpanRelex, UniEncoderTokenRelex:
		k.R = d.R
		switch d.Stage {
		case StageMain:
			k.stage = relexFull
		case StageTokenSlots:
			if m.Arch != UniEncoderTokenRelex {
				return nil, fmt.Errorf("%v has no token slot graph", m.Arch)
			}
			k = shapeKey{B: d.B, W: d.W, C: d.C, E: d.E, stage: tokenSlotsStage}
		case StageAdjacency:
			k = shapeKey{B: d.B, E: d.E, stage: relexAdjacency}
		case StagePairs:
			k = shapeKey{B: d.B, E: d.E, N: d.N, R: d.R, stage: relexPairs}
		default:
			return nil, fmt.Errorf("%v: unknown inference graph stage %d", m.Arch, d.Stage)
		}
	default:
		return nil, fmt.Errorf("%v: no inference graph for export", m.Arch)
	}
	if m.labelsEncoder() != nil {
		k.preLabels = d.LabelEmbeddings
	} else if d.LabelEmbeddings {
		return nil, fmt.Errorf("%v has no labels encoder: label embeddings do not apply", m.Arch)
	}
	g := autograd.NewGraph(m.Store, false)
	g.RNG = m.rng
	b := &builder{m: m, g: g, k: k, c: &compiled{named: map[string]*autograd.Node{}, inputs: map[string]bool{}}}
	m.head.build(b)
	if err := g.Err(); err != nil {
		return nil, fmt.Errorf("%v graph: %w", m.Arch, err)
	}
	inputs := map[string]*autograd.Node{}
	for name := range b.c.inputs {
		inputs[name] = g.InputNode(name)
	}
	return &InferenceGraph{Graph: g, Inputs: inputs, Logits: b.c.logits, Named: b.c.named}, nil
}
