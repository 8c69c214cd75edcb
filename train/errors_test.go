package train_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/train"
	"github.com/gliner-go/gliner/train/internal/tinymodel"
)

func TestResumeErrors(t *testing.T) {
	dir := t.TempDir()
	r := newRun(t, dir, 1)
	r.cfg.MaxSteps = 4
	r.train(t)
	ck := train.CheckpointDir(dir, 4)

	try := func(mod func(*run)) error {
		x := newRun(t, t.TempDir(), 1)
		x.cfg.ResumeFrom = ck
		mod(x)
		_, err := train.Run(context.Background(), x.cfg, x.model, x.sampler, x.eval)
		return err
	}
	cases := []struct {
		name string
		mod  func(*run)
		want string
	}{
		{"missing directory", func(x *run) { x.cfg.ResumeFrom = filepath.Join(dir, "checkpoint-999") }, "checkpoint-999"},
		{"component not in checkpoint", func(x *run) { x.cfg.States["other"] = x.noise }, `no saved state for component "other"`},
		{"checkpoint component unknown", func(x *run) { delete(x.cfg.States, "noise") }, `component "noise", which this run does not have`},
		{"frozen parameter with saved optimizer state", func(x *run) {
			p, _ := x.model.Store().Get("head.weight")
			p.Frozen = true
		}, `optimizer state for "head.weight", which is not a trainable parameter`},
	}
	for _, c := range cases {
		err := try(c.mod)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", c.name, err, c.want)
		}
	}

	// A corrupted trainer state names the file.
	bad := filepath.Join(t.TempDir(), "checkpoint-4")
	if err := os.CopyFS(bad, os.DirFS(ck)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, train.TrainerStateFile), []byte(`{"format":1,"surprise":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	x := newRun(t, t.TempDir(), 1)
	x.cfg.ResumeFrom = bad
	if _, err := train.Run(context.Background(), x.cfg, x.model, x.sampler, x.eval); err == nil ||
		!strings.Contains(err.Error(), "trainer_state.json") || !strings.Contains(err.Error(), "surprise") {
		t.Errorf("corrupted state: err = %v", err)
	}

	// Weights of another architecture: strict loading lists the tensors.
	s := autograd.NewStore()
	s.Add("head.weight", []int{2, 8}, nil)
	s.Add("extra.weight", []int{1}, nil)
	err := train.LoadWeights(ck, s)
	for _, w := range []string{"extra.weight", "head.bias", "head.weight"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("strict load: err = %v, want it to name %s", err, w)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		mod  func(*train.Config)
		eval bool
		want string
	}{
		{func(c *train.Config) { c.MaxSteps = 0 }, true, "max steps 0"},
		{func(c *train.Config) {}, false, "no evaluation function"},
		{func(c *train.Config) { c.EvalEvery, c.KeepBest, c.Patience = 0, false, 3 }, true, "patience 3 needs evaluation"},
		{func(c *train.Config) { c.GradAccum = -1 }, true, "gradient accumulation -1"},
		{func(c *train.Config) { c.Groups.LR = math.NaN() }, true, "invalid learning rate"},
		{func(c *train.Config) { c.WarmupRatio = 2 }, true, "warmup ratio 2"},
		{func(c *train.Config) { c.States["model"] = nil }, true, `"model"`},
	}
	for _, c := range cases {
		r := newRun(t, t.TempDir(), 1)
		c.mod(&r.cfg)
		eval := r.eval
		if !c.eval {
			eval = nil
		}
		_, err := train.Run(context.Background(), r.cfg, r.model, r.sampler, eval)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want it to contain %q", err, c.want)
		}
	}
}

// The tiny model's hand-written backward agrees with finite differences,
// so the loop tests train a real gradient.
func TestTinyModelGradient(t *testing.T) {
	m, err := tinymodel.New(4)
	if err != nil {
		t.Fatal(err)
	}
	m.Dropout = 0
	b := tinymodel.Dataset(6, 9)
	ctx := context.Background()
	loss := func() float64 {
		var l float64
		for i, x := range b.X {
			z := m.Forward(x)
			l += math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))) - float64(b.Y[i])*z
		}
		return l
	}
	m.Store().ZeroGrad()
	out, err := m.Step(ctx, b, train.StepEnv{GradScale: 1, Train: true})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(out.Loss)-loss()) > 1e-5 {
		t.Fatalf("step loss %v, forward loss %v", out.Loss, loss())
	}
	for _, p := range out.Grads {
		for i := range p.Data {
			orig := p.Data[i]
			const h = 1e-2
			p.Data[i] = orig + h
			lp := loss()
			p.Data[i] = orig - h
			lm := loss()
			p.Data[i] = orig
			fd := (lp - lm) / (float64(float32(orig+h)) - float64(float32(orig-h)))
			if math.Abs(fd-float64(p.Grad[i])) > 2e-3*math.Max(1, math.Abs(fd)) {
				t.Errorf("%s[%d]: grad %v, finite difference %v", p.Name, i, p.Grad[i], fd)
			}
		}
	}
}
