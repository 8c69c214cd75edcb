package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/internal/testutil"
)

// `train --recipe recipes/bi_encoder_two_stage.yaml` (shrunk with --set)
// runs both stages and prints each stage's dev F1; a freeze prefix that
// matches no parameter fails naming it.
func TestTrainTwoStageRecipe(t *testing.T) {
	root := testutil.RepoRoot(t)
	// The recipe's data paths are relative to the repository root.
	t.Chdir(root)
	out := t.TempDir()
	stages := `[{name: s1, train_data: testdata/sample/train_weak.jsonl, num_steps: 6}, ` +
		`{name: s2, train_data: testdata/sample/train.jsonl, num_steps: 6, freeze: [token_rep_layer.labels_encoder]}]`
	args := []string{"--recipe", filepath.Join(root, "recipes", "bi_encoder_two_stage.yaml"), "--quiet",
		"--set", "training.output_dir=" + out, "--set", "training.eval_every=3", "--set", "stages=" + stages}
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("code %d, stderr %s", code, stderr.String())
	}
	for _, re := range []string{`stage s1: steps 6 \(max_steps\), model exported to .*s1/final`, `stage s1 dev F1 [0-9.]+`,
		`stage s2: steps 6 \(max_steps\), model exported to .*s2/final`, `stage s2 dev F1 [0-9.]+`, `micro +[0-9]+`} {
		if !regexp.MustCompile(re).MatchString(stdout.String()) {
			t.Errorf("output lacks %q:\n%s", re, stdout.String())
		}
	}
	bad := strings.Replace(stages, "token_rep_layer.labels_encoder", "token_rep_layer.labels_encodr", 1)
	args[len(args)-1] = "stages=" + bad
	args[4] = "training.output_dir=" + t.TempDir()
	stdout.Reset()
	stderr.Reset()
	if code := run(args, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), `"token_rep_layer.labels_encodr" matches no parameter`) {
		t.Errorf("freeze typo: code %d, stderr %s", code, stderr.String())
	}
}
