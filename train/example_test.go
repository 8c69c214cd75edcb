package train_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/train"
	"github.com/gliner-go/gliner/train/internal/tinymodel"
)

// Train the tiny classifier for 40 steps with the recipe's settings
// (cosine schedule with 5% warmup, encoder and head learning rates,
// gradient clipping), evaluating every 10 steps, keeping checkpoints and
// the best weights, then resume from the step-30 checkpoint to the same
// end.
func ExampleRun() {
	out, _ := os.MkdirTemp("", "train-example")
	defer os.RemoveAll(out)

	setup := func(resume string) (train.Config, *tinymodel.Model, *train.IndexSampler[tinymodel.Batch], train.EvalFunc) {
		model, _ := tinymodel.New(1)
		noise := &tinymodel.Noise{PCG: rand.NewPCG(1, 2), Scale: 0.05}
		sampler, _ := tinymodel.Sampler(tinymodel.Dataset(64, 1), 8, 1, noise)
		dev := tinymodel.Dataset(100, 2)
		eval := func(context.Context) (*decode.Metrics, error) { return model.Evaluate(dev), nil }
		cfg := train.Config{
			MaxSteps: 40, GradAccum: 1, MaxGradNorm: 10, Scheduler: train.Cosine, WarmupRatio: 0.05,
			Groups: train.GroupConfig{LR: 1e-2, WeightDecay: 0.1, OthersLR: ptr(3e-2), OthersWeightDecay: ptr(0.01)},
			Seed:   1, EvalEvery: 10, OutputDir: out, SaveEvery: 10, SaveTotalLimit: 2, KeepBest: true,
			ResumeFrom: resume, States: map[string]train.Stateful{"noise": noise},
		}
		return cfg, model, sampler, eval
	}

	cfg, model, sampler, eval := setup("")
	metrics := filepath.Join(out, "metrics.jsonl")
	res, err := train.Run(context.Background(), cfg, model, sampler, eval,
		&train.JSONLHook{Path: metrics}, &train.PlotHook{MetricsPath: metrics, Path: filepath.Join(out, "train.png")})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("steps %d, reason %s, best dev F1 %.2f at step %d\n", res.Steps, res.Reason, res.BestF1, res.BestStep)
	_, steps, _ := train.Checkpoints(out)
	fmt.Println("checkpoints kept:", steps)

	cfg2, model2, sampler2, eval2 := setup(train.CheckpointDir(out, 30))
	if _, err := train.Run(context.Background(), cfg2, model2, sampler2, eval2); err != nil {
		fmt.Println(err)
		return
	}
	same := true
	for i, p := range model.Store().Params() {
		for j, v := range p.Data {
			same = same && v == model2.Store().Params()[i].Data[j]
		}
	}
	fmt.Println("resumed run ends in the same weights:", same)
	// Output:
	// steps 40, reason max_steps, best dev F1 0.82 at step 40
	// checkpoints kept: [30 40]
	// resumed run ends in the same weights: true
}

func ptr(x float64) *float64 { return &x }
