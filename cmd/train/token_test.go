package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/models"
)

// `train --recipe recipes/uni_token_sample.yaml` and
// recipes/bi_token_sample.yaml (shrunk with --set) train their token-level
// models, print the final dev F1 line and write final/ holding a model of
// the recipe's architecture.
func TestTrainTokenRecipes(t *testing.T) {
	root := testutil.RepoRoot(t)
	t.Chdir(root) // the recipes' data paths are relative to the repository root
	for _, c := range []struct {
		recipe string
		want   models.Architecture
	}{
		{"uni_token_sample.yaml", models.UniEncoderToken},
		{"bi_token_sample.yaml", models.BiEncoderToken},
	} {
		t.Run(c.recipe, func(t *testing.T) {
			out := t.TempDir()
			args := []string{"--recipe", filepath.Join(root, "recipes", c.recipe), "--quiet",
				"--set", "training.output_dir=" + out, "--set", "training.num_steps=8", "--set", "training.eval_every=4",
				"--set", "model.encoder_config.hidden_size=32", "--set", "model.encoder_config.intermediate_size=64", "--set", "model.hidden_size=32"}
			var stdout, stderr bytes.Buffer
			if code := run(args, &stdout, &stderr); code != 0 {
				t.Fatalf("code %d, stderr %s", code, stderr.String())
			}
			for _, re := range []string{`steps 8 \(max_steps\), model exported to .*/final`, `(?m)^dev F1 [0-9.]+ \(precision`, `micro +[0-9]+ +[0-9]+ +181 `} {
				if !regexp.MustCompile(re).MatchString(stdout.String()) {
					t.Errorf("output lacks %q:\n%s", re, stdout.String())
				}
			}
			m, err := models.Load(filepath.Join(out, "final"))
			if err != nil {
				t.Fatal(err)
			}
			if m.Arch != c.want {
				t.Fatalf("final/ holds a %v, want %v", m.Arch, c.want)
			}
		})
	}
}
