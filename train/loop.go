package train

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
)

// Model is what the loop trains: a parameter store and a step that runs
// forward and backward on one micro-batch.
type Model[B any] interface {
	// Store holds the parameters; names are the reference's state-dict keys.
	Store() *autograd.Store
	// Step computes the loss of batch and adds d(GradScale·loss)/dθ into
	// Param.Grad of every parameter it reaches. It must not zero the
	// gradients (micro-batches accumulate).
	Step(ctx context.Context, batch B, env StepEnv) (StepOutput, error)
}

// StepEnv is what the loop hands to Model.Step.
type StepEnv struct {
	// GradScale seeds the backward pass: 1/GradAccum (torch divides the
	// loss by the accumulation steps before backward, in float32).
	GradScale float32
	// RNG is the loop's random stream (dropout masks, sampling). It is
	// saved in checkpoints, so a model that draws only from it resumes bit
	// for bit.
	RNG *rand.Rand
	// Step is the optimizer step being computed (0-based) and Micro the
	// micro-batch within it.
	Step, Micro int
	// Train is true in training steps.
	Train bool
}

// StepOutput is what one micro-batch step returns.
type StepOutput struct {
	// Loss is the micro-batch's loss before GradScale.
	Loss float32
	// Grads lists the parameters that received a gradient; nil means every
	// trainable parameter. Parameters no micro-batch of a step touched get
	// no optimizer update at all (torch: p.grad is None).
	Grads []*autograd.Param
}

// Sampler yields training batches from a resumable position.
type Sampler[B any] interface {
	// Next returns the next batch and the position just after it: seeking
	// to that position makes the following Next return the batch after.
	Next(ctx context.Context) (B, data.SamplerPosition, error)
	// Seek moves to pos; the loop calls it once before the first Next.
	Seek(pos data.SamplerPosition) error
}

// Stateful is a component whose state a checkpoint saves and restores as
// bytes (a random generator, a collator's sampling stream). A Model or
// Sampler implementing it is saved under "model" / "sampler".
type Stateful interface {
	MarshalState() ([]byte, error)
	UnmarshalState([]byte) error
}

// StateFuncs makes a Stateful from two functions, e.g. a collator's
// sampling stream: StateFuncs{Marshal: c.RNGState, Unmarshal: c.SetRNGState}.
type StateFuncs struct {
	Marshal   func() ([]byte, error)
	Unmarshal func([]byte) error
}

// MarshalState implements Stateful.
func (s StateFuncs) MarshalState() ([]byte, error) { return s.Marshal() }

// UnmarshalState implements Stateful.
func (s StateFuncs) UnmarshalState(b []byte) error { return s.Unmarshal(b) }

// EvalFunc evaluates the current weights on the development set.
type EvalFunc func(ctx context.Context) (*decode.Metrics, error)

// Config is the loop's settings. Zero values are the documented defaults.
type Config struct {
	MaxSteps  int // optimizer steps (max_steps); required
	GradAccum int // micro-batches per optimizer step; 0 means 1
	// MaxGradNorm clips the global gradient norm; ≤ 0 disables clipping
	// (the norm is still computed and reported).
	MaxGradNorm float64
	Scheduler   SchedulerType
	WarmupSteps int     // wins over WarmupRatio when > 0
	WarmupRatio float64 // warmup = ceil(ratio·MaxSteps)
	Groups      GroupConfig
	Adam        AdamWOptions
	// Seed seeds the loop's random stream (StepEnv.RNG).
	Seed uint64

	EvalEvery int // evaluate every N steps (0: never; needs an EvalFunc)
	// Patience stops training after this many evaluations without a dev F1
	// better than the best by more than MinDelta (0: no early stopping).
	Patience int
	MinDelta float64

	// OutputDir receives checkpoint-<step>/ directories and best/. Empty:
	// nothing is written.
	OutputDir string
	SaveEvery int // checkpoint every N steps (0: only at the end)
	// SaveTotalLimit keeps the last N checkpoints (plus the best one);
	// 0 keeps all.
	SaveTotalLimit int
	// KeepBest writes the weights of the best evaluation to OutputDir/best.
	KeepBest bool
	// ResumeFrom is a checkpoint directory to resume from (see
	// LatestCheckpoint).
	ResumeFrom string
	// States are further components saved in checkpoints, by key.
	States map[string]Stateful
	// ModelFiles, when set, writes into a checkpoint-<step>/ or best/
	// directory being built the files that, beside its model.safetensors,
	// make it a loadable model folder (finetune: gliner_config.json and
	// the tokenizer files, models.WriteModelFiles), as Hugging Face
	// checkpoints hold config and tokenizer. Resuming reads only the
	// weights, optimizer and trainer state.
	ModelFiles func(dir string) error
	// ZeroGradSteps stops training with a *DeadGradientError after this
	// many consecutive steps whose global gradient norm is exactly 0: the
	// model no longer learns (every unit saturated, typically after a
	// learning rate too large for it), and training on would only export
	// a dead model. A step whose micro-batches reached no parameter neither
	// counts nor breaks the run. 0 means DefaultZeroGradSteps; < 0 turns
	// the check off.
	ZeroGradSteps int
	// Reducer, when set, makes this run one replica of a data-parallel
	// job: each step's gradients and loss are summed over the replicas
	// before clipping (see StepReducer and package dist). Only one replica
	// should then write (OutputDir and writing hooks on one rank alone).
	Reducer StepReducer
}

// DefaultZeroGradSteps is Config.ZeroGradSteps's default.
const DefaultZeroGradSteps = 10

// DeadGradientError stops training when the global gradient norm has been
// exactly 0 for Steps consecutive steps, from step Since (1-based) to
// step Since+Steps-1. LR holds each group's learning rate at step Since.
type DeadGradientError struct {
	Since, Steps int
	LR           []GroupLR
}

func (e *DeadGradientError) Error() string {
	lrs := make([]string, len(e.LR))
	for i, g := range e.LR {
		lrs[i] = fmt.Sprintf("%s %g", g.Group, g.LR)
	}
	return fmt.Sprintf("train: steps %d to %d: the gradient norm is exactly 0 in %d consecutive steps, so the model no longer learns "+
		"and its weights would be exported dead; this usually means a learning rate too large for the model (at step %d: %s): "+
		"lower it and train again", e.Since, e.Since+e.Steps-1, e.Steps, e.Since, strings.Join(lrs, ", "))
}

// ErrInterrupted wraps the context's error when Run stops because ctx was
// cancelled (Ctrl-C, SIGTERM): the steps done so far are saved in
// Result.LastCheckpoint, and resuming from it continues bit for bit.
var ErrInterrupted = errors.New("interrupted")

// Run reasons for ending (EndInfo.Reason, Result.Reason).
const (
	ReasonMaxSteps      = "max_steps"
	ReasonEarlyStopping = "early_stopping"
	ReasonHook          = "hook"
)

// ErrStop, returned by a hook, ends training cleanly after the current
// step's evaluation and checkpoint.
var ErrStop = errors.New("train: stop requested")

// Result summarises a run.
type Result struct {
	Steps          int     // optimizer steps done (including resumed ones)
	Loss           float64 // loss of the last step
	BestF1         float64
	BestStep       int // 0 if never evaluated
	Reason         string
	LastCheckpoint string // "" if none written
}

// state is everything about the loop's progress a checkpoint stores.
type state struct {
	Step           int                  `json:"global_step"`
	Epoch          int                  `json:"epoch"`
	Sampler        data.SamplerPosition `json:"sampler"`
	HasBest        bool                 `json:"has_best"`
	BestF1         float64              `json:"best_f1"`
	BestStep       int                  `json:"best_step"`
	EvalsSinceBest int                  `json:"evals_since_best"`
}

// Run trains model on batches from train for cfg.MaxSteps optimizer steps
// (counting those of a resumed checkpoint). Each step: GradAccum
// micro-batches through Model.Step, the NaN/Inf guard, gradient clipping,
// AdamW, the schedule, zeroed gradients; then hooks' OnStep, evaluation
// every EvalEvery steps (best model, early stopping, OnEval) and a
// checkpoint every SaveEvery steps (rotation, OnCheckpoint). eval may be
// nil when EvalEvery is 0.
func Run[B any](ctx context.Context, cfg Config, model Model[B], train Sampler[B], eval EvalFunc, hooks ...Hook) (*Result, error) {
	if err := cfg.validate(eval != nil); err != nil {
		return nil, err
	}
	accum := max(cfg.GradAccum, 1)
	store := model.Store()
	groups, err := ParamGroups(store, cfg.Groups)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	opt, err := NewAdamW(groups, cfg.Adam)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	sched, err := NewSchedule(cfg.Scheduler, cfg.MaxSteps, cfg.WarmupSteps, cfg.WarmupRatio)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	pcg := rand.NewPCG(cfg.Seed, 0x676c696e65722d67)
	rng := rand.New(pcg)
	states := componentStates(cfg, model, train)

	device := !autograd.IsHost(store.Backend())
	if err := opt.PlaceOn(store); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if device && cfg.Reducer != nil {
		return nil, fmt.Errorf("train: data-parallel reduction (Reducer) of gradients on the %s backend is not supported yet: it sums host gradients", store.Backend().Name())
	}

	var st state
	resumed := false
	if cfg.ResumeFrom != "" {
		if st, err = loadCheckpoint(cfg.ResumeFrom, store, opt, pcg, states); err != nil {
			return nil, fmt.Errorf("train: resume: %w", err)
		}
		// The checkpoint was read into the host copies: upload them.
		if err := store.SyncFromHost(); err != nil {
			return nil, fmt.Errorf("train: resume: %w", err)
		}
		if opt.dev != nil {
			if err := opt.dev.reset(); err != nil {
				return nil, fmt.Errorf("train: resume: %w", err)
			}
		}
		resumed = true
	}
	if cfg.OutputDir != "" {
		if err := prepareOutputDir(cfg.OutputDir); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
	}
	if err := train.Seek(st.Sampler); err != nil {
		return nil, fmt.Errorf("train: seek sampler to %+v: %w", st.Sampler, err)
	}
	setLR(opt, sched, st.Step)
	if err := store.ZeroGrads(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}

	start := time.Now()
	trainable := trainableParams(store)
	// Steps counts resumed steps too: a run resumed at (or past) its end
	// reports the steps it had done.
	res := &Result{Reason: ReasonMaxSteps, Steps: st.Step}
	stop := false
	si := &StartInfo{Step: st.Step, MaxSteps: cfg.MaxSteps, Resumed: resumed, Groups: groupNames(opt), NumParams: store.NumParams()}
	if err := callHooks(hooks, func(h Hook) error { return h.OnStart(ctx, si) }); err != nil {
		if !errors.Is(err, ErrStop) {
			return nil, err
		}
		stop, res.Reason = true, ReasonHook
	}
	touched := make(map[*autograd.Param]bool, len(trainable))
	zeroLimit := cfg.ZeroGradSteps
	if zeroLimit == 0 {
		zeroLimit = DefaultZeroGradSteps
	}
	var zeroSince int
	var zeroLR []GroupLR
	savedStep := -1 // the step of the last checkpoint this run wrote
	if resumed {
		savedStep = st.Step
	}
	for !stop && st.Step < cfg.MaxSteps {
		if err := ctx.Err(); err != nil {
			// Cancelled between two steps: every component's state is that
			// of the end of step st.Step, so a checkpoint saved now resumes
			// bit for bit.
			if cfg.OutputDir != "" && st.Step > 0 && savedStep != st.Step {
				dir, serr := syncAndSave(cfg, &st, store, opt, pcg, states)
				if serr != nil {
					return res, fmt.Errorf("train: %w after step %d (%w); saving a checkpoint failed: %w", ErrInterrupted, st.Step, err, serr)
				}
				res.LastCheckpoint = dir
				ci := &CheckpointInfo{Step: st.Step, Dir: dir}
				_ = callHooks(hooks, func(h Hook) error { return h.OnCheckpoint(context.WithoutCancel(ctx), ci) })
			}
			if res.LastCheckpoint != "" {
				return res, fmt.Errorf("train: %w after step %d (%w); checkpoint %s", ErrInterrupted, st.Step, err, res.LastCheckpoint)
			}
			return res, fmt.Errorf("train: %w after step %d (%w)", ErrInterrupted, st.Step, err)
		}
		// Forward and backward over the micro-batches.
		clear(touched)
		all := false
		var lossSum float64
		var indices [][]int
		for micro := 0; micro < accum; micro++ {
			batch, pos, err := train.Next(ctx)
			if err != nil {
				return res, fmt.Errorf("train: step %d: next batch after %+v: %w", st.Step+1, st.Sampler, err)
			}
			if r, ok := train.(IndexReporter); ok {
				indices = append(indices, r.LastIndices())
			}
			out, err := model.Step(ctx, batch, StepEnv{GradScale: 1 / float32(accum), RNG: rng,
				Step: st.Step, Micro: micro, Train: true})
			if err != nil {
				return res, fmt.Errorf("train: step %d micro-batch %d (sampler %+v): %w", st.Step+1, micro, st.Sampler, err)
			}
			if !isFinite(float64(out.Loss)) {
				return res, &NonFiniteError{Step: st.Step + 1, What: "loss", Micro: micro, Value: float64(out.Loss)}
			}
			lossSum += float64(out.Loss)
			if out.Grads == nil {
				all = true
			}
			for _, p := range out.Grads {
				touched[p] = true
			}
			st.Sampler, st.Epoch = pos, pos.Epoch
		}
		hasGrad := func(p *autograd.Param) bool { return all || touched[p] }
		withGrad := trainable
		if !all {
			withGrad = make([]*autograd.Param, 0, len(touched))
			for _, p := range trainable {
				if touched[p] {
					withGrad = append(withGrad, p)
				}
			}
		}
		if cfg.Reducer != nil {
			var set map[*autograd.Param]bool
			if lossSum, withGrad, set, err = reduceStep(cfg.Reducer, trainable, hasGrad, lossSum); err != nil {
				return res, fmt.Errorf("train: step %d: %w", st.Step+1, err)
			}
			hasGrad = func(p *autograd.Param) bool { return set[p] }
		}
		// NaN/Inf guard, clipping, optimizer and schedule.
		var norm float32
		switch {
		case device && cfg.MaxGradNorm > 0:
			norm, err = opt.dev.clipGradNorm(withGrad, cfg.MaxGradNorm)
		case device:
			norm, err = opt.dev.gradNorm(withGrad)
		case cfg.MaxGradNorm > 0:
			norm = ClipGradNorm(withGrad, cfg.MaxGradNorm)
		default:
			norm = GradNorm(withGrad)
		}
		if err != nil {
			return res, fmt.Errorf("train: step %d: %w", st.Step+1, err)
		}
		if !isFinite(float64(norm)) {
			if err := store.SyncGradsToHost(); err != nil {
				return res, fmt.Errorf("train: step %d: non-finite gradient norm; reading the gradients: %w", st.Step+1, err)
			}
			name, v := firstNonFinite(withGrad)
			return res, &NonFiniteError{Step: st.Step + 1, What: "gradient", Param: name, Value: v}
		}
		usedLR := groupLRs(opt)
		if norm == 0 && len(withGrad) > 0 && zeroLimit > 0 {
			if zeroSince == 0 {
				zeroSince, zeroLR = st.Step+1, usedLR
			}
			if n := st.Step + 1 - zeroSince + 1; n >= zeroLimit {
				return res, &DeadGradientError{Since: zeroSince, Steps: n, LR: zeroLR}
			}
		} else if norm != 0 {
			zeroSince = 0
		}
		if err := opt.StepErr(hasGrad); err != nil {
			return res, fmt.Errorf("train: step %d: %w", st.Step+1, err)
		}
		st.Step++
		setLR(opt, sched, st.Step)
		if err := store.ZeroGrads(); err != nil {
			return res, fmt.Errorf("train: step %d: %w", st.Step, err)
		}
		res.Steps, res.Loss = st.Step, lossSum/float64(accum)

		info := &StepInfo{Step: st.Step, MaxSteps: cfg.MaxSteps, Epoch: st.Epoch, Loss: res.Loss,
			GradNorm: float64(norm), LR: usedLR, Elapsed: time.Since(start), StartStep: si.Step, Batches: indices}
		if err := callHooks(hooks, func(h Hook) error { return h.OnStep(ctx, info) }); err != nil {
			if !errors.Is(err, ErrStop) {
				return res, err
			}
			stop, res.Reason = true, ReasonHook
		}

		if cfg.EvalEvery > 0 && st.Step%cfg.EvalEvery == 0 {
			early, err := evaluate(ctx, cfg, &st, store, eval, hooks, start)
			if err != nil {
				if !errors.Is(err, ErrStop) {
					return res, err
				}
				stop, res.Reason = true, ReasonHook
			}
			if early {
				stop, res.Reason = true, ReasonEarlyStopping
			}
		}
		if cfg.OutputDir != "" && ((cfg.SaveEvery > 0 && st.Step%cfg.SaveEvery == 0) || stop || st.Step == cfg.MaxSteps) {
			dir, err := syncAndSave(cfg, &st, store, opt, pcg, states)
			if err != nil {
				return res, fmt.Errorf("train: step %d: %w", st.Step, err)
			}
			res.LastCheckpoint, savedStep = dir, st.Step
			ci := &CheckpointInfo{Step: st.Step, Dir: dir}
			if err := callHooks(hooks, func(h Hook) error { return h.OnCheckpoint(ctx, ci) }); err != nil {
				if !errors.Is(err, ErrStop) {
					return res, err
				}
				stop, res.Reason = true, ReasonHook
			}
		}
	}
	res.BestF1, res.BestStep = st.BestF1, st.BestStep
	ei := &EndInfo{Step: st.Step, Reason: res.Reason, HasBest: st.HasBest, BestF1: st.BestF1, BestStep: st.BestStep,
		Loss: res.Loss, Elapsed: time.Since(start), LastCheckpoint: res.LastCheckpoint}
	if err := callHooks(hooks, func(h Hook) error { return h.OnEnd(ctx, ei) }); err != nil && !errors.Is(err, ErrStop) {
		return res, err
	}
	return res, nil
}

// evaluate runs eval, updates the best score and the patience counter,
// keeps the best weights and calls OnEval. It reports whether patience ran
// out.
func evaluate(ctx context.Context, cfg Config, st *state, store *autograd.Store, eval EvalFunc, hooks []Hook, start time.Time) (bool, error) {
	m, err := eval(ctx)
	if err != nil {
		return false, fmt.Errorf("train: evaluate at step %d: %w", st.Step, err)
	}
	if m == nil {
		return false, fmt.Errorf("train: evaluate at step %d: no metrics", st.Step)
	}
	micro := m.Micro()
	improved := !st.HasBest || micro.F1 > st.BestF1+cfg.MinDelta
	if improved {
		st.HasBest, st.BestF1, st.BestStep, st.EvalsSinceBest = true, micro.F1, st.Step, 0
		if cfg.KeepBest && cfg.OutputDir != "" {
			if err := store.SyncToHost(); err != nil {
				return false, fmt.Errorf("train: step %d: best weights: %w", st.Step, err)
			}
			if err := saveBest(cfg, store, st, micro); err != nil {
				return false, fmt.Errorf("train: step %d: %w", st.Step, err)
			}
		}
	} else {
		st.EvalsSinceBest++
	}
	early := cfg.Patience > 0 && st.EvalsSinceBest >= cfg.Patience
	ei := &EvalInfo{Step: st.Step, Epoch: st.Epoch, Metrics: m, Micro: micro, PerLabel: m.PerLabel(),
		IsBest: improved, BestF1: st.BestF1, BestStep: st.BestStep, EvalsSinceBest: st.EvalsSinceBest,
		Elapsed: time.Since(start)}
	return early, callHooks(hooks, func(h Hook) error { return h.OnEval(ctx, ei) })
}

// syncAndSave copies device-resident weights and moments to the host
// (explicitly; nothing on the CPU) and writes a checkpoint.
func syncAndSave(cfg Config, st *state, store *autograd.Store, opt *AdamW, pcg *rand.PCG, states map[string]Stateful) (string, error) {
	if err := store.SyncToHost(); err != nil {
		return "", err
	}
	if err := opt.SyncToHost(); err != nil {
		return "", err
	}
	return saveCheckpoint(cfg, st, store, opt, pcg, states)
}

func (cfg *Config) validate(haveEval bool) error {
	switch {
	case cfg.MaxSteps < 1:
		return fmt.Errorf("train: max steps %d must be ≥ 1", cfg.MaxSteps)
	case cfg.GradAccum < 0:
		return fmt.Errorf("train: gradient accumulation %d must be ≥ 1 (or 0 for 1)", cfg.GradAccum)
	case cfg.EvalEvery < 0 || cfg.SaveEvery < 0 || cfg.SaveTotalLimit < 0 || cfg.Patience < 0:
		return fmt.Errorf("train: eval every %d, save every %d, save total limit %d and patience %d must be ≥ 0",
			cfg.EvalEvery, cfg.SaveEvery, cfg.SaveTotalLimit, cfg.Patience)
	case cfg.EvalEvery > 0 && !haveEval:
		return fmt.Errorf("train: eval every %d steps but no evaluation function", cfg.EvalEvery)
	case cfg.Patience > 0 && cfg.EvalEvery == 0:
		return fmt.Errorf("train: patience %d needs evaluation (eval every > 0)", cfg.Patience)
	case cfg.KeepBest && (cfg.OutputDir == "" || cfg.EvalEvery == 0):
		return fmt.Errorf("train: keep best needs an output directory and evaluation")
	case !(cfg.MinDelta >= 0):
		return fmt.Errorf("train: min delta %g must be ≥ 0", cfg.MinDelta)
	}
	for k, s := range cfg.States {
		if s == nil || k == "" || k == "model" || k == "sampler" {
			return fmt.Errorf("train: state component %q: empty key, nil or reserved name", k)
		}
	}
	return nil
}

func componentStates[B any](cfg Config, model Model[B], train Sampler[B]) map[string]Stateful {
	m := make(map[string]Stateful, len(cfg.States)+2)
	for k, v := range cfg.States {
		m[k] = v
	}
	if s, ok := any(model).(Stateful); ok {
		m["model"] = s
	}
	if s, ok := any(train).(Stateful); ok {
		m["sampler"] = s
	}
	return m
}

func trainableParams(store *autograd.Store) []*autograd.Param {
	var out []*autograd.Param
	for _, p := range store.Params() {
		if !p.Frozen {
			out = append(out, p)
		}
	}
	return out
}

func setLR(opt *AdamW, s Schedule, step int) {
	f := s.Factor(step)
	for _, g := range opt.Groups {
		g.LR = g.BaseLR * f
	}
}

func groupNames(opt *AdamW) []string {
	out := make([]string, len(opt.Groups))
	for i, g := range opt.Groups {
		out[i] = g.Name
	}
	return out
}

func groupLRs(opt *AdamW) []GroupLR {
	out := make([]GroupLR, len(opt.Groups))
	for i, g := range opt.Groups {
		out[i] = GroupLR{Group: g.Name, LR: g.LR}
	}
	return out
}

func callHooks(hooks []Hook, f func(Hook) error) error {
	var stop error
	for _, h := range hooks {
		if err := f(h); err != nil {
			if errors.Is(err, ErrStop) {
				stop = err
				continue
			}
			return fmt.Errorf("train: hook %T: %w", h, err)
		}
	}
	return stop
}

// IndexSampler adapts a data.BatchSampler (data.LengthSampler,
// data.SequentialSampler, data.OrderSampler) to Sampler: it draws batches
// of example indices and turns them into batches with Make (a collator
// call). If Make draws random numbers (negative types), pass that
// component in Config.States so checkpoints carry its state.
type IndexSampler[B any] struct {
	Sampler data.BatchSampler
	Make    func(ctx context.Context, indices []int) (B, error)
	it      *data.BatchIterator
	last    []int
}

// IndexReporter is a Sampler that tells which examples its last batch
// held; the loop then reports them in StepInfo.Batches.
type IndexReporter interface {
	// LastIndices are the example indices of the batch the last Next
	// returned.
	LastIndices() []int
}

// LastIndices implements IndexReporter.
func (s *IndexSampler[B]) LastIndices() []int { return append([]int(nil), s.last...) }

// Seek implements Sampler.
func (s *IndexSampler[B]) Seek(pos data.SamplerPosition) error {
	it, err := data.Iterate(s.Sampler, pos)
	if err != nil {
		return err
	}
	s.it = it
	return nil
}

// Next implements Sampler.
func (s *IndexSampler[B]) Next(ctx context.Context) (B, data.SamplerPosition, error) {
	var zero B
	if s.it == nil {
		if err := s.Seek(data.SamplerPosition{}); err != nil {
			return zero, data.SamplerPosition{}, err
		}
	}
	idx := s.it.Next()
	s.last = idx
	b, err := s.Make(ctx, idx)
	if err != nil {
		return zero, s.it.Position(), fmt.Errorf("batch of examples %v: %w", idx, err)
	}
	return b, s.it.Position(), nil
}
