package finetune

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/train"
)

// stepBatches reads the "batches" of every step record of a run's
// metrics.jsonl.
func stepBatches(t *testing.T, out string) [][][]int {
	t.Helper()
	recs, err := train.ReadMetrics(filepath.Join(out, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var got [][][]int
	for _, r := range recs {
		if r.Type == "step" {
			got = append(got, r.Batches)
		}
	}
	return got
}

// training.sampler sequential and order fix the batch order, and
// training.log_batch_indices writes each step's example indices into
// metrics.jsonl (one list per micro-batch).
func TestRunSamplersAndBatchIndices(t *testing.T) {
	// Sequential: examples 0-7, 8-15, ... in two micro-batches of 4.
	out := filepath.Join(t.TempDir(), "seq")
	r := tinyRecipeFor(t, out)
	r.Training.NumSteps, r.Training.EvalEvery, r.Training.Sampler, r.Training.LogBatchIndices = 3, 0, SamplerSequential, true
	r.Training.TrainBatchSize, r.Training.GradientAccumulationSteps = 4, 2
	if _, err := Run(context.Background(), r, Options{}); err != nil {
		t.Fatal(err)
	}
	seq := func(lo int) []int {
		var s []int
		for i := lo; i < lo+4; i++ {
			s = append(s, i)
		}
		return s
	}
	want := [][][]int{{seq(0), seq(4)}, {seq(8), seq(12)}, {seq(16), seq(20)}}
	if got := stepBatches(t, out); !reflect.DeepEqual(got, want) {
		t.Fatalf("sequential batches %v, want %v", got, want)
	}

	// Explicit order, cycling after its last batch.
	dir := t.TempDir()
	order := filepath.Join(dir, "order.txt")
	if err := os.WriteFile(order, []byte("[5, 2, 9]\n[0]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = filepath.Join(dir, "order")
	r = tinyRecipeFor(t, out)
	r.Training.NumSteps, r.Training.EvalEvery, r.Training.Sampler, r.Training.BatchOrder, r.Training.LogBatchIndices = 3, 0, SamplerOrder, order, true
	if _, err := Run(context.Background(), r, Options{}); err != nil {
		t.Fatal(err)
	}
	if got, want := stepBatches(t, out), [][][]int{{{5, 2, 9}}, {{0}}, {{5, 2, 9}}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("explicit-order batches %v, want %v", got, want)
	}

	// Without log_batch_indices the records carry no batches.
	out = filepath.Join(dir, "plain")
	r = tinyRecipeFor(t, out)
	r.Training.NumSteps, r.Training.EvalEvery = 2, 0
	if _, err := Run(context.Background(), r, Options{}); err != nil {
		t.Fatal(err)
	}
	if got := stepBatches(t, out); len(got) != 2 || got[0] != nil || got[1] != nil {
		t.Fatalf("batches logged without log_batch_indices: %v", got)
	}

	// Bad settings.
	if err := os.WriteFile(order, []byte("[0, 100000]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		sampler, order string
		want           string
	}{
		"unknown sampler":     {"random", "", `training.sampler "random": want length, sequential or order`},
		"order without file":  {SamplerOrder, "", `training.sampler "order" needs training.batch_order`},
		"file without order":  {SamplerSequential, order, `training.batch_order ` + order + ` is for training.sampler "order"`},
		"index out of range":  {SamplerOrder, order, "training.batch_order " + order + ": order sampler: batch 0: example index 100000 outside"},
		"missing order file ": {SamplerOrder, filepath.Join(dir, "nope.txt"), "nope.txt"},
	} {
		r := tinyRecipeFor(t, filepath.Join(t.TempDir(), "bad"))
		r.Training.Sampler, r.Training.BatchOrder = c.sampler, c.order
		if _, err := Run(context.Background(), r, Options{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

// data.entity_types gives every training example the same type list, in
// its order, instead of sampled positives and negatives.
func TestRunEntityTypes(t *testing.T) {
	types := []string{"location", "person", "date"}
	r := tinyRecipeFor(t, filepath.Join(t.TempDir(), "run"))
	r.Training.NumSteps, r.Training.EvalEvery = 4, 0
	r.Data.EntityTypes = types
	batches, targets := 0, 0
	post := func(b *data.Batch) error {
		batches++
		for i, l := range b.IDToClass {
			if !slices.Equal(l, types) {
				return fmt.Errorf("example %d has types %q, want %q", i, l, types)
			}
		}
		for _, x := range b.Labels.Data {
			if x != 0 {
				targets++
			}
		}
		return nil
	}
	if _, err := Run(context.Background(), r, Options{PostCollate: post}); err != nil {
		t.Fatal(err)
	}
	if batches != 4 || targets == 0 {
		t.Fatalf("%d batches, %d target cells", batches, targets)
	}
	// Without the key the types are sampled per example: lists differ.
	r = tinyRecipeFor(t, filepath.Join(t.TempDir(), "run"))
	r.Training.NumSteps, r.Training.EvalEvery = 1, 0
	var lists [][]string
	if _, err := Run(context.Background(), r, Options{PostCollate: func(b *data.Batch) error { lists = b.IDToClass; return nil }}); err != nil {
		t.Fatal(err)
	}
	same := true
	for _, l := range lists {
		same = same && slices.Equal(l, types)
	}
	if same {
		t.Fatalf("sampled type lists %v all equal the fixed list", lists)
	}
	// Bad lists.
	for name, c := range map[string]struct {
		types []string
		want  string
	}{
		"no known type": {[]string{"nothing_here"}, `data.entity_types ["nothing_here"]: none of the`},
		"duplicate":     {[]string{"person", "person"}, `data.entity_types: "person" is listed twice`},
		"empty name":    {[]string{"person", " "}, "data.entity_types[1] is empty"},
		"empty list":    {[]string{}, "data.entity_types is an empty list"},
	} {
		r := tinyRecipeFor(t, filepath.Join(t.TempDir(), "bad"))
		r.Data.EntityTypes = c.types
		if _, err := Run(context.Background(), r, Options{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	// From YAML.
	rr, err := ParseRecipe([]byte("data:\n  entity_types: [person, date]\n"), "r.yaml")
	if err != nil || !slices.Equal(rr.Data.EntityTypes, []string{"person", "date"}) {
		t.Fatalf("entity_types from YAML: %v %v", rr, err)
	}
}
