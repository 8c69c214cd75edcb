package train

import (
	"fmt"
	"math"
	"strings"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
)

// Group is one optimizer parameter group: its parameters share a base
// learning rate and a weight decay. LR is the current learning rate (the
// scheduler sets it to BaseLR·factor before every step).
type Group struct {
	Name        string
	BaseLR      float64
	LR          float64
	WeightDecay float64
	Params      []*autograd.Param
}

// ParamState is AdamW's per-parameter state: the number of steps the
// parameter took and the first and second moment estimates.
type ParamState struct {
	Step     int64
	ExpAvg   []float32
	ExpAvgSq []float32
}

// AdamWOptions are AdamW's constants; the zero value means torch's
// defaults β=(0.9, 0.999), ε=1e-8.
type AdamWOptions struct {
	Beta1, Beta2, Eps float64
}

// AdamW is torch.optim.AdamW (decoupled weight decay) over parameter groups,
// computed in float32 exactly as torch's single-tensor CPU path
// (_single_tensor_adamw, torch 1.13) does for float32 parameters:
//
//	step += 1
//	p     = p · (1 − lr·wd)
//	m     = m·β1 + (1−β1)·g
//	v     = v·β2 + (1−β2)·g·g
//	denom = sqrt(v) / sqrt(1 − β2^step) + ε
//	p     = p + (−lr/(1 − β1^step))·m / denom
//
// Scalars (lr·wd, bias corrections, step size) are computed in float64 as
// Python does and rounded to float32 where torch hands them to a float32
// kernel. Every tensor operation rounds to float32 separately (no fused
// multiply-add): torch's vectorised and CUDA kernels may fuse or use a
// reciprocal, which can differ in the last bit.
//
// A parameter that got no gradient in a step (torch: p.grad is None) is
// skipped entirely: no decay, no moment update, no step count. Frozen
// parameters are never put in a group and never get state.
type AdamW struct {
	Groups            []*Group
	beta1, beta2, eps float64
	state             map[*autograd.Param]*ParamState
	// dev runs the updates on a device-resident store (PlaceOn); nil on
	// the CPU.
	dev *deviceOptim
}

// PlaceOn makes Step update the parameters where store keeps them: on a
// device backend (autograd.Store.Place) the moments are device buffers and
// each update a kernel of that backend (ParamState.ExpAvg and ExpAvgSq are
// then filled only by SyncToHost). On the CPU it does nothing.
func (o *AdamW) PlaceOn(store *autograd.Store) error {
	if autograd.IsHost(store.Backend()) {
		o.dev = nil
		return nil
	}
	d, err := newDeviceOptim(store)
	if err != nil {
		return fmt.Errorf("adamw: %w", err)
	}
	o.dev = d
	return nil
}

// SyncToHost downloads device moments into ParamState.ExpAvg and ExpAvgSq
// (before a checkpoint is written); on the CPU it does nothing.
func (o *AdamW) SyncToHost() error {
	if o.dev == nil {
		return nil
	}
	return o.dev.syncToHost(o)
}

// NewAdamW returns AdamW over groups. A parameter in two groups, or a
// frozen one, is an error.
func NewAdamW(groups []*Group, opts AdamWOptions) (*AdamW, error) {
	if opts.Beta1 == 0 && opts.Beta2 == 0 && opts.Eps == 0 {
		opts = AdamWOptions{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	}
	if !(opts.Beta1 >= 0 && opts.Beta1 < 1) || !(opts.Beta2 >= 0 && opts.Beta2 < 1) || !(opts.Eps >= 0) {
		return nil, fmt.Errorf("adamw: invalid betas (%g, %g) or eps %g", opts.Beta1, opts.Beta2, opts.Eps)
	}
	seen := map[*autograd.Param]string{}
	for _, g := range groups {
		if !(g.LR >= 0) || !(g.WeightDecay >= 0) || !(g.BaseLR >= 0) {
			return nil, fmt.Errorf("adamw: group %q: invalid lr %g or weight decay %g", g.Name, g.LR, g.WeightDecay)
		}
		for _, p := range g.Params {
			if p.Frozen {
				return nil, fmt.Errorf("adamw: group %q: parameter %q is frozen", g.Name, p.Name)
			}
			if other, dup := seen[p]; dup {
				return nil, fmt.Errorf("adamw: parameter %q is in groups %q and %q", p.Name, other, g.Name)
			}
			seen[p] = g.Name
		}
	}
	return &AdamW{Groups: groups, beta1: opts.Beta1, beta2: opts.Beta2, eps: opts.Eps,
		state: map[*autograd.Param]*ParamState{}}, nil
}

// State returns a parameter's state, or nil before its first step.
func (o *AdamW) State(p *autograd.Param) *ParamState { return o.state[p] }

// Step updates every parameter of every group for which hasGrad reports a
// gradient this step (nil: all of them), reading Param.Grad. On a device
// store (PlaceOn) use StepErr, which reports the device's errors.
func (o *AdamW) Step(hasGrad func(*autograd.Param) bool) {
	if o.dev != nil {
		_ = o.StepErr(hasGrad)
		return
	}
	o.step(hasGrad)
}

// StepErr is Step where the parameters live (see PlaceOn).
func (o *AdamW) StepErr(hasGrad func(*autograd.Param) bool) error {
	if o.dev == nil {
		o.step(hasGrad)
		return nil
	}
	b1, b2 := float32(o.beta1), float32(o.beta2)
	omb1, omb2 := float32(1-o.beta1), float32(1-o.beta2)
	eps := float32(o.eps)
	for _, g := range o.Groups {
		decay := float32(1 - g.LR*g.WeightDecay)
		for _, p := range g.Params {
			if hasGrad != nil && !hasGrad(p) {
				continue
			}
			st := o.state[p]
			if st == nil {
				st = &ParamState{}
				o.state[p] = st
			}
			st.Step++
			bc1 := 1 - math.Pow(o.beta1, float64(st.Step))
			bc2 := 1 - math.Pow(o.beta2, float64(st.Step))
			u := adamWUpdate{decay: decay, b1: b1, omb1: omb1, b2: b2, omb2: omb2, eps: eps,
				negStep: float32(-(g.LR / bc1)), bc2Sqrt: float32(math.Sqrt(bc2))}
			if err := o.dev.step(p, st, u); err != nil {
				return fmt.Errorf("adamw: %w", err)
			}
		}
	}
	return nil
}

func (o *AdamW) step(hasGrad func(*autograd.Param) bool) {
	b1, b2 := float32(o.beta1), float32(o.beta2)
	omb1, omb2 := float32(1-o.beta1), float32(1-o.beta2)
	eps := float32(o.eps)
	for _, g := range o.Groups {
		decay := float32(1 - g.LR*g.WeightDecay)
		for _, p := range g.Params {
			if hasGrad != nil && !hasGrad(p) {
				continue
			}
			st := o.state[p]
			if st == nil {
				st = &ParamState{ExpAvg: make([]float32, len(p.Data)), ExpAvgSq: make([]float32, len(p.Data))}
				o.state[p] = st
			}
			st.Step++
			bc1 := 1 - math.Pow(o.beta1, float64(st.Step))
			bc2 := 1 - math.Pow(o.beta2, float64(st.Step))
			negStep := float32(-(g.LR / bc1))
			bc2Sqrt := float32(math.Sqrt(bc2))
			m, v, w, gr := st.ExpAvg, st.ExpAvgSq, p.Data, p.Grad
			u := adamWUpdate{decay: decay, b1: b1, omb1: omb1, b2: b2, omb2: omb2, eps: eps, negStep: negStep, bc2Sqrt: bc2Sqrt}
			// Element-wise, so the split over kern.Workers goroutines
			// changes no value.
			kern.ParallelFor(len(w), adamWGrain, func(lo, hi int) {
				u.apply(w[lo:hi], gr[lo:hi], m[lo:hi], v[lo:hi])
			})
		}
	}
}

// adamWGrain is the smallest parameter chunk AdamW.Step hands to a
// goroutine.
const adamWGrain = 1 << 16

// adamWUpdate holds one parameter's AdamW step constants (torch.optim.AdamW
// single-tensor update, as torch/optim/adamw.py _single_tensor_adamw).
type adamWUpdate struct {
	decay, b1, omb1, b2, omb2, eps, negStep, bc2Sqrt float32
}

// apply updates the weights w and moments m, v in place from the
// gradient gr.
func (u adamWUpdate) apply(w, gr, m, v []float32) {
	gr, m, v = gr[:len(w)], m[:len(w)], v[:len(w)]
	for i := range w {
		// Explicit conversions forbid the compiler to fuse
		// operations: each rounds to float32 like torch's kernels.
		wi := float32(w[i] * u.decay)
		gi := gr[i]
		mi := float32(m[i] * u.b1)
		mi = float32(mi + float32(u.omb1*gi))
		vi := float32(v[i] * u.b2)
		vi = float32(vi + float32(float32(u.omb2*gi)*gi))
		denom := float32(float32(math.Sqrt(float64(vi)))/u.bc2Sqrt) + u.eps
		w[i] = float32(wi + float32(float32(u.negStep*mi)/denom))
		m[i], v[i] = mi, vi
	}
}

// GroupConfig selects the reference's four parameter groups
// (gliner/training/trainer.py Trainer.create_optimizer): encoder parameters
// (name contains "token_rep_layer") take LR and WeightDecay, the others
// OthersLR and OthersWeightDecay; in each, LayerNorm parameters and names
// containing "bias" get no weight decay (embeddings are decayed).
type GroupConfig struct {
	LR          float64 // learning_rate (encoder)
	WeightDecay float64 // weight_decay (encoder)
	// OthersLR / OthersWeightDecay are others_lr / others_weight_decay. When
	// OthersLR is nil, as in the reference when others_lr is None, there
	// are two groups (decay, no_decay) with LR and WeightDecay for all.
	// A nil OthersWeightDecay with a set OthersLR means 0 (the
	// TrainingArguments default).
	OthersLR          *float64
	OthersWeightDecay *float64
	// OrFallback reproduces gliner/model.py BaseGLiNER.create_training_args,
	// which passes `others_lr or learning_rate` and `others_weight_decay or
	// weight_decay`, so an explicit 0 (or nil) falls back to the encoder
	// value. Off by default (an explicit 0 means 0).
	OrFallback bool
	// IsLayerNorm tells whether a parameter belongs to a LayerNorm module;
	// nil means DefaultIsLayerNorm.
	IsLayerNorm func(name string) bool
}

// DefaultIsLayerNorm recognises LayerNorm parameters by the reference's
// module names: a module path whose last component is "LayerNorm",
// "layer_norm", "layernorm", ends in "norm" ("pre_norm", "post_norm",
// "norm") or is "ln_1", "ln_2", "ln_f" (GPT-2).
func DefaultIsLayerNorm(name string) bool {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return false
	}
	mod := name[:i]
	if j := strings.LastIndexByte(mod, '.'); j >= 0 {
		mod = mod[j+1:]
	}
	low := strings.ToLower(mod)
	switch {
	case strings.Contains(low, "layernorm"), strings.Contains(low, "layer_norm"), strings.HasSuffix(low, "norm"):
		return true
	case low == "ln_1" || low == "ln_2" || low == "ln_f":
		return true
	}
	return false
}

// ParamGroups splits the store's trainable (non-frozen) parameters into the
// reference's groups, in its order: others-decay, others-nodecay,
// encoder-decay, encoder-nodecay (or decay, no_decay when OthersLR is nil
// and OrFallback is off). Groups may be empty.
func ParamGroups(store *autograd.Store, cfg GroupConfig) ([]*Group, error) {
	isLN := cfg.IsLayerNorm
	if isLN == nil {
		isLN = DefaultIsLayerNorm
	}
	if !(cfg.LR >= 0) || !(cfg.WeightDecay >= 0) {
		return nil, fmt.Errorf("param groups: invalid learning rate %g or weight decay %g", cfg.LR, cfg.WeightDecay)
	}
	decayable := func(p *autograd.Param) bool { return !isLN(p.Name) && !strings.Contains(p.Name, "bias") }
	if cfg.OthersLR == nil && !cfg.OrFallback {
		dec := &Group{Name: "decay", BaseLR: cfg.LR, LR: cfg.LR, WeightDecay: cfg.WeightDecay}
		nod := &Group{Name: "no_decay", BaseLR: cfg.LR, LR: cfg.LR}
		for _, p := range store.Params() {
			if p.Frozen {
				continue
			}
			if decayable(p) {
				dec.Params = append(dec.Params, p)
			} else {
				nod.Params = append(nod.Params, p)
			}
		}
		return []*Group{dec, nod}, nil
	}
	olr, owd := 0.0, 0.0
	if cfg.OthersLR != nil {
		olr = *cfg.OthersLR
	}
	if cfg.OthersWeightDecay != nil {
		owd = *cfg.OthersWeightDecay
	}
	if cfg.OrFallback {
		if olr == 0 {
			olr = cfg.LR
		}
		if owd == 0 {
			owd = cfg.WeightDecay
		}
	}
	if !(olr >= 0) || !(owd >= 0) {
		return nil, fmt.Errorf("param groups: invalid others learning rate %g or weight decay %g", olr, owd)
	}
	groups := []*Group{
		{Name: "others_decay", BaseLR: olr, LR: olr, WeightDecay: owd},
		{Name: "others_no_decay", BaseLR: olr, LR: olr},
		{Name: "encoder_decay", BaseLR: cfg.LR, LR: cfg.LR, WeightDecay: cfg.WeightDecay},
		{Name: "encoder_no_decay", BaseLR: cfg.LR, LR: cfg.LR},
	}
	for _, p := range store.Params() {
		if p.Frozen {
			continue
		}
		k := 0
		if strings.Contains(p.Name, "token_rep_layer") {
			k = 2
		}
		if !decayable(p) {
			k++
		}
		groups[k].Params = append(groups[k].Params, p)
	}
	return groups, nil
}
