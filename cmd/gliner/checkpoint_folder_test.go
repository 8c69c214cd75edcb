package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/finetune"
	"github.com/gliner-go/gliner/internal/testutil"
)

const tinyRecipe = `model:
  encoder_config: {model_type: deberta-v2, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2,
    intermediate_size: 64, max_position_embeddings: 512, relative_attention: true, position_buckets: 32,
    max_relative_positions: -1, pos_att_type: [p2c, c2p], norm_rel_ebd: layer_norm, share_att_key: true,
    position_biased_input: false, type_vocab_size: 0, hidden_dropout_prob: 0.0, attention_probs_dropout_prob: 0.0}
  hidden_size: 32
  max_width: 4
  max_len: 64
  dropout: 0.0
data: {train_data: TRAIN, val_data: DEV}
training: {num_steps: 10, train_batch_size: 8, eval_every: 5, lr_encoder: 3.0e-3, lr_others: 1.0e-2, seed: 3, log_every: 0, output_dir: OUT}
`

// gliner export, predict and evaluate take a training checkpoint-N/ and
// best/ (issue 12 C3: they held weights only and were refused).
func TestCommandsTakeCheckpointFolders(t *testing.T) {
	root := testutil.RepoRoot(t)
	tmp := t.TempDir()
	out := filepath.Join(tmp, "run")
	dev := filepath.Join(root, "testdata/sample/dev.jsonl")
	y := strings.NewReplacer("TRAIN", filepath.Join(root, "testdata/sample/train.jsonl"), "DEV", dev, "OUT", out).Replace(tinyRecipe)
	r, err := finetune.ParseRecipe([]byte(y), "tiny.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := finetune.Run(context.Background(), r, finetune.Options{}); err != nil {
		t.Fatal(err)
	}
	in := writeFile(t, tmp, "in.txt", "Ann Lee visited Oslo .\n")
	for _, sub := range []string{"checkpoint-10", "best"} {
		dir := filepath.Join(out, sub)
		exp := filepath.Join(tmp, "export-"+sub)
		if code, _, errs := runCLI(t, "export", "--model", dir, "--output", exp); code != 0 {
			t.Errorf("export %s: %s", sub, errs)
		} else if _, err := os.Stat(filepath.Join(exp, "gliner_config.json")); err != nil {
			t.Errorf("export %s: %v", sub, err)
		}
		if code, stdout, errs := runCLI(t, "predict", "--model", dir, "--input", in, "--labels", "person,location", "--output", "-"); code != 0 || !strings.HasPrefix(stdout, `{"entities":[`) {
			t.Errorf("predict %s: code %d, %q, %s", sub, code, stdout, errs)
		}
		if code, stdout, errs := runCLI(t, "evaluate", "--model", dir, "--data", dev); code != 0 || !strings.Contains(stdout, "80 documents") {
			t.Errorf("evaluate %s: code %d, %q, %s", sub, code, stdout, errs)
		}
	}
}
