package models

import (
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
)

// Every graph kernel of this package declares its kern attributes.
func TestModelKernelsDeclareAttrs(t *testing.T) {
	want := map[autograd.Kernel]kern.Attrs{
		&scorerHiddenK{}:                kern.ScorerHiddenAttrs{},
		&spanFirstLayerK{}:              kern.SpanFirstLayerAttrs{},
		maskedMeanK{}:                   kern.MaskedMeanAttrs{},
		&broadcastK{b: 3}:               kern.BroadcastRowsAttrs{Copies: 3},
		sigmoidPairMaskK{}:              kern.SigmoidPairMaskAttrs{},
		&decoderInputK{}:                kern.DecoderInputsAttrs{},
		&decoderLossK{}:                 kern.DecoderCrossEntropyAttrs{Options: decoderCEOptions},
		&spanLossK{opts: testLossOpts}:  kern.SpanLossAttrs{Options: testLossOpts},
		&tokenLossK{opts: testLossOpts}: kern.TokenLossAttrs{Options: testLossOpts},
	}
	for k, a := range want {
		got := autograd.AttrsOf(k)
		if got == nil {
			t.Errorf("%s declares no attributes", k.Name())
			continue
		}
		if got.Kernel() != a.Kernel() || got != a {
			t.Errorf("%s: attributes %#v, want %#v", k.Name(), got, a)
		}
	}
	// Kernels whose attributes hold slices or functions.
	dyn := func() kern.LossOptions { return testLossOpts }
	checks := []struct {
		k    autograd.Kernel
		name string
	}{
		{&lossSumK{w: []float32{1, 2}}, "scaled_sum"},
		{&weightedSumK{a: 1, b: 2}, "scaled_sum"},
		{&adjLossK{dyn: dyn}, "adjacency_loss"},
		{&relLossK{dyn: dyn}, "relation_loss"},
		{&spanLossK{dyn: dyn}, "span_loss"},
	}
	for _, c := range checks {
		a := autograd.AttrsOf(c.k)
		if a == nil || a.Kernel() != c.name {
			t.Errorf("%s: attributes %#v, want kernel %q", c.k.Name(), a, c.name)
		}
	}
	if a := autograd.AttrsOf(&weightedSumK{a: 0.5, b: 2}).(kern.ScaledSumAttrs); len(a.Weights) != 2 || a.Weights[0] != 0.5 || a.Weights[1] != 2 {
		t.Errorf("weighted sum weights %v, want [0.5 2]", a.Weights)
	}
}

var testLossOpts = kern.LossOptions{Alpha: 0.75, Gamma: 2, Reduction: kern.ReductionMean, Negatives: 1}
