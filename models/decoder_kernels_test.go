package models

import (
	"math"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/losses"
)

// DecoderInputs copies span vectors, wte rows and zeros into their slots,
// and its gradients (span vectors and wte, a token used twice summing)
// match finite differences.
func TestDecoderInputsValuesAndGradients(t *testing.T) {
	const M, T, D, V = 2, 4, 3, 5
	s := autograd.NewStore()
	sp := addParam(t, s, "spans", M, D)
	wte := addParam(t, s, "wte", V, D)
	slots := []int64{SlotZero, SlotSpan, 3, 3, SlotSpan, 0, 4, SlotZero}
	g := autograd.NewGraph(s, true)
	out := DecoderInputs(g.Param("spans"), g.Param("wte"), g.IntInput("slots", M, T))
	mach := gradCheck(t, g, out, func(m *autograd.Machine) error { return m.SetInts("slots", slots, M, T) })
	v, err := mach.Value(out)
	if err != nil {
		t.Fatal(err)
	}
	for i, sl := range slots {
		for c := 0; c < D; c++ {
			var want float32
			switch {
			case sl >= 0:
				want = wte.Data[int(sl)*D+c]
			case sl == SlotSpan:
				want = sp.Data[(i/T)*D+c]
			}
			if got := v.F[i*D+c]; got != want {
				t.Fatalf("slot %d col %d = %v, want %v", i, c, got, want)
			}
		}
	}
	// A bad slot is an error naming it.
	g2 := autograd.NewGraph(s, false)
	out2 := DecoderInputs(g2.Param("spans"), g2.Param("wte"), g2.IntInput("slots", M, T))
	m2, err := autograd.Compile(g2, nil, out2)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]int64(nil), slots...)
	bad[5] = V
	if err := m2.SetInts("slots", bad, M, T); err != nil {
		t.Fatal(err)
	}
	if err := m2.Run(); err == nil {
		t.Fatal("slot outside the vocabulary accepted")
	}
}

// DecoderLoss is the summed cross-entropy over the non-ignored targets
// (checked against a float64 log-softmax) and its gradient matches
// finite differences.
func TestDecoderLossValueAndGradient(t *testing.T) {
	const M, T, V = 2, 3, 4
	s := autograd.NewStore()
	lg := addParam(t, s, "logits", M, T, V)
	targets := []int64{losses.IgnoreIndex, 2, 0, 1, losses.IgnoreIndex, 3}
	g := autograd.NewGraph(s, true)
	loss := DecoderLoss(g.Param("logits"), g.IntInput("targets", M, T))
	mach, err := autograd.Compile(g, loss, loss)
	if err != nil {
		t.Fatal(err)
	}
	if err := mach.SetInts("targets", targets, M, T); err != nil {
		t.Fatal(err)
	}
	if err := autograd.GradCheck(mach, mach.TrainedParams(), 1e-2, 2e-2); err != nil {
		t.Fatal(err)
	}
	if err := mach.Run(); err != nil {
		t.Fatal(err)
	}
	want := 0.0
	for r, tg := range targets {
		if tg == losses.IgnoreIndex {
			continue
		}
		row := lg.Data[r*V : (r+1)*V]
		z := 0.0
		for _, x := range row {
			z += math.Exp(float64(x))
		}
		want += math.Log(z) - float64(row[tg])
	}
	if got := float64(mach.Cost()); math.Abs(got-want) > 1e-5*math.Abs(want) {
		t.Fatalf("loss %v, want %v", got, want)
	}
}

// scaledSum is a·x + b·y with gradients a and b.
func TestScaledSumValueAndGradient(t *testing.T) {
	s := autograd.NewStore()
	x := addParam(t, s, "x", 1)
	y := addParam(t, s, "y", 1)
	g := autograd.NewGraph(s, true)
	out := scaledSum(g.Param("x"), g.Param("y"), 0.5, 2)
	mach := gradCheck(t, g, out, nil)
	v, _ := mach.Value(out)
	if want := 0.5*x.Data[0] + 2*y.Data[0]; v.F[0] != want {
		t.Fatalf("scaled sum %v, want %v", v.F[0], want)
	}
}
