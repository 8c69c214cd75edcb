// Command memrun writes the data and recipe of the engine's memory run
// (issue 11): 200 CrossNER-style training sentences of 10-84 words with 17
// entity types, a 450-sentence dev set, and a recipe training a
// UniEncoderSpan over a random DeBERTa-v2 encoder (hidden 128, 2 layers)
// for 100 steps without evaluation. Output is deterministic (fixed PCG
// seeds). scripts/memory_vs_reference.sh runs it against the reference.
//
// With -setup it instead measures, on that data and model, what a batch of
// a shape not seen before costs to set up (building and compiling its plan,
// growing the arena): each of the first batches is run twice, the first
// time on a new shape, and the difference is the set-up. It does so for a
// training step (finetune's collator and shape padding, as finetune.Run
// trains: also self-training's student) and for an evaluation forward pass
// (exact shapes, every batch a new shape: what gliner evaluate, gliner
// predict and self-training's teacher run with --buckets=false).
//
//	go run ./scripts/memrun -out /tmp/memrun
//	go run ./scripts/memrun -setup /tmp/memrun
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// The 17 types of CrossNER's AI domain.
var labels = []string{"algorithm", "conference", "country", "field", "location", "metric", "misc",
	"organisation", "person", "product", "programming language", "researcher", "task", "university",
	"event", "award", "book"}

var common = strings.Fields(`the of and to in a is that for on with as by was at from this be are an it
which or were its has have been their not also but can more first other new used such two most one
into these between some after when they than both based system method model results using time data
work during known well later its research paper study approach proposed learning network analysis`)

var syllables = strings.Fields("ka ri to ne sa mo lu vi de ran gel tor mi na be lo shi ven qua dor fe zu pol tan")

func word(r *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteString(syllables[r.IntN(len(syllables))])
	}
	return b.String()
}

type example struct {
	Words []string `json:"tokenized_text"`
	NER   [][3]any `json:"ner"`
}

func sentence(r *rand.Rand) example {
	n := 10 + r.IntN(75) // 10..84 words
	ws := make([]string, n)
	for i := range ws {
		if r.Float64() < 0.15 {
			ws[i] = word(r, 2+r.IntN(3)) // a rare word: several sub-tokens
		} else {
			ws[i] = common[r.IntN(len(common))]
		}
	}
	var ner [][3]any
	for i := 0; i < n; {
		if r.Float64() < 0.12 {
			w := 1 + r.IntN(3)
			if i+w > n {
				break
			}
			for j := i; j < i+w; j++ {
				ws[j] = strings.ToUpper(word(r, 1)[:1]) + word(r, 1+r.IntN(2))
			}
			ner = append(ner, [3]any{i, i + w - 1, labels[r.IntN(len(labels))]})
			i += w + 1
			continue
		}
		i++
	}
	if ner == nil {
		ner = [][3]any{}
	}
	return example{Words: ws, NER: ner}
}

func write(path string, n int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 11))
	var b strings.Builder
	for range n {
		line, err := json.Marshal(sentence(r))
		if err != nil {
			return err
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

const recipe = `# Memory run of issue 11 (written by scripts/memrun).
model:
  encoder_config:
    model_type: deberta-v2
    hidden_size: 128
    num_hidden_layers: 2
    num_attention_heads: 4
    intermediate_size: 512
    hidden_act: gelu
    max_position_embeddings: 512
    relative_attention: true
    position_buckets: 256
    max_relative_positions: -1
    pos_att_type: [p2c, c2p]
    norm_rel_ebd: layer_norm
    share_att_key: true
    position_biased_input: false
    type_vocab_size: 0
    hidden_dropout_prob: 0.1
    attention_probs_dropout_prob: 0.1
    layer_norm_eps: 1.0e-7
    pad_token_id: 0
  vocab:
    lowercase: true
    max_words: 150
  name: memrun
  max_width: 12
  hidden_size: 128
  dropout: 0.4
  max_types: 25
  max_len: 384
  max_neg_type_ratio: 1
  num_rnn_layers: 1
data:
  train_data: %[1]s/train.jsonl
  val_data: none
training:
  num_steps: 100
  train_batch_size: 8
  eval_every: 0
  save_every: 100
  lr_encoder: 1.0e-5
  lr_others: 3.0e-5
  seed: 42
  log_every: 10
  output_dir: %[1]s/run
`

func main() {
	out := flag.String("out", "", "folder to write train.jsonl, dev.jsonl and recipe.yaml into")
	setupDir := flag.String("setup", "", "measure the set-up cost of new batch shapes on the data and recipe in this folder")
	batches := flag.Int("batches", 12, "with -setup: batches measured per phase")
	flag.Parse()
	if *setupDir != "" {
		if err := setup(*setupDir, *batches); err != nil {
			fmt.Fprintln(os.Stderr, "memrun:", err)
			os.Exit(1)
		}
		return
	}
	if *out == "" {
		fmt.Fprintln(os.Stderr, "memrun: -out or -setup is required")
		os.Exit(2)
	}
	dir, err := filepath.Abs(*out)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err == nil {
		err = write(filepath.Join(dir, "train.jsonl"), 200, 1)
	}
	if err == nil {
		err = write(filepath.Join(dir, "dev.jsonl"), 450, 2)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "recipe.yaml"), []byte(fmt.Sprintf(recipe, dir)), 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "memrun:", err)
		os.Exit(1)
	}
}
