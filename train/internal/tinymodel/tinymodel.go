// Package tinymodel is a small classifier with a hand-written backward pass
// (a one-hidden-layer MLP with dropout and a binary cross-entropy loss),
// used to test and demonstrate the training loop without a GLiNER model.
// Its parameter names mimic the reference's groups: "token_rep_layer.*"
// (encoder learning rate) and "head.*" (others).
package tinymodel

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/train"
)

// In and Hidden are the input and hidden widths.
const (
	In     = 4
	Hidden = 8
)

// Batch is a set of examples: inputs X (each of length In) and 0/1 labels.
type Batch struct {
	X [][]float32
	Y []float32
}

// Model is the MLP: h = tanh(W1·x + b1)·gain, dropout, z = W2·h + b2,
// loss = Σ softplus(z) − y·z.
type Model struct {
	store                *autograd.Store
	w1, b1, gain, w2, b2 *autograd.Param
	Dropout              float64
	// PoisonStep, when > 0, makes the step with that (1-based) number
	// produce a NaN: in the loss when PoisonLoss, else in head.bias's
	// gradient.
	PoisonStep int
	PoisonLoss bool
	// ZeroGradFrom, when > 0, makes every step from that (1-based) number
	// on leave all gradients at exactly 0 (a dead model).
	ZeroGradFrom int
}

// New builds the model with weights drawn from seed. Besides its working
// parameters it has "head.unused" (never gets a gradient) and
// "token_rep_layer.frozen.weight" (frozen).
func New(seed uint64) (*Model, error) {
	s := autograd.NewStore()
	m := &Model{store: s, Dropout: 0.2}
	add := func(name string, shape []int, init autograd.Init) *autograd.Param {
		p, err := s.Add(name, shape, init)
		if err != nil {
			panic(err) // fixed names and shapes: cannot fail
		}
		return p
	}
	m.w1 = add("token_rep_layer.proj.weight", []int{Hidden, In}, autograd.LinearDefault(In))
	m.b1 = add("token_rep_layer.proj.bias", []int{Hidden}, autograd.LinearDefault(In))
	m.gain = add("token_rep_layer.LayerNorm.weight", []int{Hidden}, autograd.Const{V: 1})
	add("token_rep_layer.frozen.weight", []int{2}, autograd.Const{V: 0.5})
	m.w2 = add("head.weight", []int{1, Hidden}, autograd.LinearDefault(Hidden))
	m.b2 = add("head.bias", []int{1}, autograd.LinearDefault(Hidden))
	add("head.unused", []int{3}, autograd.Const{V: 0.25})
	s.Initialize(seed)
	if _, err := s.SetFrozen("token_rep_layer.frozen", true); err != nil {
		return nil, err
	}
	return m, nil
}

// Store implements train.Model.
func (m *Model) Store() *autograd.Store { return m.store }

// Forward returns the logit of x without dropout.
func (m *Model) Forward(x []float32) float64 {
	z := float64(m.b2.Data[0])
	for j := 0; j < Hidden; j++ {
		a := float64(m.b1.Data[j])
		for k := 0; k < In; k++ {
			a += float64(m.w1.Data[j*In+k]) * float64(x[k])
		}
		z += float64(m.w2.Data[j]) * math.Tanh(a) * float64(m.gain.Data[j])
	}
	return z
}

// Step implements train.Model: forward with dropout drawn from env.RNG,
// backward into the gradients, scaled by env.GradScale.
func (m *Model) Step(_ context.Context, b Batch, env train.StepEnv) (train.StepOutput, error) {
	if len(b.X) != len(b.Y) || len(b.X) == 0 {
		return train.StepOutput{}, fmt.Errorf("tinymodel: batch has %d inputs and %d labels", len(b.X), len(b.Y))
	}
	keep := 1 - m.Dropout
	var loss float64
	t := make([]float64, Hidden)
	mask := make([]float64, Hidden)
	for i, x := range b.X {
		if len(x) != In {
			return train.StepOutput{}, fmt.Errorf("tinymodel: example %d has %d inputs, want %d", i, len(x), In)
		}
		z := float64(m.b2.Data[0])
		for j := 0; j < Hidden; j++ {
			a := float64(m.b1.Data[j])
			for k := 0; k < In; k++ {
				a += float64(m.w1.Data[j*In+k]) * float64(x[k])
			}
			t[j] = math.Tanh(a)
			mask[j] = 1
			if env.Train && m.Dropout > 0 {
				mask[j] = 0
				if env.RNG.Float64() < keep {
					mask[j] = 1 / keep
				}
			}
			z += float64(m.w2.Data[j]) * t[j] * float64(m.gain.Data[j]) * mask[j]
		}
		y := float64(b.Y[i])
		loss += math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))) - y*z
		dz := (1/(1+math.Exp(-z)) - y) * float64(env.GradScale)
		m.b2.Grad[0] += float32(dz)
		for j := 0; j < Hidden; j++ {
			h := t[j] * float64(m.gain.Data[j]) * mask[j]
			m.w2.Grad[j] += float32(dz * h)
			dh := dz * float64(m.w2.Data[j]) * mask[j]
			m.gain.Grad[j] += float32(dh * t[j])
			da := dh * float64(m.gain.Data[j]) * (1 - t[j]*t[j])
			m.b1.Grad[j] += float32(da)
			for k := 0; k < In; k++ {
				m.w1.Grad[j*In+k] += float32(da * float64(x[k]))
			}
		}
	}
	if m.PoisonStep > 0 && env.Step+1 == m.PoisonStep {
		if m.PoisonLoss {
			loss = math.NaN()
		} else {
			m.b2.Grad[0] = float32(math.Inf(1))
		}
	}
	grads := []*autograd.Param{m.w1, m.b1, m.gain, m.w2, m.b2}
	if m.ZeroGradFrom > 0 && env.Step+1 >= m.ZeroGradFrom {
		for _, p := range grads {
			clear(p.Grad)
		}
	}
	return train.StepOutput{Loss: float32(loss), Grads: grads}, nil
}

// Evaluate scores examples as documents with at most one entity, "pos" at
// (0, 0), predicted when the probability exceeds 0.5.
func (m *Model) Evaluate(b Batch) *decode.Metrics {
	met := decode.NewMetrics()
	for i, x := range b.X {
		var pred, gold []decode.Span
		if m.Forward(x) > 0 {
			pred = []decode.Span{{Start: 0, End: 0, Label: "pos"}}
		}
		if b.Y[i] > 0.5 {
			gold = []decode.Span{{Start: 0, End: 0, Label: "pos"}}
		}
		met.Add(pred, gold)
	}
	return met
}

// Dataset draws n examples whose label is whether a fixed linear function
// of the inputs is positive.
func Dataset(n int, seed uint64) Batch {
	r := rand.New(rand.NewPCG(seed, 7))
	b := Batch{X: make([][]float32, n), Y: make([]float32, n)}
	for i := range b.X {
		x := make([]float32, In)
		for k := range x {
			x[k] = float32(r.NormFloat64())
		}
		b.X[i] = x
		if x[0]-2*x[1]+0.5*x[2]*x[3] > 0 {
			b.Y[i] = 1
		}
	}
	return b
}

// Noise is a random stream that perturbs training inputs: a component with
// its own state, saved in checkpoints through train.Stateful.
type Noise struct {
	PCG   *rand.PCG
	Scale float64
}

// MarshalState implements train.Stateful.
func (n *Noise) MarshalState() ([]byte, error) { return n.PCG.MarshalBinary() }

// UnmarshalState implements train.Stateful.
func (n *Noise) UnmarshalState(b []byte) error { return n.PCG.UnmarshalBinary(b) }

// Sampler returns a length-bucketed, resumable sampler over ds whose
// batches are perturbed by noise.
func Sampler(ds Batch, batchSize int, seed uint64, noise *Noise) (*train.IndexSampler[Batch], error) {
	lengths := make([]int, len(ds.X))
	for i := range lengths {
		lengths[i] = i % 5
	}
	ls, err := data.NewLengthSampler(lengths, batchSize, 2, seed, false)
	if err != nil {
		return nil, err
	}
	r := rand.New(noise.PCG)
	return &train.IndexSampler[Batch]{Sampler: ls, Make: func(_ context.Context, idx []int) (Batch, error) {
		var b Batch
		for _, i := range idx {
			x := append([]float32(nil), ds.X[i]...)
			for k := range x {
				x[k] += float32(r.NormFloat64() * noise.Scale)
			}
			b.X = append(b.X, x)
			b.Y = append(b.Y, ds.Y[i])
		}
		return b, nil
	}}, nil
}
