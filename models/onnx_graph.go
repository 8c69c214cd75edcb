package models

import (
	"fmt"

	"github.com/gliner-go/gliner/autograd"
)

// GraphDims are the batch dimensions an inference graph is built for:
// batch B, sub-tokens T, words W, classes C and, for the bi-encoders'
// label strings, TL sub-tokens per label.
type GraphDims struct {
	B, T, W, C, TL int
	// LabelEmbeddings builds the bi-encoders' graph over pre-computed
	// label embeddings (C,H) (input "labels_embeds") instead of the label
	// token ids.
	LabelEmbeddings bool
}

// InferenceGraph is an evaluation-mode graph of the model with its
// declared inputs (the names Model binds from a batch: input_ids,
// attention_mask, words_idx, text_lengths, prompt_idx, span_start,
// span_end, labels_input_ids, labels_attention_mask, labels_embeds) and
// its logits: span models (B,W,K,C), token models (B,W,C,3).
type InferenceGraph struct {
	Graph  *autograd.Graph
	Inputs map[string]*autograd.Node
	Logits *autograd.Node
}

// BuildInferenceGraph builds the graph the model runs for a batch of dims
// in evaluation mode (no dropout, no loss), without compiling it. The
// ONNX exporter traces it (package onnx).
func (m *Model) BuildInferenceGraph(d GraphDims) (*InferenceGraph, error) {
	switch m.Arch {
	case UniEncoderSpan, UniEncoderToken, BiEncoderSpan, BiEncoderToken:
	default:
		return nil, fmt.Errorf("%v: no inference graph for export (supported: %v, %v, %v, %v)", m.Arch,
			UniEncoderSpan, UniEncoderToken, BiEncoderSpan, BiEncoderToken)
	}
	k := shapeKey{B: d.B, T: d.T, W: d.W, C: d.C, TL: d.TL}
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
	return &InferenceGraph{Graph: g, Inputs: inputs, Logits: b.c.logits}, nil
}
