package finetune

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/gliner-go/gliner/infer"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/models"
	"github.com/gliner-go/gliner/train"
)

// checkTokenRun checks a finished token-model run: the exported final/
// folder is a model of architecture want; its dev F1 is the best one of
// the run and at least minF1 (the dev evaluation decodes tokens inside
// each text) over gold dev entities; with viaInfer, infer's evaluation of
// the folder (flat, batches of 8, as training evaluates) agrees with it.
func checkTokenRun(t *testing.T, res *Result, want models.Architecture, minF1 float64, gold int, viaInfer bool) {
	t.Helper()
	m, err := models.Load(res.FinalDir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Arch != want {
		t.Fatalf("exported model is %v, want %v", m.Arch, want)
	}
	if res.Dev == nil {
		t.Fatal("no final dev evaluation")
	}
	mi := res.Dev.Micro()
	if mi.F1 != res.Train.BestF1 || mi.F1 < minF1 || mi.Gold != gold {
		t.Fatalf("final dev %+v, best during training %v, want F1 ≥ %v over the %d dev entities", mi, res.Train.BestF1, minF1, gold)
	}
	if !viaInfer {
		return
	}
	p, err := infer.Load(res.FinalDir)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := LoadData(tinyRecipeFor(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	o := infer.EvalOptions()
	o.FlatNER, o.BatchSize = true, 8
	got, err := p.Evaluate(ds.Dev, ds.Labels, o)
	if err != nil {
		t.Fatal(err)
	}
	if g := got.Micro(); g.TP != mi.TP || g.Predicted != mi.Predicted || g.Gold != mi.Gold {
		t.Fatalf("infer evaluates the exported folder as %+v, training's final evaluation %+v", g, mi)
	}
}

// UniEncoderToken trains through Run from a random encoder (token-level
// evaluation during training, best model, export), then continues from the
// exported GLiNER folder (model.prev_path).
func TestRunUniEncoderToken(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	r := tinyRecipeFor(t, out)
	if err := r.Set("model.span_mode=token_level"); err != nil {
		t.Fatal(err)
	}
	r.Training.NumSteps, r.Training.EvalEvery = 300, 100
	res, err := Run(context.Background(), r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Train.Steps != 300 || res.Source != FromRandomInit {
		t.Fatalf("result %+v, source %v", res.Train, res.Source)
	}
	checkTokenRun(t, res, models.UniEncoderToken, 0.5, 181, true)

	r2 := tinyRecipeFor(t, filepath.Join(t.TempDir(), "again"))
	r2.Model.PrevPath, r2.Model.EncoderConfig = res.FinalDir, nil
	r2.Training.NumSteps, r2.Training.EvalEvery = 10, 5
	res2, err := Run(context.Background(), r2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Source != FromGLiNER || res2.Train.Steps != 10 {
		t.Fatalf("continued run: source %v, %+v", res2.Source, res2.Train)
	}
	checkTokenRun(t, res2, models.UniEncoderToken, 0.5, 181, true)
}

// UniEncoderToken from a Hugging Face encoder folder, with early stopping.
func TestRunUniEncoderTokenFromEncoderFolder(t *testing.T) {
	dir, _ := writeHFEncoder(t, 320)
	r := tinyRecipeFor(t, filepath.Join(t.TempDir(), "run"))
	r.Model.ModelName, r.Model.EncoderConfig = dir, nil
	// The fixture encoder has 64 positions: short windows.
	r.Model.SpanMode, r.Model.MaxLen = "token_level", 6
	r.Training.NumSteps, r.Training.EvalEvery, r.Training.EarlyStoppingPatience = 40, 5, 1
	r.Training.LREncoder, r.Training.LROthers = 1e-6, 1e-6
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Source != FromEncoder {
		t.Fatalf("source %v", res.Source)
	}
	// A learning rate this small cannot improve the dev F1 for long:
	// early stopping ends the run before num_steps.
	if res.Train.Reason != train.ReasonEarlyStopping || res.Train.Steps >= 40 {
		t.Fatalf("run %+v: want early stopping before step 40", res.Train)
	}
	// Windows of 6 words: the dev set's 181 entities fall into 252
	// windows' worth (entities in the overlaps count twice).
	checkTokenRun(t, res, models.UniEncoderToken, 0, 252, false)
}

// BiEncoderToken trains from random encoders (text and labels), then
// continues from its exported folder (labels_tokenizer/ included).
func TestRunBiEncoderToken(t *testing.T) {
	root := t.TempDir()
	r, err := LoadRecipe(filepath.Join(testutil.RepoRoot(t), "recipes", "bi_token_sample.yaml"), []string{
		"training.output_dir=" + filepath.Join(root, "bi"), "training.num_steps=300", "training.eval_every=100", "training.log_every=0",
		"model.encoder_config.hidden_size=32", "model.encoder_config.intermediate_size=64", "model.hidden_size=32"})
	if err != nil {
		t.Fatal(err)
	}
	absData(t, r)
	res, err := Run(context.Background(), r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Source != FromRandomInit {
		t.Fatalf("source %v", res.Source)
	}
	checkTokenRun(t, res, models.BiEncoderToken, 0.8, 181, true)

	r2, err := LoadRecipe(filepath.Join(testutil.RepoRoot(t), "recipes", "bi_token_sample.yaml"), []string{
		"training.output_dir=" + filepath.Join(root, "again"), "training.num_steps=10", "training.eval_every=5", "training.log_every=0",
		"model.prev_path=" + res.FinalDir})
	if err != nil {
		t.Fatal(err)
	}
	absData(t, r2)
	res2, err := Run(context.Background(), r2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Source != FromGLiNER {
		t.Fatalf("continued run: source %v", res2.Source)
	}
	checkTokenRun(t, res2, models.BiEncoderToken, 0.8, 181, true)
}

// The two-stage recipe trains a token-level bi-encoder too.
func TestTwoStageBiEncoderToken(t *testing.T) {
	r := loadTwoStage(t, "model.span_mode=token_level")
	res, err := RunStages(context.Background(), r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 {
		t.Fatalf("%d stages", len(res))
	}
	for _, s := range res {
		m, err := models.Load(s.FinalDir)
		if err != nil {
			t.Fatal(err)
		}
		if m.Arch != models.BiEncoderToken || s.Dev == nil || s.Dev.Micro().Gold != 181 {
			t.Fatalf("stage %s: %v, dev %v", s.Name, m.Arch, s.Dev)
		}
	}
}

// absData makes a recipe's data paths absolute (relative to the repository).
func absData(t *testing.T, r *Recipe) {
	root := testutil.RepoRoot(t)
	r.Data.TrainData, r.Data.ValData = filepath.Join(root, r.Data.TrainData), filepath.Join(root, r.Data.ValData)
}
