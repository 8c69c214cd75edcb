package finetune

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/losses"
	"github.com/gliner-go/gliner/models"
	"github.com/gliner-go/gliner/train"
)

// tinyRecipe trains a very small model on the sample data; TRAIN, DEV and
// OUT are replaced by tinyRecipeFor.
const tinyRecipe = `model:
  encoder_config:
    model_type: deberta-v2
    hidden_size: 32
    num_hidden_layers: 1
    num_attention_heads: 2
    intermediate_size: 64
    max_position_embeddings: 512
    relative_attention: true
    position_buckets: 32
    max_relative_positions: -1
    pos_att_type: [p2c, c2p]
    norm_rel_ebd: layer_norm
    share_att_key: true
    position_biased_input: false
    type_vocab_size: 0
    hidden_dropout_prob: 0.0
    attention_probs_dropout_prob: 0.0
  hidden_size: 32
  max_width: 4
  max_len: 64
  dropout: 0.0
  max_types: 25
data:
  train_data: TRAIN
  val_data: DEV
training:
  num_steps: 30
  train_batch_size: 8
  eval_every: 10
  save_total_limit: 2
  lr_encoder: 3.0e-3
  lr_others: 1.0e-2
  weight_decay_encoder: 0.01
  seed: 3
  log_every: 0
  output_dir: OUT
`

func tinyRecipeFor(t *testing.T, out string) *Recipe {
	root := testutil.RepoRoot(t)
	y := strings.NewReplacer("TRAIN", filepath.Join(root, "testdata/sample/train.jsonl"),
		"DEV", filepath.Join(root, "testdata/sample/dev.jsonl"), "OUT", out).Replace(tinyRecipe)
	r, err := ParseRecipe([]byte(y), "tiny.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRunTrainsEvaluatesAndExports(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	r := tinyRecipeFor(t, out)
	res, err := Run(context.Background(), r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Train.Steps != 30 || res.Train.Reason != train.ReasonMaxSteps || res.Source != FromRandomInit {
		t.Fatalf("result %+v", res.Train)
	}
	recs, err := train.ReadMetrics(filepath.Join(out, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var losses []float64
	var evals int
	for _, rec := range recs {
		switch rec.Type {
		case "step":
			losses = append(losses, *rec.Loss)
		case "eval":
			evals++
			if rec.F1 == nil || len(rec.PerLabel) != 6 {
				t.Fatalf("eval record %+v: want micro F1 and the 6 dev labels", rec)
			}
		}
	}
	if len(losses) != 30 || evals != 3 {
		t.Fatalf("%d step and %d eval records, want 30 and 3", len(losses), evals)
	}
	mean := func(xs []float64) float64 {
		s := 0.0
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs))
	}
	first, last := mean(losses[:5]), mean(losses[25:])
	if !(last < 0.5*first) {
		t.Fatalf("loss did not fall: first steps %.3f, last steps %.3f", first, last)
	}
	for _, f := range []string{PlotFile, RecipeFile, "checkpoint-20/model.safetensors", "checkpoint-30/optimizer.safetensors",
		"checkpoint-30/trainer_state.json", "best/model.safetensors", FinalDir + "/gliner_config.json"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", f, err)
		}
	}
	// save_total_limit 2: the last two, plus the best one when older.
	_, steps, err := train.Checkpoints(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(steps); n < 2 || n > 3 || steps[n-2] != 20 || steps[n-1] != 30 || (n == 3 && steps[0] != res.Train.BestStep) {
		t.Fatalf("checkpoints %v (best step %d)", steps, res.Train.BestStep)
	}
	// The exported folder is a GLiNER model holding the best weights, and
	// its dev evaluation is the best one of the run.
	m, err := models.Load(res.FinalDir)
	if err != nil {
		t.Fatal(err)
	}
	bm, err := models.Load(res.FinalDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := train.LoadWeights(filepath.Join(out, "best"), bm.Store); err != nil {
		t.Fatal(err)
	}
	for i, p := range m.Store.Params() {
		if !equalF32(p.Data, bm.Store.Params()[i].Data) {
			t.Fatalf("%s: exported weights are not the best ones", p.Name)
		}
	}
	if _, err := LoadTokenizer(res.FinalDir); err != nil {
		t.Fatal(err)
	}
	if res.Dev == nil || res.Dev.Micro().F1 != res.Train.BestF1 {
		t.Fatalf("final dev F1 %v, best during training %v", res.Dev, res.Train.BestF1)
	}

	// A second run into the same output_dir is refused without Resume;
	// with it, the finished run resumes at step 30 and does nothing more.
	if _, err := Run(context.Background(), r, Options{}); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("rerun without resume: %v", err)
	}
	res2, err := Run(context.Background(), r, Options{Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if res2.ResumedFrom != filepath.Join(out, "checkpoint-30") || res2.Dev.Micro() != res.Dev.Micro() {
		t.Fatalf("resume of a finished run: from %q, dev %+v, want %+v", res2.ResumedFrom, res2.Dev.Micro(), res.Dev.Micro())
	}
}

// Gradient accumulation: two micro-batches of 4 at scale 1/2 (the loss is
// a sum, so each half is weighted by 1/2) train without error, and the
// loss still falls.
func TestRunGradientAccumulation(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	r := tinyRecipeFor(t, out)
	for _, s := range []string{"training.train_batch_size=4", "training.gradient_accumulation_steps=2",
		"training.num_steps=12", "training.eval_every=0", "data.val_data=none"} {
		if err := r.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Run(context.Background(), r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Dev != nil || res.Train.Steps != 12 {
		t.Fatalf("result %+v", res)
	}
	recs, err := train.ReadMetrics(filepath.Join(out, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	if first, last := *recs[0].Loss, *recs[len(recs)-1].Loss; !(last < first) {
		t.Fatalf("loss %g → %g", first, last)
	}
	if _, err := models.Load(res.FinalDir); err != nil {
		t.Fatal(err)
	}
}

// freeze_components [text_encoder]: the encoder's weights leave training
// unchanged, the head's change.
func TestRunFreezeTextEncoder(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	r := tinyRecipeFor(t, out)
	for _, s := range []string{"training.freeze_components=[text_encoder]", "training.num_steps=4",
		"training.eval_every=0", "data.val_data=none"} {
		if err := r.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Run(context.Background(), r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := LoadData(r)
	if err != nil {
		t.Fatal(err)
	}
	init, err := BuildModel(r, Words(ds.Train))
	if err != nil {
		t.Fatal(err)
	}
	final, err := models.Load(res.FinalDir)
	if err != nil {
		t.Fatal(err)
	}
	var enc, head int
	for i, p := range final.Store.Params() {
		same := equalF32(p.Data, init.Model.Store.Params()[i].Data)
		if strings.HasPrefix(p.Name, models.TextEncoderPrefix+".") {
			enc++
			if !same {
				t.Fatalf("frozen %s changed", p.Name)
			}
		} else if !same {
			head++
		}
	}
	if enc == 0 || head == 0 {
		t.Fatalf("%d encoder parameters kept, %d head parameters changed", enc, head)
	}
}

func TestLoadDataLongTexts(t *testing.T) {
	r := tinyRecipeFor(t, t.TempDir())
	if err := r.Set("model.max_len=6"); err != nil {
		t.Fatal(err)
	}
	ds, err := LoadData(r)
	if err != nil {
		t.Fatal(err)
	}
	// Split (the default): every window holds at most 6 words and every
	// long text is counted.
	if ds.TrainReport.Read != 320 || ds.TrainReport.Window.Long == 0 || len(ds.Train) != 320-ds.TrainReport.Window.Long+ds.TrainReport.Window.Windows {
		t.Fatalf("report %s, %d examples", ds.TrainReport.String(), len(ds.Train))
	}
	for _, ex := range ds.Train {
		if len(ex.Words) > 6 {
			t.Fatalf("%s has %d words", ex.Source, len(ex.Words))
		}
	}
	if len(ds.Labels) != 6 {
		t.Fatalf("dev labels %v", ds.Labels)
	}
	if err := r.Set("data.long_texts=reject"); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadData(r); err == nil || !strings.Contains(err.Error(), "train.jsonl:1") || !strings.Contains(err.Error(), "more than the maximum 6") {
		t.Fatalf("reject: %v", err)
	}
}

// data.format names the format of a file whose extension says otherwise
// (issue 12 B5: a CoNLL file named train.txt was read as raw text, one
// document per line and no entities).
func TestLoadDataFormatKey(t *testing.T) {
	dir := t.TempDir()
	r := tinyRecipeFor(t, dir)
	conll := "Alice B-person\nmet O\nBob B-person\n\nParis B-location\nis O\nbig O\n"
	p, dev := filepath.Join(dir, "train.txt"), filepath.Join(dir, "dev.txt")
	for _, f := range []string{p, dev} {
		if err := os.WriteFile(f, []byte(conll), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []string{"data.train_data=" + p, "data.val_data=" + dev, "data.format=conll"} {
		if err := r.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := LoadData(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Train) != 2 || len(ds.Train[0].Entities) != 2 || ds.Train[1].Entities[0].Label != "location" || len(ds.Dev) != 2 {
		t.Fatalf("read %d examples: %+v", len(ds.Train), ds.Train)
	}
	if err := r.Set("data.format=cnll"); err == nil {
		if err = r.Validate(); err == nil || !strings.Contains(err.Error(), "data.format") {
			t.Errorf("unknown format accepted: %v", err)
		}
	}
}

// Options.Train replaces the training file and Options.PostCollate sees
// every training batch: with every label cell set to −100 (ignored) the
// loss is 0 and the model does not move.
func TestRunInMemoryTrainAndPostCollate(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	r := tinyRecipeFor(t, out)
	for _, s := range []string{"training.num_steps=4", "training.eval_every=0", "data.val_data=none"} {
		if err := r.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	exs, err := data.ReadFile(r.Data.TrainData, data.ReadOptions{}, data.FailFast, &data.Report{})
	if err != nil {
		t.Fatal(err)
	}
	r.Data.TrainData = "(in memory)"
	calls := 0
	res, err := Run(context.Background(), r, Options{Train: exs[:40], PostCollate: func(b *data.Batch) error {
		calls++
		for i := range b.Labels.Data {
			b.Labels.Data[i] = losses.IgnoreIndex
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 4 || res.Train.Steps != 4 {
		t.Fatalf("%d post-collate calls for %d steps", calls, res.Train.Steps)
	}
	recs, err := train.ReadMetrics(filepath.Join(out, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if rec.Loss != nil && *rec.Loss != 0 {
			t.Fatalf("step %d: loss %g with every label ignored", rec.Step, *rec.Loss)
		}
	}
}

// Training batches are padded to fine buckets: few shapes, little padding.
func TestTrainBuckets(t *testing.T) {
	for _, c := range []struct{ t, w, c, T, W, C int }{
		{17, 9, 5, 32, 16, 8}, {16, 8, 4, 16, 8, 4}, {500, 300, 25, 512, 304, 28},
	} {
		T, W, C, err := trainBuckets.Round(c.t, c.w, c.c)
		if err != nil || T != c.T || W != c.W || C != c.C {
			t.Errorf("Round(%d,%d,%d) = (%d,%d,%d, %v), want (%d,%d,%d)", c.t, c.w, c.c, T, W, C, err, c.T, c.W, c.C)
		}
	}
}

// A learning rate far too large (1 for every group) kills the model within
// a few steps: the gradient norm is exactly 0 from then on. The run stops
// with a report, in the error and in train.log, and exports nothing.
func TestRunStopsOnDeadGradients(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	r := tinyRecipeFor(t, out)
	r.Training.LREncoder, r.Training.LROthers, r.Training.NumSteps = 1, 1, 40
	lg, closeLog, err := NewLogger(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), r, Options{Logger: lg})
	closeLog()
	var de *train.DeadGradientError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want a DeadGradientError", err)
	}
	if de.Since > 10 || de.Steps != train.DefaultZeroGradSteps {
		t.Fatalf("dead since step %d for %d steps", de.Since, de.Steps)
	}
	if _, err := os.Stat(filepath.Join(out, FinalDir)); !os.IsNotExist(err) {
		t.Fatalf("a dead run exported %s (%v)", FinalDir, err)
	}
	log, err := os.ReadFile(filepath.Join(out, LogFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), `"msg":"training stopped"`) || !strings.Contains(string(log), "gradient norm is exactly 0") {
		t.Fatalf("train.log lacks the stop report:\n%s", log)
	}
}

// TestEvaluateReturnsPredictions: Evaluate returns, besides the metrics,
// the predictions they counted: one list per dev example, flat (no two
// spans of a text overlap), above the threshold, and scoring them again
// against the gold entities gives the same counts as the run's final
// evaluation.
func TestEvaluateReturnsPredictions(t *testing.T) {
	r := tinyRecipeFor(t, filepath.Join(t.TempDir(), "run"))
	r.Training.NumSteps, r.Training.EvalEvery = 200, 200
	res, err := Run(context.Background(), r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := res.Dev
	m, err := models.Load(res.FinalDir)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := LoadData(r)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := LoadTokenizer(filepath.Join(r.Training.OutputDir, FinalDir))
	if err != nil {
		t.Fatal(err)
	}
	col, err := data.NewCollator(collatorConfig(m, tok), tok, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	met, pred, err := Evaluate(m, col, ds.Dev, ds.Labels, 8, r.Training.EvalThreshold)
	if err != nil {
		t.Fatal(err)
	}
	if len(pred) != len(ds.Dev) {
		t.Fatalf("%d prediction lists for %d dev examples", len(pred), len(ds.Dev))
	}
	again := decode.NewMetrics()
	n := 0
	for i, ps := range pred {
		var gold []decode.Span
		for _, e := range ds.Dev[i].Entities {
			gold = append(gold, decode.Span{Start: e.Start, End: e.End, Label: e.Label})
		}
		for j, p := range ps {
			if !(float64(p.Score) > r.Training.EvalThreshold) || p.Start < 0 || p.End < p.Start || p.End >= len(ds.Dev[i].Words) {
				t.Fatalf("example %d: prediction %+v out of range or under the threshold", i, p)
			}
			for _, q := range ps[:j] {
				if p.Start <= q.End && q.Start <= p.End {
					t.Fatalf("example %d: predictions %+v and %+v overlap in a flat evaluation", i, q, p)
				}
			}
		}
		n += len(ps)
		again.Add(ps, gold)
	}
	if n == 0 || want.Micro().TP == 0 || met.Micro() != want.Micro() || again.Micro() != want.Micro() {
		t.Fatalf("%d predictions; Evaluate %+v, rescored predictions %+v, run's final evaluation %+v", n, met.Micro(), again.Micro(), want.Micro())
	}
}
