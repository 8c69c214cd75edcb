package finetune_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/backendtest"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/finetune"
	"github.com/gliner-go/gliner/models"
	"github.com/gliner-go/gliner/train"
)

// deviceRun is one training run of the custom recipe for the simulated
// device tests: the model on be, steps steps, optionally resumed from and
// saving to a directory.
type deviceRun struct {
	losses []float64
	norms  []float64
	// in, out are each step's host-to-device and device-to-host bytes;
	// want are the bytes of the inputs of the step's plan; built tells
	// whether the step compiled a new plan.
	in, out, want []int64
	built         []bool
	model         *models.Model
	numParams     int
}

func trainOn(t *testing.T, be autograd.Backend, sim *backendtest.Device, spanMode, out, resume string, steps, stopAt int) *deviceRun {
	t.Helper()
	recipeOut := out
	if recipeOut == "" {
		recipeOut = t.TempDir()
	}
	r, err := customRecipe(recipeOut, steps)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Set("model.span_mode=" + spanMode); err != nil {
		t.Fatal(err)
	}
	ds, err := finetune.LoadData(r)
	if err != nil {
		t.Fatal(err)
	}
	built, err := finetune.BuildModel(r, finetune.Words(ds.Train))
	if err != nil {
		t.Fatal(err)
	}
	if built.Model.Loss, err = r.LossOptions(); err != nil {
		t.Fatal(err)
	}
	if err := built.Model.Place(be); err != nil {
		t.Fatal(err)
	}
	tr := &r.Training
	col, err := finetune.NewTrainCollator(built, tr.Seed, false)
	if err != nil {
		t.Fatal(err)
	}
	lengths, err := data.TokenLengths(built.Tokenizer, ds.Train)
	if err != nil {
		t.Fatal(err)
	}
	order, err := finetune.NewSampler(r, lengths)
	if err != nil {
		t.Fatal(err)
	}
	var last *data.Batch
	batches := &train.IndexSampler[*data.Batch]{Sampler: order, Make: func(_ context.Context, idx []int) (*data.Batch, error) {
		exs := make([]data.Example, len(idx))
		for i, j := range idx {
			exs[i] = ds.Train[j]
		}
		b, err := col.Train(exs)
		if err == nil {
			err = finetune.PadTrainBatch(built, b)
		}
		last = b
		return b, err
	}}
	sched, err := train.ParseSchedulerType(tr.SchedulerType)
	if err != nil {
		t.Fatal(err)
	}
	lrOthers, wdOthers := tr.LROthers, tr.WeightDecayOther
	cfg := train.Config{MaxSteps: tr.NumSteps, MaxGradNorm: tr.MaxGradNorm, Scheduler: sched, WarmupRatio: tr.WarmupRatio, Seed: tr.Seed,
		Groups:    train.GroupConfig{LR: tr.LREncoder, WeightDecay: tr.WeightDecayEncoder, OthersLR: &lrOthers, OthersWeightDecay: &wdOthers},
		OutputDir: out, ResumeFrom: resume}
	built.Model.SeedRNG(tr.Seed)
	step := finetune.NewStepModel(built.Model)
	cfg.States = map[string]train.Stateful{"collator": train.StateFuncs{Marshal: col.RNGState, Unmarshal: col.SetRNGState},
		"model_rng": train.StateFuncs{Marshal: built.Model.RNGState, Unmarshal: built.Model.SetRNGState}}
	res := &deviceRun{model: built.Model, numParams: built.Model.Store.NumParams()}
	var prev backendtest.Stats
	graphs := built.Model.GraphsBuilt()
	if sim != nil {
		prev = sim.Stats()
	}
	hook := stopHook{stopAt: stopAt, f: func(i *train.StepInfo) {
		res.losses = append(res.losses, i.Loss)
		res.norms = append(res.norms, i.GradNorm)
		if sim == nil {
			return
		}
		now := sim.Stats()
		res.in = append(res.in, now.BytesIn-prev.BytesIn)
		res.out = append(res.out, now.BytesOut-prev.BytesOut)
		g := built.Model.GraphsBuilt()
		res.built = append(res.built, g != graphs)
		graphs = g
		want, err := built.Model.PlanInputBytes(last)
		if err != nil {
			t.Error(err)
		}
		res.want = append(res.want, want)
		prev = sim.Stats()
	}}
	if _, err := train.Run[*data.Batch](context.Background(), cfg, step, batches, nil, hook); err != nil {
		t.Fatal(err)
	}
	if err := built.Model.Store.SyncToHost(); err != nil {
		t.Fatal(err)
	}
	return res
}

// stopHook calls f after every step and stops the run after step stopAt
// (0: never), which then writes its checkpoint.
type stopHook struct {
	train.NopHook
	stopAt int
	f      func(*train.StepInfo)
}

func (h stopHook) OnStep(_ context.Context, i *train.StepInfo) error {
	h.f(i)
	if i.Step == h.stopAt {
		return train.ErrStop
	}
	return nil
}

func sameWeights(t *testing.T, what string, a, b *models.Model) {
	t.Helper()
	pb := b.Store.Params()
	for i, p := range a.Store.Params() {
		q := pb[i]
		if p.Name != q.Name {
			t.Fatalf("%s: parameter %d is %q and %q", what, i, p.Name, q.Name)
		}
		for j := range p.Data {
			if math.Float32bits(p.Data[j]) != math.Float32bits(q.Data[j]) {
				t.Fatalf("%s: %s[%d] = %v and %v", what, p.Name, j, p.Data[j], q.Data[j])
			}
		}
	}
}

// A few training steps through the simulated device (its memory out of
// the host's reach, CPU kernel bodies on it) give the CPU backend's losses
// and weights bit for bit, and each step moves only the batch in and the
// loss and gradient norm out: nothing in proportion to the parameters.
func TestSimulatedDeviceTrainsLikeCPU(t *testing.T) {
	for _, mode := range []string{"markerV0", "token_level"} {
		t.Run(mode, func(t *testing.T) {
			const steps = 4
			cpu := trainOn(t, autograd.CPU, nil, mode, "", "", steps, 0)
			sim := backendtest.New()
			dev := trainOn(t, sim, sim, mode, "", "", steps, 0)
			for i := range cpu.losses {
				if math.Float64bits(cpu.losses[i]) != math.Float64bits(dev.losses[i]) || math.Float64bits(cpu.norms[i]) != math.Float64bits(dev.norms[i]) {
					t.Fatalf("step %d: cpu loss %v norm %v, simulated device loss %v norm %v", i+1, cpu.losses[i], cpu.norms[i], dev.losses[i], dev.norms[i])
				}
			}
			sameWeights(t, "weights after training on cpu and on the simulated device", cpu.model, dev.model)
			paramBytes := int64(dev.numParams) * 4
			for i := range dev.in {
				t.Logf("step %d: %d bytes in (plan inputs %d, new plan %v), %d bytes out; parameters %d bytes",
					i+1, dev.in[i], dev.want[i], dev.built[i], dev.out[i], paramBytes)
				// Out: the loss and the gradient norm, 4 bytes each.
				if dev.out[i] != 8 {
					t.Errorf("step %d: %d bytes downloaded, want 8 (loss and gradient norm)", i+1, dev.out[i])
				}
				switch {
				case !dev.built[i] && dev.in[i] != dev.want[i]:
					t.Errorf("step %d: %d bytes uploaded, want the batch's %d", i+1, dev.in[i], dev.want[i])
				case dev.built[i] && dev.in[i] != dev.want[i]+4:
					// A new plan uploads its graph's one constant, the
					// backward seed (4 bytes), once.
					t.Errorf("step %d (new plan): %d bytes uploaded, want the batch's %d plus the 4-byte backward seed", i+1, dev.in[i], dev.want[i])
				}
			}
		})
	}
}

// Checkpoints written from one backend resume on the other: CPU steps 1-3
// then simulated-device steps 4-6 (and the reverse) end in the weights of
// six CPU steps.
func TestCheckpointsResumeAcrossBackends(t *testing.T) {
	const mode = "markerV0"
	base := t.TempDir()
	full := trainOn(t, autograd.CPU, nil, mode, filepath.Join(base, "full"), "", 6, 0)
	for _, c := range []struct {
		name        string
		first, then func() autograd.Backend
	}{
		{"cpu then simulated device", func() autograd.Backend { return autograd.CPU }, func() autograd.Backend { return backendtest.New() }},
		{"simulated device then cpu", func() autograd.Backend { return backendtest.New() }, func() autograd.Backend { return autograd.CPU }},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(base, fmt.Sprintf("%p", &c))
			trainOn(t, c.first(), nil, mode, dir, "", 6, 3)
			resumed := trainOn(t, c.then(), nil, mode, dir, train.CheckpointDir(dir, 3), 6, 0)
			for i, l := range resumed.losses {
				if math.Float64bits(l) != math.Float64bits(full.losses[3+i]) {
					t.Fatalf("resumed step %d: loss %v, uninterrupted %v", 4+i, l, full.losses[3+i])
				}
			}
			sameWeights(t, c.name, full.model, resumed.model)
		})
	}
}
