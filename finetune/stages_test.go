package finetune

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/models"
	"github.com/gliner-go/gliner/train"
)

// loadTwoStage reads recipes/bi_encoder_two_stage.yaml shrunk to a few
// steps, with absolute data paths and a temporary output_dir.
func loadTwoStage(t *testing.T, sets ...string) *Recipe {
	t.Helper()
	root := testutil.RepoRoot(t)
	base := []string{"training.output_dir=" + t.TempDir(), "training.eval_every=3", "training.log_every=0",
		"model.encoder_config.hidden_size=32", "model.encoder_config.intermediate_size=64", "model.hidden_size=32"}
	r, err := LoadRecipe(filepath.Join(root, "recipes", "bi_encoder_two_stage.yaml"), append(base, sets...))
	if err != nil {
		t.Fatal(err)
	}
	abs := func(p string) string { return filepath.Join(root, p) }
	r.Data.TrainData, r.Data.ValData = abs(r.Data.TrainData), abs(r.Data.ValData)
	for i := range r.Stages {
		r.Stages[i].TrainData = abs(r.Stages[i].TrainData)
		r.Stages[i].NumSteps = 6
	}
	return r
}

func TestTwoStageRecipeParses(t *testing.T) {
	r := loadTwoStage(t)
	if len(r.Stages) != 2 || r.Model.BiEncoder == nil || r.Stages[1].Freeze[0] != "token_rep_layer.labels_encoder" {
		t.Fatalf("stages %+v, bi_encoder %v", r.Stages, r.Model.BiEncoder)
	}
	s2, err := r.StageRecipe(1, "/prev/final")
	if err != nil {
		t.Fatal(err)
	}
	if s2.Model.PrevPath != "/prev/final" || s2.Model.EncoderConfig != nil || s2.Model.BiEncoder != nil ||
		s2.Training.LREncoder != 5e-4 || s2.Training.LROthers != 1e-3 || !strings.HasSuffix(s2.Data.TrainData, "sample/train.jsonl") ||
		s2.Training.OutputDir != filepath.Join(r.Training.OutputDir, "stage2_clean") || len(s2.Stages) != 0 {
		t.Errorf("stage 2 recipe: %+v %+v %+v", s2.Model.PrevPath, s2.Training, s2.Data)
	}
	s1, err := r.StageRecipe(0, "")
	if err != nil {
		t.Fatal(err)
	}
	if s1.Model.BiEncoder == nil || len(s1.Training.Freeze) != 0 || s1.Training.LREncoder != 1e-3 {
		t.Errorf("stage 1 recipe: %+v", s1.Training)
	}
	// epochs: 2 passes over the 320 clean examples in batches of 8.
	r.Stages[1].NumSteps, r.Stages[1].Epochs = 0, 2
	if s2, err = r.StageRecipe(1, "/prev"); err != nil || s2.Training.NumSteps != 80 {
		t.Errorf("epochs 2: num_steps %d, %v", s2.Training.NumSteps, err)
	}
}

func TestStagesBadInput(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"stages:\n  - name: a\n    train_dta: x\n", `unknown key "train_dta"`},
		{"model:\n  bi_encoder:\n    labels_config: {}\n", `unknown key "labels_config"`},
	} {
		if _, err := ParseRecipe([]byte(c.yaml), "r.yaml"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.yaml, err, c.want)
		}
	}
	r := loadTwoStage(t)
	for _, c := range []struct {
		edit func(r *Recipe)
		want string
	}{
		{func(r *Recipe) { r.Stages[1].Name = r.Stages[0].Name }, "used twice"},
		{func(r *Recipe) { r.Stages[0].Name = "a/b" }, "plain folder name"},
		{func(r *Recipe) { r.Stages[0].Epochs = 1 }, "not both"},
		{func(r *Recipe) { r.Stages[0].Freeze = []string{" "} }, "freeze[0] is empty"},
		{func(r *Recipe) { r.Model.BiEncoder.LabelsEncoderConfig = nil }, "set exactly one of labels_encoder (a Hugging Face encoder folder) and labels_encoder_config"},
		{func(r *Recipe) { r.Model.BiEncoder.LabelsEncoderConfig["vocab_size"] = 9 }, "leave it out"},
	} {
		x := loadTwoStage(t)
		c.edit(x)
		if err := x.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want %q, got %v", c.want, err)
		}
	}
	// A freeze prefix that matches no parameter stops the stage.
	r.Stages = r.Stages[:1]
	r.Stages[0].Freeze = []string{"token_rep_layer.label_encoder"}
	_, err := RunStages(context.Background(), r, Options{})
	if err == nil || !strings.Contains(err.Error(), `training.freeze "token_rep_layer.label_encoder"`) || !strings.Contains(err.Error(), "matches no parameter") {
		t.Errorf("typo in freeze: %v", err)
	}
}

// The two-stage recipe runs end to end (shrunk): stage 2 starts from stage
// 1's exported model, its frozen labels encoder stays bit-identical while
// the rest changes, and the frozen parameters have no optimizer state in
// stage 2's checkpoint (they do in stage 1's, where they train).
func TestTwoStageFrozenLabelsEncoder(t *testing.T) {
	r := loadTwoStage(t)
	res, err := RunStages(context.Background(), r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[1].Dev == nil {
		t.Fatalf("results %+v", res)
	}
	m1, err := models.Load(res[0].FinalDir)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := models.Load(res[1].FinalDir)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Arch != models.BiEncoderSpan {
		t.Fatalf("stage 2 model is %v", m2.Arch)
	}
	frozen, changed := 0, 0
	for _, p := range m1.Store.Params() {
		q, _ := m2.Store.Get(p.Name)
		same := true
		for i := range p.Data {
			if math.Float32bits(p.Data[i]) != math.Float32bits(q.Data[i]) {
				same = false
				break
			}
		}
		if strings.HasPrefix(p.Name, "token_rep_layer.labels_encoder") {
			frozen++
			if !same {
				t.Errorf("frozen %s changed in stage 2", p.Name)
			}
		} else if !same {
			changed++
		}
	}
	if frozen == 0 || changed == 0 {
		t.Fatalf("%d frozen parameters, %d changed others", frozen, changed)
	}
	moments := func(stage string) (labels, others int) {
		ck, err := train.LatestCheckpoint(filepath.Join(r.Training.OutputDir, stage))
		if err != nil || ck == "" {
			t.Fatalf("%s checkpoint %q: %v", stage, ck, err)
		}
		f, err := checkpoints.OpenSafetensors(filepath.Join(ck, train.OptimizerFile))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, n := range f.Names() {
			if strings.HasPrefix(n, "token_rep_layer.labels_encoder") {
				labels++
			} else {
				others++
			}
		}
		return
	}
	if l, o := moments("stage1_weak"); l == 0 || o == 0 {
		t.Errorf("stage 1 optimizer state: %d labels-encoder and %d other moments, want both > 0", l, o)
	}
	if l, o := moments("stage2_clean"); l != 0 || o == 0 {
		t.Errorf("stage 2 optimizer state: %d labels-encoder moments (want 0: frozen) and %d others", l, o)
	}
}

// AdamW creates no state for frozen parameters: a bi-encoder with its
// labels encoder frozen takes a real step; State(p) is nil for every
// frozen parameter and set for those that got a gradient.
func TestAdamWHasNoStateForFrozenParams(t *testing.T) {
	r := loadTwoStage(t)
	ds, err := LoadData(r)
	if err != nil {
		t.Fatal(err)
	}
	built, err := BuildModel(r, append(Words(ds.Train), labelWords(ds.Train, ds.Dev)...))
	if err != nil {
		t.Fatal(err)
	}
	mod := built.Model
	if n, err := mod.Store.SetFrozen("token_rep_layer.labels_encoder", true); err != nil || n == 0 {
		t.Fatal(n, err)
	}
	before := map[string][]float32{}
	for _, p := range mod.Store.Params() {
		before[p.Name] = append([]float32(nil), p.Data...)
	}
	ccfg := collatorConfig(mod, built.Tokenizer)
	col, err := data.NewCollator(ccfg, built.Tokenizer, built.auxTokenizer(), 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := col.Train(ds.Train[:8])
	if err != nil {
		t.Fatal(err)
	}
	lr := 1e-3
	groups, err := train.ParamGroups(mod.Store, train.GroupConfig{LR: lr, OthersLR: &lr})
	if err != nil {
		t.Fatal(err)
	}
	opt, err := train.NewAdamW(groups, train.AdamWOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mod.Store.ZeroGrad()
	if _, err := mod.Step(b); err != nil {
		t.Fatal(err)
	}
	trained := map[*autograd.Param]bool{}
	for _, p := range mod.TrainedParams(b) {
		trained[p] = true
	}
	opt.Step(func(p *autograd.Param) bool { return trained[p] })
	nFrozen, nState := 0, 0
	for _, p := range mod.Store.Params() {
		if p.Frozen {
			nFrozen++
			if opt.State(p) != nil {
				t.Errorf("frozen %s has optimizer state", p.Name)
			}
			for i, v := range p.Data {
				if math.Float32bits(v) != math.Float32bits(before[p.Name][i]) {
					t.Fatalf("frozen %s changed", p.Name)
				}
			}
			if trained[p] {
				t.Errorf("frozen %s is reported as trained", p.Name)
			}
		} else if trained[p] {
			if opt.State(p) == nil {
				t.Errorf("trained %s has no optimizer state", p.Name)
			}
			nState++
		}
	}
	if nFrozen == 0 || nState == 0 {
		t.Fatalf("%d frozen, %d with state", nFrozen, nState)
	}
}

// training.reference_compat reaches the loss options (and with it the
// models' quirks: BiEncoderSpan's smoothing-as-margin, token masking).
func TestReferenceCompatRecipeSwitch(t *testing.T) {
	r := loadTwoStage(t, "training.label_smoothing=0.1")
	o, err := r.LossOptions()
	if err != nil || o.ReferenceCompat || o.LabelSmoothing != 0.1 {
		t.Fatalf("default: %+v %v", o, err)
	}
	if err := r.Set("training.reference_compat=true"); err != nil {
		t.Fatal(err)
	}
	if o, err = r.LossOptions(); err != nil || !o.ReferenceCompat {
		t.Fatalf("compat: %+v %v", o, err)
	}
	// The BiEncoderSpan built from the recipe then uses smoothing as the
	// margin, as the reference.
	ds, err := LoadData(r)
	if err != nil {
		t.Fatal(err)
	}
	built, err := BuildModel(r, append(Words(ds.Train), labelWords(ds.Train)...))
	if err != nil {
		t.Fatal(err)
	}
	mod := built.Model
	mod.Loss = o
	col, err := data.NewCollator(collatorConfig(mod, built.Tokenizer), built.Tokenizer, built.auxTokenizer(), 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := col.Train(ds.Train[:4])
	if err != nil {
		t.Fatal(err)
	}
	loss := func(opts func(*Recipe)) float32 {
		x := *r
		opts(&x)
		lo, err := x.LossOptions()
		if err != nil {
			t.Fatal(err)
		}
		mod.Loss = lo
		st, err := mod.Step(b)
		if err != nil {
			t.Fatal(err)
		}
		return st.Loss
	}
	compat := loss(func(*Recipe) {})
	asMargin := loss(func(x *Recipe) {
		x.Training.ReferenceCompat, x.Training.LossProbMargin, x.Training.LabelSmoothing = false, 0.1, 0
	})
	plain := loss(func(x *Recipe) { x.Training.ReferenceCompat = false })
	if compat != asMargin || compat == plain {
		t.Errorf("compat loss %v, margin 0.1 loss %v, smoothing 0.1 loss %v: want compat = margin ≠ smoothing", compat, asMargin, plain)
	}
}
