package finetune_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/finetune"
	"github.com/gliner-go/gliner/models"
	"github.com/gliner-go/gliner/train"
)

// customRecipe is the sample recipe with a small model, no dev set, a
// fixed batch order and steps of its own.
func customRecipe(out string, steps int) (*finetune.Recipe, error) {
	root := "../" // the repository root, seen from this package's directory
	return finetune.LoadRecipe(filepath.Join(root, "recipes/uni_span_sample.yaml"), []string{
		"data.train_data=" + filepath.Join(root, "testdata/sample/train.jsonl"), "data.val_data=none",
		"model.encoder_config.hidden_size=32", "model.encoder_config.intermediate_size=64", "model.hidden_size=32",
		"training.sampler=sequential", "training.eval_every=0", "training.log_every=0",
		fmt.Sprintf("training.num_steps=%d", steps), "training.output_dir=" + out,
	})
}

// stepHook calls f after every step.
type stepHook struct {
	train.NopHook
	f func(*train.StepInfo)
}

func (h stepHook) OnStep(_ context.Context, i *train.StepInfo) error { h.f(i); return nil }

// customLoop trains the recipe's model with the public pieces Run is made
// of and train.Run, calling onStep after every step.
func customLoop(r *finetune.Recipe, onStep func(*train.StepInfo)) (*models.Model, error) {
	ds, err := finetune.LoadData(r)
	if err != nil {
		return nil, err
	}
	built, err := finetune.BuildModel(r, finetune.Words(ds.Train))
	if err != nil {
		return nil, err
	}
	if built.Model.Loss, err = r.LossOptions(); err != nil {
		return nil, err
	}
	t := &r.Training
	col, err := finetune.NewTrainCollator(built, t.Seed, false)
	if err != nil {
		return nil, err
	}
	lengths, err := data.TokenLengths(built.Tokenizer, ds.Train)
	if err != nil {
		return nil, err
	}
	order, err := finetune.NewSampler(r, lengths)
	if err != nil {
		return nil, err
	}
	batches := &train.IndexSampler[*data.Batch]{Sampler: order, Make: func(_ context.Context, idx []int) (*data.Batch, error) {
		exs := make([]data.Example, len(idx))
		for i, j := range idx {
			exs[i] = ds.Train[j]
		}
		b, err := col.Train(exs)
		if err == nil {
			err = finetune.PadTrainBatch(built, b)
		}
		return b, err
	}}
	sched, err := train.ParseSchedulerType(t.SchedulerType)
	if err != nil {
		return nil, err
	}
	lrOthers, wdOthers := t.LROthers, t.WeightDecayOther
	cfg := train.Config{MaxSteps: t.NumSteps, MaxGradNorm: t.MaxGradNorm, Scheduler: sched, WarmupRatio: t.WarmupRatio, Seed: t.Seed,
		Groups: train.GroupConfig{LR: t.LREncoder, WeightDecay: t.WeightDecayEncoder, OthersLR: &lrOthers, OthersWeightDecay: &wdOthers}}
	built.Model.SeedRNG(t.Seed)
	step := finetune.NewStepModel(built.Model)
	if _, err := train.Run[*data.Batch](context.Background(), cfg, step, batches, nil, stepHook{f: onStep}); err != nil {
		return nil, err
	}
	return step.Model(), nil
}

// A training loop of one's own from finetune's pieces: the recipe's data,
// model, collator and batch order, the StepModel adapter and train.Run
// with a hook that sees every step (its loss, learning rates and the
// examples of its batch).
func ExampleStepModel() {
	out, _ := os.MkdirTemp("", "custom-loop")
	defer os.RemoveAll(out)
	r, err := customRecipe(out, 20)
	if err != nil {
		fmt.Println(err)
		return
	}
	var losses []float64
	_, err = customLoop(r, func(i *train.StepInfo) {
		losses = append(losses, i.Loss)
		if i.Step <= 2 {
			fmt.Println("step", i.Step, "examples", i.Batches[0])
		}
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	first, last := losses[0]+losses[1]+losses[2], losses[17]+losses[18]+losses[19]
	fmt.Println("steps:", len(losses), "loss fell:", last < first)
	// Output:
	// step 1 examples [0 1 2 3 4 5 6 7]
	// step 2 examples [8 9 10 11 12 13 14 15]
	// steps: 20 loss fell: true
}

// The custom loop ends in the very weights finetune.Run trains with the
// same recipe.
func TestCustomLoopMatchesRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	r, err := customRecipe(out, 12)
	if err != nil {
		t.Fatal(err)
	}
	res, err := finetune.Run(context.Background(), r, finetune.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := models.Load(res.FinalDir)
	if err != nil {
		t.Fatal(err)
	}
	steps := 0
	got, err := customLoop(r, func(*train.StepInfo) { steps++ })
	if err != nil {
		t.Fatal(err)
	}
	wp, gp := want.Store.Params(), got.Store.Params()
	if steps != 12 || len(wp) != len(gp) || len(wp) == 0 {
		t.Fatalf("%d steps, %d and %d parameters", steps, len(wp), len(gp))
	}
	for i, p := range wp {
		if p.Name != gp[i].Name || !slices.Equal(p.Data, gp[i].Data) {
			t.Fatalf("%s: the custom loop's weights differ from finetune.Run's", p.Name)
		}
	}
}
