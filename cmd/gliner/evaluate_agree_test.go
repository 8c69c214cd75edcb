package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/finetune"
	"github.com/gliner-go/gliner/internal/testutil"
)

// TestEvaluateAgreesWithTraining: `gliner evaluate` with its defaults
// scores a trained model exactly as the training run's final dev
// evaluation did (same TP, predicted, gold, so the same F1), and --json
// carries those numbers.
func TestEvaluateAgreesWithTraining(t *testing.T) {
	root := testutil.RepoRoot(t)
	dev := filepath.Join(root, "testdata/sample/dev.jsonl")
	r, err := finetune.LoadRecipe(filepath.Join(root, "recipes/uni_span_sample.yaml"), []string{
		"data.train_data=" + filepath.Join(root, "testdata/sample/train.jsonl"), "data.val_data=" + dev,
		"model.encoder_config.hidden_size=32", "model.encoder_config.intermediate_size=64", "model.encoder_config.num_hidden_layers=1",
		"model.hidden_size=32", "training.num_steps=200", "training.eval_every=200", "training.log_every=0",
		"training.output_dir=" + filepath.Join(t.TempDir(), "run"),
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := finetune.Run(context.Background(), r, finetune.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := res.Dev.Micro()
	if want.TP == 0 || want.Predicted == 0 {
		t.Fatalf("the trained model scores %+v: too weak for the test", want)
	}
	code, stdout, stderr := runCLI(t, "evaluate", "--model", res.FinalDir, "--data", dev, "--json")
	if code != 0 {
		t.Fatalf("code %d: %s", code, stderr)
	}
	var ev jsonEvaluation
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("--json output %q: %v", stdout, err)
	}
	got := ev.Micro
	if got.TP != want.TP || got.Predicted != want.Predicted || got.Gold != want.Gold || got.F1 != want.F1 ||
		got.Precision != want.Precision || got.Recall != want.Recall || got.Label != "micro" {
		t.Fatalf("evaluate --json micro %+v; the training run's final dev evaluation %+v", got, want)
	}
	if !ev.FlatNER || ev.Threshold != 0.5 || ev.Documents != res.Dev.Docs() || ev.Data != dev || ev.Relations != nil {
		t.Fatalf("--json header %+v", ev)
	}
	per := res.Dev.PerLabel()
	if len(ev.PerLabel) != len(per) || len(ev.Labels) != len(per) {
		t.Fatalf("--json per-label %d rows, labels %v; want %d", len(ev.PerLabel), ev.Labels, len(per))
	}
	for i, s := range per {
		if g := ev.PerLabel[i]; g.Label != s.Label || g.TP != s.TP || g.Predicted != s.Predicted || g.Gold != s.Gold || g.F1 != s.F1 {
			t.Errorf("per-label row %d: %+v, training %+v", i, g, s)
		}
	}
	// The table output says the same F1, and nested decoding is asked for
	// with --flat-ner=false.
	code, stdout, stderr = runCLI(t, "evaluate", "--model", res.FinalDir, "--data", dev, "--flat-ner=false", "--json")
	if code != 0 {
		t.Fatalf("code %d: %s", code, stderr)
	}
	var nested jsonEvaluation
	if err := json.Unmarshal([]byte(stdout), &nested); err != nil || nested.FlatNER {
		t.Fatalf("--flat-ner=false --json: %v, %q", err, stdout)
	}
	if nested.Micro == ev.Micro {
		t.Fatalf("nested decoding scores as flat (%+v): the test cannot tell the defaults apart", ev.Micro)
	}
}
