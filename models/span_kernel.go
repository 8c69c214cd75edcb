package models

import (
	"fmt"
	"slices"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
)

// spanFirstLayerK is markerV0's out_project first layer applied to every
// span without building the (B,S,2H) concatenation:
//
//	Linear(ReLU([start[s] ; end[e]])) = ReLU(start)[s]·W_aᵀ + ReLU(end)[e]·W_bᵀ + b
//
// with W = [W_a | W_b] the (4H,2H) weight split by columns. The two
// products run once per word instead of once per span (K times fewer
// multiply-adds, a third of the training step's FLOPs), and the per-span
// work is a gather and an add. Results equal the concatenated form up to
// float32 summation order.
//
// Inputs: start, end (B,W,H), weight (O,2H), bias (O), span start and end
// word indices (B,S) int. Output (B,S,O).
type spanFirstLayerK struct {
	pStart, pEnd []float32 // ReLU(start), ReLU(end)
	a, b         []float32 // (B,W,O) per-word products
	da, db       []float32
	is, ie       []int32
}

func (k *spanFirstLayerK) Name() string { return "span_first_layer" }

func (k *spanFirstLayerK) OutShape(in [][]int) ([]int, error) {
	st, en, w, b, si, ei := in[0], in[1], in[2], in[3], in[4], in[5]
	if len(st) != 3 || !slices.Equal(st, en) {
		return nil, fmt.Errorf("start %v and end %v must be equal (B,W,H)", st, en)
	}
	H := st[2]
	if len(w) != 2 || w[1] != 2*H || len(b) != 1 || b[0] != w[0] {
		return nil, fmt.Errorf("weight %v / bias %v do not fit 2H=%d inputs", w, b, 2*H)
	}
	if len(si) != 2 || si[0] != st[0] || !slices.Equal(si, ei) {
		return nil, fmt.Errorf("span indices %v / %v do not fit batch %d", si, ei, st[0])
	}
	return []int{st[0], si[1], w[0]}, nil
}

func (k *spanFirstLayerK) Attrs() kern.Attrs { return kern.SpanFirstLayerAttrs{} }

func (k *spanFirstLayerK) Forward(in []autograd.Value, out autograd.Value) error {
	B, W, H := in[0].Shape[0], in[0].Shape[1], in[0].Shape[2]
	O := in[2].Shape[0]
	S := in[4].Shape[1]
	ps, pe := autograd.Grow(&k.pStart, B*W*H), autograd.Grow(&k.pEnd, B*W*H)
	a, bb := autograd.Grow(&k.a, B*W*O), autograd.Grow(&k.b, B*W*O)
	si, ei := autograd.Int32s(&k.is, in[4].I), autograd.Int32s(&k.ie, in[5].I)
	return kern.SpanFirstLayerForward(out.F, ps, pe, a, bb, in[0].F, in[1].F, in[2].F, in[3].F, si, ei, B, W, H, O, S)
}

func (k *spanFirstLayerK) NonDifferentiable(i int) bool { return i >= 4 }

// Buffers: ReLU(start) and ReLU(end) (saved for Backward), the per-word
// products (Forward only) and their gradients (Backward only).
func (k *spanFirstLayerK) Buffers(in [][]int) []autograd.KernelBuffer {
	B, W, H, O := in[0][0], in[0][1], in[0][2], in[2][0]
	return []autograd.KernelBuffer{
		{Buf: &k.pStart, Len: B * W * H, Use: autograd.Saved},
		{Buf: &k.pEnd, Len: B * W * H, Use: autograd.Saved},
		{Buf: &k.a, Len: B * W * O, Use: autograd.ForwardScratch},
		{Buf: &k.b, Len: B * W * O, Use: autograd.ForwardScratch},
		{Buf: &k.da, Len: B * W * O, Use: autograd.BackwardScratch},
		{Buf: &k.db, Len: B * W * O, Use: autograd.BackwardScratch},
	}
}

// Backward reads start, end and the weight, and the span indices it saved
// (not their inputs), the bias or the output.
func (k *spanFirstLayerK) BackwardReadsInput(i int) bool { return i < 3 }
func (k *spanFirstLayerK) BackwardReadsOutput() bool     { return false }

func (k *spanFirstLayerK) Backward(in []autograd.Value, _ autograd.Value, dout autograd.Value, grads []autograd.Value) error {
	B, W, H := in[0].Shape[0], in[0].Shape[1], in[0].Shape[2]
	O := in[2].Shape[0]
	S := in[4].Shape[1]
	da, db := autograd.Grow(&k.da, B*W*O), autograd.Grow(&k.db, B*W*O)
	return kern.SpanFirstLayerBackward(grads[0].F, grads[1].F, grads[2].F, grads[3].F, dout.F, in[0].F, in[1].F, in[2].F, k.pStart, k.pEnd, da, db, k.is, k.ie, B, W, H, O, S)
}
