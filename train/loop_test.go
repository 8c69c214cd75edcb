package train_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/train"
	"github.com/gliner-go/gliner/train/internal/tinymodel"
)

// run is one training setup on the tiny model with fixed seeds.
type run struct {
	model   *tinymodel.Model
	sampler *train.IndexSampler[tinymodel.Batch]
	noise   *tinymodel.Noise
	dev     tinymodel.Batch
	cfg     train.Config
}

func newRun(t testing.TB, out string, modelSeed uint64) *run {
	m, err := tinymodel.New(modelSeed)
	if err != nil {
		t.Fatal(err)
	}
	noise := &tinymodel.Noise{PCG: rand.NewPCG(11, 12), Scale: 0.05}
	s, err := tinymodel.Sampler(tinymodel.Dataset(50, 1), 4, 3, noise)
	if err != nil {
		t.Fatal(err)
	}
	return &run{model: m, sampler: s, noise: noise, dev: tinymodel.Dataset(40, 2), cfg: train.Config{
		MaxSteps: 30, GradAccum: 2, MaxGradNorm: 0.5, Scheduler: train.Cosine, WarmupRatio: 0.1,
		Groups: train.GroupConfig{LR: 2e-2, WeightDecay: 0.1, OthersLR: f64(5e-2), OthersWeightDecay: f64(0.01)},
		Seed:   5, EvalEvery: 5, OutputDir: out, SaveEvery: 4, KeepBest: out != "",
		States: map[string]train.Stateful{"noise": train.StateFuncs{Marshal: noise.MarshalState, Unmarshal: noise.UnmarshalState}},
	}}
}

func (r *run) eval(context.Context) (*decode.Metrics, error) { return r.model.Evaluate(r.dev), nil }

func (r *run) train(t testing.TB, hooks ...train.Hook) *train.Result {
	res, err := train.Run(context.Background(), r.cfg, r.model, r.sampler, r.eval, hooks...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func weights(s *autograd.Store) map[string][]float32 {
	m := map[string][]float32{}
	for _, p := range s.Params() {
		m[p.Name] = append([]float32(nil), p.Data...)
	}
	return m
}

func sameBits(t *testing.T, what string, got, want map[string][]float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d tensors, want %d", what, len(got), len(want))
	}
	for n, w := range want {
		g := got[n]
		if len(g) != len(w) {
			t.Fatalf("%s: %s has %d values, want %d", what, n, len(g), len(w))
		}
		for i := range w {
			if g[i] != w[i] && !(g[i] != g[i] && w[i] != w[i]) {
				t.Fatalf("%s: %s[%d] = %v, uninterrupted run %v", what, n, i, g[i], w[i])
			}
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestResumeInProcessIsBitExact(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	a := newRun(t, dirA, 1)
	resA := a.train(t)
	final := weights(a.model.Store())
	if resA.Steps != 30 || resA.LastCheckpoint != train.CheckpointDir(dirA, 30) {
		t.Fatalf("uninterrupted run: %+v", resA)
	}

	// A fresh process state (other initial weights, fresh sampler and
	// noise) resumed from step 12 must end in the same bits.
	b := newRun(t, dirB, 99)
	b.cfg.ResumeFrom = train.CheckpointDir(dirA, 12)
	mid, err := tinymodel.New(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := train.LoadWeights(b.cfg.ResumeFrom, mid.Store()); err != nil {
		t.Fatal(err)
	}
	resB := b.train(t)
	if resB.Steps != 30 || resB.BestF1 != resA.BestF1 || resB.BestStep != resA.BestStep {
		t.Fatalf("resumed result %+v, uninterrupted %+v", resB, resA)
	}
	sameBits(t, "resumed weights", weights(b.model.Store()), final)
	// The checkpoint at 12 is not already the end state.
	if weights(mid.Store())["head.weight"][0] == final["head.weight"][0] {
		t.Fatal("checkpoint-12 weights equal the final weights: the test proves nothing")
	}
	// Resuming the finished run does no step and reports the steps done.
	c := newRun(t, t.TempDir(), 3)
	c.cfg.ResumeFrom = resA.LastCheckpoint
	if resC := c.train(t); resC.Steps != 30 {
		t.Fatalf("resuming a finished run reports %d steps, want 30", resC.Steps)
	}
	// The final checkpoints agree file by file: weights, moments, step
	// counts, random streams, best score.
	for _, f := range []string{train.WeightsFile, train.OptimizerFile, train.TrainerStateFile} {
		if !bytes.Equal(readFile(t, filepath.Join(resA.LastCheckpoint, f)), readFile(t, filepath.Join(resB.LastCheckpoint, f))) {
			t.Errorf("final %s differs between the uninterrupted and the resumed run", f)
		}
	}
}

// The helper process: the test binary re-run with GLINER_TRAIN_HELPER set
// trains to 60 steps with a checkpoint every 3, slowly enough to be killed.
const helperEnv = "GLINER_TRAIN_HELPER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		r := newRun(&helperTB{}, dir, 1)
		r.cfg.MaxSteps, r.cfg.SaveEvery = 60, 3
		if _, err := train.Run(context.Background(), r.cfg, r.model, r.sampler, r.eval, sleepHook{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type sleepHook struct{ train.NopHook }

func (sleepHook) OnStep(context.Context, *train.StepInfo) error {
	time.Sleep(15 * time.Millisecond)
	return nil
}

// helperTB is the testing.TB the helper process's setup reports to.
type helperTB struct{ testing.TB }

func (*helperTB) Fatal(args ...any) {
	fmt.Fprintln(os.Stderr, args...)
	os.Exit(2)
}

func TestResumeAfterSIGKILLIsBitExact(t *testing.T) {
	ref := newRun(t, t.TempDir(), 1)
	ref.cfg.MaxSteps, ref.cfg.SaveEvery = 60, 3
	ref.train(t)
	want := weights(ref.model.Store())

	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, steps, _ := train.Checkpoints(dir)
		if len(steps) > 0 && steps[len(steps)-1] >= 15 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("helper wrote no checkpoint ≥ 15 in time; stderr: %s", stderr.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()
	latest, err := train.LatestCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	step, _ := strconv.Atoi(filepath.Base(latest)[len("checkpoint-"):])
	if step >= 60 || step < 15 {
		t.Fatalf("killed at checkpoint %d: not mid-run", step)
	}

	r := newRun(t, dir, 42)
	r.cfg.MaxSteps, r.cfg.SaveEvery, r.cfg.ResumeFrom = 60, 3, latest
	res := r.train(t)
	if res.Steps != 60 {
		t.Fatalf("resumed run did %d steps", res.Steps)
	}
	sameBits(t, fmt.Sprintf("weights resumed after SIGKILL at checkpoint %d", step), weights(r.model.Store()), want)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name()[0] == '.' {
			t.Errorf("unfinished %s left in the output directory", e.Name())
		}
	}
}

func TestGradAccumulationClipAndStepOrder(t *testing.T) {
	// One optimizer step of the loop equals doing it by hand: two
	// micro-batches at grad scale 1/2, clip, AdamW at the schedule's first
	// learning rate.
	r := newRun(t, "", 3)
	r.cfg.MaxSteps, r.cfg.EvalEvery, r.cfg.Scheduler, r.cfg.WarmupRatio = 1, 0, train.Constant, 0
	r.cfg.MaxGradNorm = 0.01
	r.model.Dropout = 0
	hand := newRun(t, "", 3)
	hand.model.Dropout = 0
	r.train(t)

	ctx := context.Background()
	var grads []*autograd.Param
	for micro := 0; micro < 2; micro++ {
		b, _, err := hand.sampler.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out, err := hand.model.Step(ctx, b, train.StepEnv{GradScale: 0.5, Train: true})
		if err != nil {
			t.Fatal(err)
		}
		grads = out.Grads
	}
	if norm := train.ClipGradNorm(grads, 0.01); norm <= 0.01 {
		t.Fatalf("grad norm %g: clipping not exercised", norm)
	}
	gs, _ := train.ParamGroups(hand.model.Store(), hand.cfg.Groups)
	opt, _ := train.NewAdamW(gs, train.AdamWOptions{})
	has := map[*autograd.Param]bool{}
	for _, p := range grads {
		has[p] = true
	}
	opt.Step(func(p *autograd.Param) bool { return has[p] })
	sameBits(t, "one loop step vs by hand", weights(r.model.Store()), weights(hand.model.Store()))
}

func TestClipGradNorm(t *testing.T) {
	s := autograd.NewStore()
	a, _ := s.Add("a", []int{2}, nil)
	b, _ := s.Add("b", []int{1}, nil)
	copy(a.Grad, []float32{3, 4})
	b.Grad[0] = 12
	if n := train.ClipGradNorm(s.Params(), 6.5); n != 13 {
		t.Fatalf("norm %v, want 13", n)
	}
	for i, w := range []float32{1.5, 2} {
		if d := a.Grad[i] - w; d > 1e-6 || d < -1e-6 {
			t.Errorf("a.grad[%d] = %v, want %v", i, a.Grad[i], w)
		}
	}
	if d := b.Grad[0] - 6; d > 1e-6 || d < -1e-6 {
		t.Errorf("b.grad = %v, want 6", b.Grad[0])
	}
	// Below the limit nothing changes.
	before := []float32{a.Grad[0], a.Grad[1], b.Grad[0]}
	if n := train.ClipGradNorm(s.Params(), 100); n < 6.5-1e-5 || n > 6.5+1e-5 {
		t.Fatalf("norm after clipping %v, want 6.5", n)
	}
	if a.Grad[0] != before[0] || a.Grad[1] != before[1] || b.Grad[0] != before[2] {
		t.Fatalf("gradients below the limit changed: %v %v → %v %v", before, a.Grad, b.Grad, before)
	}
}

func TestNonFiniteGuard(t *testing.T) {
	for _, loss := range []bool{false, true} {
		r := newRun(t, "", 1)
		r.cfg.EvalEvery = 0
		r.model.PoisonStep, r.model.PoisonLoss = 3, loss
		_, err := train.Run(context.Background(), r.cfg, r.model, r.sampler, nil)
		var nf *train.NonFiniteError
		if !errors.As(err, &nf) {
			t.Fatalf("loss=%v: err = %v, want NonFiniteError", loss, err)
		}
		if loss && (nf.Step != 3 || nf.What != "loss" || nf.Micro != 0) {
			t.Errorf("NaN loss reported as %+v (%v)", nf, err)
		}
		if !loss && (nf.Step != 3 || nf.What != "gradient" || nf.Param != "head.bias") {
			t.Errorf("Inf gradient reported as %+v (%v)", nf, err)
		}
	}
}

func TestUntouchedAndFrozenParamsStayPut(t *testing.T) {
	dir := t.TempDir()
	r := newRun(t, dir, 1)
	before := weights(r.model.Store())
	res := r.train(t)
	after := weights(r.model.Store())
	for _, n := range []string{"head.unused", "token_rep_layer.frozen.weight"} {
		if fmt.Sprint(before[n]) != fmt.Sprint(after[n]) {
			t.Errorf("%s changed: %v → %v", n, before[n], after[n])
		}
	}
	// Their optimizer state does not exist; the others took every step.
	st := string(readFile(t, filepath.Join(res.LastCheckpoint, train.TrainerStateFile)))
	for _, n := range []string{"head.unused", "token_rep_layer.frozen.weight"} {
		if bytes.Contains([]byte(st), []byte(`"`+n+`"`)) {
			t.Errorf("trainer state has optimizer steps for %s", n)
		}
	}
	if !bytes.Contains([]byte(st), []byte(`"head.weight": 30`)) {
		t.Errorf("head.weight did not take 30 optimizer steps: %s", st)
	}
}

func TestEarlyStoppingBestAndRotation(t *testing.T) {
	dir := t.TempDir()
	r := newRun(t, dir, 1)
	r.cfg.EvalEvery, r.cfg.SaveEvery, r.cfg.SaveTotalLimit = 4, 4, 2
	r.cfg.Patience, r.cfg.MinDelta = 2, 0.5 // nothing improves by 0.5 after the first eval
	res := r.train(t)
	if res.Reason != train.ReasonEarlyStopping || res.Steps != 12 || res.BestStep != 4 {
		t.Fatalf("result %+v, want early stop at 12 with best at 4", res)
	}
	_, steps, err := train.Checkpoints(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(steps) != "[4 8 12]" {
		t.Fatalf("checkpoints %v after rotation, want [4 8 12] (last two and the best)", steps)
	}
	best := readFile(t, filepath.Join(dir, "best", "best.json"))
	if !bytes.Contains(best, []byte(`"step": 4`)) {
		t.Fatalf("best.json %s", best)
	}
	m, _ := tinymodel.New(7)
	if err := train.LoadWeights(filepath.Join(dir, "best"), m.Store()); err != nil {
		t.Fatal(err)
	}
	c, _ := tinymodel.New(7)
	if err := train.LoadWeights(train.CheckpointDir(dir, 4), c.Store()); err != nil {
		t.Fatal(err)
	}
	sameBits(t, "best weights vs checkpoint-4", weights(m.Store()), weights(c.Store()))
}
