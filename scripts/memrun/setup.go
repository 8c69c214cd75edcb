package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/finetune"
)

// setup prints the set-up cost of new batch shapes (see the package doc).
func setup(dir string, n int) error {
	r, err := finetune.LoadRecipe(filepath.Join(dir, "recipe.yaml"), []string{"data.val_data=" + filepath.Join(dir, "dev.jsonl")})
	if err != nil {
		return err
	}
	ds, err := finetune.LoadData(r)
	if err != nil {
		return err
	}
	built, err := finetune.BuildModel(r, finetune.Words(ds.Train))
	if err != nil {
		return err
	}
	m := built.Model
	col, err := finetune.NewTrainCollator(built, 1, false)
	if err != nil {
		return err
	}
	bs := r.Training.TrainBatchSize
	group := func(exs []data.Example, i int) []data.Example {
		return exs[(i*bs)%len(exs) : min((i*bs)%len(exs)+bs, len(exs))]
	}
	trainBatch := func(i int) (*data.Batch, error) {
		b, err := col.Train(group(ds.Train, i))
		if err != nil {
			return nil, err
		}
		return b, finetune.PadTrainBatch(built, b)
	}
	evalBatch := func(i int) (*data.Batch, error) {
		return col.Inference(group(ds.Dev, i), ds.Labels, nil)
	}
	step := func(b *data.Batch) error {
		_, err := m.Step(b)
		m.Store.ZeroGrad()
		return err
	}
	fwd := func(b *data.Batch) error { _, err := m.Forward(b); return err }
	fmt.Printf("set-up of a batch of a new shape (%s, batch %d), first run minus second run of the same batch:\n", m.Arch, bs)
	for _, ph := range []struct {
		name  string
		batch func(int) (*data.Batch, error)
		run   func(*data.Batch) error
	}{{"training step (padded to finetune.TrainBuckets)", trainBatch, step}, {"evaluation forward (exact shapes)", evalBatch, fwd}} {
		var pct, planPct, setupMS, planMS, runMS []float64
		for i := 0; len(pct) < n && i < 4*n; i++ {
			b, err := ph.batch(i)
			if err != nil {
				return fmt.Errorf("%s: batch %d: %w", ph.name, i, err)
			}
			built, plan0 := m.GraphsBuilt(), m.PlanSetupTime()
			t0 := time.Now()
			if err := ph.run(b); err != nil {
				return fmt.Errorf("%s: batch %d: %w", ph.name, i, err)
			}
			first := time.Since(t0)
			plan := (m.PlanSetupTime() - plan0).Seconds() * 1e3
			if m.GraphsBuilt() == built {
				continue // a shape seen before: nothing to set up
			}
			t0 = time.Now()
			if err := ph.run(b); err != nil {
				return fmt.Errorf("%s: batch %d: %w", ph.name, i, err)
			}
			second := time.Since(t0)
			s, run := (first-second).Seconds()*1e3, second.Seconds()*1e3
			setupMS, planMS, runMS = append(setupMS, s), append(planMS, plan), append(runMS, run)
			pct, planPct = append(pct, 100*s/run), append(planPct, 100*plan/run)
		}
		if len(pct) == 0 {
			return fmt.Errorf("%s: no batch of a new shape", ph.name)
		}
		fmt.Printf("  %s, %d new shapes: run (second time) median %.1f ms\n", ph.name, len(pct), median(runMS))
		fmt.Printf("    plan build (Model.PlanSetupTime):  median %6.1f ms = %5.1f%% of the run (max %5.1f%%)\n", median(planMS), median(planPct), slices.Max(planPct))
		fmt.Printf("    first run - second run:            median %6.1f ms = %5.1f%% of the run (max %5.1f%%)\n", median(setupMS), median(pct), slices.Max(pct))
	}
	fmt.Printf("  arena %d MB, %d plans built\n", m.ArenaBytes()>>20, m.GraphsBuilt())
	return nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
