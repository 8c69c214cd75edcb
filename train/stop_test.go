package train_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/train"
)

// A model whose gradients are exactly 0 from step 4 on is stopped after
// DefaultZeroGradSteps such steps with a report naming them, instead of
// training on and exporting a dead model.
func TestDeadGradientStops(t *testing.T) {
	r := newRun(t, "", 1)
	r.cfg.EvalEvery = 0
	r.model.ZeroGradFrom = 4
	res, err := train.Run(context.Background(), r.cfg, r.model, r.sampler, nil)
	var de *train.DeadGradientError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want DeadGradientError", err)
	}
	if de.Since != 4 || de.Steps != train.DefaultZeroGradSteps || res.Steps != 4+train.DefaultZeroGradSteps-2 {
		t.Fatalf("reported %+v after %d steps, want since 4, %d steps, stopped before step %d", de, res.Steps, train.DefaultZeroGradSteps, 4+train.DefaultZeroGradSteps-1)
	}
	for _, w := range []string{"steps 4 to 13", "exactly 0", "learning rate", "encoder_decay 0.02"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("message %q lacks %q", err, w)
		}
	}
	// Fewer zero steps than the limit, or the check off, train to the end.
	r = newRun(t, "", 1)
	r.cfg.EvalEvery, r.cfg.ZeroGradSteps = 0, -1
	r.model.ZeroGradFrom = 4
	if res, err := train.Run(context.Background(), r.cfg, r.model, r.sampler, nil); err != nil || res.Steps != 30 {
		t.Fatalf("check off: %v, %+v", err, res)
	}
	r = newRun(t, "", 1)
	r.cfg.EvalEvery = 0
	r.model.ZeroGradFrom = 30 - train.DefaultZeroGradSteps + 2
	if res, err := train.Run(context.Background(), r.cfg, r.model, r.sampler, nil); err != nil || res.Steps != 30 {
		t.Fatalf("%d zero steps: %v, %+v", train.DefaultZeroGradSteps-1, err, res)
	}
}

// cancelAt cancels the run's context after step At, as Ctrl-C does.
type cancelAt struct {
	train.NopHook
	At     int
	Cancel context.CancelFunc
}

func (h *cancelAt) OnStep(_ context.Context, i *train.StepInfo) error {
	if i.Step == h.At {
		h.Cancel()
	}
	return nil
}

// A cancelled run (Ctrl-C, SIGTERM) saves a checkpoint of its last step
// before returning, and resuming from it ends in the same bits as an
// uninterrupted run.
func TestInterruptSavesCheckpointAndResumesBitExact(t *testing.T) {
	full := newRun(t, t.TempDir(), 1)
	full.train(t)
	want := weights(full.model.Store())

	dir := t.TempDir()
	a := newRun(t, dir, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Step 7 is neither a save (every 4) nor an evaluation (every 5) step.
	res, err := train.Run(ctx, a.cfg, a.model, a.sampler, a.eval, &cancelAt{At: 7, Cancel: cancel})
	if !errors.Is(err, train.ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want ErrInterrupted wrapping context.Canceled", err)
	}
	ck := train.CheckpointDir(dir, 7)
	if res.LastCheckpoint != ck || !strings.Contains(err.Error(), ck) {
		t.Fatalf("last checkpoint %q (err %v), want %s", res.LastCheckpoint, err, ck)
	}
	if _, err := os.Stat(filepath.Join(ck, train.WeightsFile)); err != nil {
		t.Fatal(err)
	}
	b := newRun(t, t.TempDir(), 99)
	b.cfg.ResumeFrom = ck
	b.train(t)
	sameBits(t, "weights resumed after the interruption", weights(b.model.Store()), want)

	// Cancelled before the first step: nothing to save.
	c := newRun(t, t.TempDir(), 1)
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	res, err = train.Run(ctx2, c.cfg, c.model, c.sampler, c.eval)
	if !errors.Is(err, train.ErrInterrupted) || res.LastCheckpoint != "" {
		t.Fatalf("cancelled before step 1: %v, %+v", err, res)
	}
}

// lrHook records the learning rates each step reports.
type lrHook struct {
	train.NopHook
	lrs [][]train.GroupLR
}

func (h *lrHook) OnStep(_ context.Context, i *train.StepInfo) error {
	h.lrs = append(h.lrs, i.LR)
	return nil
}

// StepInfo.LR is the rate the step's update used: BaseLR·Factor(step-1),
// 0 at step 1 under linear warmup (the next step's rate before the fix).
func TestStepInfoLRIsTheRateUsed(t *testing.T) {
	r := newRun(t, "", 1)
	r.cfg.EvalEvery = 0
	h := &lrHook{}
	r.train(t, h)
	sched, err := train.NewSchedule(r.cfg.Scheduler, r.cfg.MaxSteps, r.cfg.WarmupSteps, r.cfg.WarmupRatio)
	if err != nil {
		t.Fatal(err)
	}
	for step, lrs := range h.lrs {
		for _, g := range lrs {
			base := *r.cfg.Groups.OthersLR
			if strings.HasPrefix(g.Group, "encoder") {
				base = r.cfg.Groups.LR
			}
			if want := base * sched.Factor(step); g.LR != want {
				t.Fatalf("step %d group %s: lr %g, want %g", step+1, g.Group, g.LR, want)
			}
		}
	}
	if h.lrs[0][0].LR != 0 {
		t.Fatalf("step 1 lr %g, want 0 (warmup starts at 0)", h.lrs[0][0].LR)
	}
}
