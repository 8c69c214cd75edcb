package train

import (
	"context"
	"time"

	"github.com/gliner-go/gliner/decode"
)

// Hook receives the loop's events. Returning ErrStop ends training
// cleanly; any other error aborts Run with that error. OnEnd is called when
// the run ends normally (max steps, early stopping, ErrStop), not when Run
// returns an error. Embed NopHook to implement only some events.
type Hook interface {
	OnStart(ctx context.Context, info *StartInfo) error
	OnStep(ctx context.Context, info *StepInfo) error
	OnEval(ctx context.Context, info *EvalInfo) error
	OnCheckpoint(ctx context.Context, info *CheckpointInfo) error
	OnEnd(ctx context.Context, info *EndInfo) error
}

// NopHook implements Hook doing nothing.
type NopHook struct{}

// OnStart implements Hook.
func (NopHook) OnStart(context.Context, *StartInfo) error { return nil }

// OnStep implements Hook.
func (NopHook) OnStep(context.Context, *StepInfo) error { return nil }

// OnEval implements Hook.
func (NopHook) OnEval(context.Context, *EvalInfo) error { return nil }

// OnCheckpoint implements Hook.
func (NopHook) OnCheckpoint(context.Context, *CheckpointInfo) error { return nil }

// OnEnd implements Hook.
func (NopHook) OnEnd(context.Context, *EndInfo) error { return nil }

// StartInfo describes a run about to take its first step.
type StartInfo struct {
	Step      int // steps already done (resumed) or 0
	MaxSteps  int
	Resumed   bool
	Groups    []string // optimizer group names
	NumParams int
}

// GroupLR is one optimizer group's current learning rate.
type GroupLR struct {
	Group string  `json:"group"`
	LR    float64 `json:"lr"`
}

// StepInfo describes a finished optimizer step.
type StepInfo struct {
	Step      int // steps done, 1-based
	MaxSteps  int
	StartStep int // the step this run started (resumed) from
	Epoch     int
	Loss      float64 // mean micro-batch loss
	GradNorm  float64 // global gradient norm before clipping
	// LR is each group's learning rate this step's update used (the
	// schedule's value at step Step-1; transformers logs the next step's).
	LR      []GroupLR
	Elapsed time.Duration // since this Run started
	// Batches are the example indices of each micro-batch of the step,
	// when the sampler reports them (IndexReporter, e.g. IndexSampler);
	// nil otherwise.
	Batches [][]int
}

// EvalInfo describes an evaluation.
type EvalInfo struct {
	Step           int
	Epoch          int
	Metrics        *decode.Metrics
	Micro          decode.Score
	PerLabel       []decode.Score
	IsBest         bool
	BestF1         float64
	BestStep       int
	EvalsSinceBest int
	Elapsed        time.Duration
}

// CheckpointInfo describes a written checkpoint.
type CheckpointInfo struct {
	Step int
	Dir  string
}

// EndInfo describes the end of a run.
type EndInfo struct {
	Step           int
	Reason         string
	Loss           float64
	HasBest        bool
	BestF1         float64
	BestStep       int
	Elapsed        time.Duration
	LastCheckpoint string
}
