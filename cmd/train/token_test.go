package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/internal/testutil/hfencoder"
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

// `train --recipe recipes/bi_token_sample.yaml` with a Hugging Face text
// encoder folder (--set model.model_name) and a Hugging Face labels encoder
// folder (--set model.bi_encoder.labels_encoder), each replacing the
// recipe's random one, trains BiEncoderToken (and BiEncoderSpan with
// span_mode markerV0) and exports final/ with the labels folder's
// tokenizer in labels_tokenizer/.
func TestTrainBiEncoderFromEncoderFolders(t *testing.T) {
	root := testutil.RepoRoot(t)
	t.Chdir(root)
	text, _ := hfencoder.Write(t, hfencoder.Folder{Fixture: "bi_token_deberta", Prefix: models.TextEncoderPrefix, Config: "config.json", Wrapper: "deberta."})
	labels, _ := hfencoder.Write(t, hfencoder.Folder{Fixture: "bi_token_deberta", Prefix: models.LabelsEncoderPrefix, Config: "labels_encoder_config.json"})
	for _, c := range []struct {
		spanMode string
		want     models.Architecture
	}{
		{"token_level", models.BiEncoderToken},
		{"markerV0", models.BiEncoderSpan},
	} {
		t.Run(c.spanMode, func(t *testing.T) {
			out := t.TempDir()
			args := []string{"--recipe", filepath.Join(root, "recipes", "bi_token_sample.yaml"), "--quiet",
				"--set", "model.model_name=" + text, "--set", "model.bi_encoder.labels_encoder=" + labels,
				"--set", "model.span_mode=" + c.spanMode, "--set", "model.max_len=12", "--set", "model.hidden_size=32",
				"--set", "training.output_dir=" + out, "--set", "training.num_steps=8", "--set", "training.eval_every=4",
				"--set", "training.lr_encoder=1e-5", "--set", "training.lr_others=1e-4"}
			var stdout, stderr bytes.Buffer
			if code := run(args, &stdout, &stderr); code != 0 {
				t.Fatalf("code %d, stderr %s", code, stderr.String())
			}
			for _, re := range []string{`steps 8 \(max_steps\), model exported to .*/final`, `(?m)^dev F1 [0-9.]+ \(precision`} {
				if !regexp.MustCompile(re).MatchString(stdout.String()) {
					t.Errorf("output lacks %q:\n%s", re, stdout.String())
				}
			}
			m, err := models.Load(filepath.Join(out, "final"))
			if err != nil {
				t.Fatal(err)
			}
			if m.Arch != c.want || m.Cfg.ModelName != text || *m.Cfg.LabelsEncoder != labels || m.LabelsEncCfg.VocabSize != 320 {
				t.Fatalf("final/ holds a %v (model_name %q, labels_encoder %q), want %v from the folders", m.Arch, m.Cfg.ModelName, *m.Cfg.LabelsEncoder, c.want)
			}
			a, _ := os.ReadFile(filepath.Join(labels, "vocab.txt"))
			b, err := os.ReadFile(filepath.Join(out, "final", models.LabelsTokenizerDir, "vocab.txt"))
			if err != nil || !bytes.Equal(a, b) {
				t.Fatalf("final/labels_tokenizer/vocab.txt is not the labels folder's (%v)", err)
			}
		})
	}
}

// `train --set model.prev_path=` a bi-encoder folder as the reference
// writes it (class_token_index and vocab_size -1, text tokenizer of 323
// ids over 320 embedding rows, no labels_tokenizer/), with the labels
// encoder's folder given by --set model.bi_encoder.labels_encoder, trains
// BiEncoderToken and exports final/, which reloads with the labels
// folder's tokenizer in labels_tokenizer/.
func TestTrainFromReferenceBiEncoderFolder(t *testing.T) {
	root := testutil.RepoRoot(t)
	t.Chdir(root)
	src := testutil.Fixture(t, "bi_token_deberta")
	dir, labels := filepath.Join(t.TempDir(), "model"), filepath.Join(t.TempDir(), "labels")
	cp := func(from, to string) {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"gliner_config.json", "model.safetensors"} {
		cp(filepath.Join(src, f), filepath.Join(dir, f))
	}
	for _, f := range []string{"added_tokens.json", "special_tokens_map.json", "tokenizer_config.json", "vocab.txt"} {
		cp(filepath.Join(src, "tokenizer", f), filepath.Join(dir, f))
	}
	cp(filepath.Join(src, "labels_encoder_config.json"), filepath.Join(labels, "config.json"))
	cp(filepath.Join(src, "vocab.txt"), filepath.Join(labels, "vocab.txt"))
	out := t.TempDir()
	args := []string{"--recipe", filepath.Join(root, "recipes", "bi_token_sample.yaml"), "--quiet",
		"--set", "model.prev_path=" + dir, "--set", "model.bi_encoder.labels_encoder=" + labels, "--set", "model.max_len=12",
		"--set", "training.output_dir=" + out, "--set", "training.num_steps=4", "--set", "training.eval_every=2",
		"--set", "training.lr_encoder=1e-5", "--set", "training.lr_others=1e-4"}
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("code %d, stderr %s", code, stderr.String())
	}
	if re := `steps 4 \(max_steps\), model exported to .*/final`; !regexp.MustCompile(re).MatchString(stdout.String()) {
		t.Errorf("output lacks %q:\n%s", re, stdout.String())
	}
	m, err := models.Load(filepath.Join(out, "final"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Arch != models.BiEncoderToken || m.LabelsEncCfg.VocabSize != 320 {
		t.Fatalf("final/ holds a %v, want BiEncoderToken", m.Arch)
	}
	a, _ := os.ReadFile(filepath.Join(labels, "vocab.txt"))
	b, err := os.ReadFile(filepath.Join(out, "final", models.LabelsTokenizerDir, "vocab.txt"))
	if err != nil || !bytes.Equal(a, b) {
		t.Fatalf("final/labels_tokenizer/vocab.txt is not the labels folder's (%v)", err)
	}
}
