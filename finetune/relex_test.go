package finetune

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/models"
	"github.com/gliner-go/gliner/train"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// tinyRelexSets shrinks recipes/relex.yaml for tests.
var tinyRelexSets = []string{
	"model.encoder_config.hidden_size=32", "model.encoder_config.intermediate_size=64",
	"model.encoder_config.num_hidden_layers=1", "model.hidden_size=32",
}

func loadRelexRecipe(t *testing.T, sets ...string) *Recipe {
	t.Helper()
	root := testutil.RepoRoot(t)
	r, err := LoadRecipe(filepath.Join(root, "recipes", "relex.yaml"), append(append([]string(nil), tinyRelexSets...), sets...))
	if err != nil {
		t.Fatal(err)
	}
	r.Data.TrainData = filepath.Join(root, r.Data.TrainData)
	r.Data.ValData = filepath.Join(root, r.Data.ValData)
	return r
}

func TestRelexRecipe(t *testing.T) {
	r := loadRelexRecipe(t)
	if r.Model.Relex == nil || r.Model.Relex.RelationsLayer != "dot" || r.Model.Relex.AugmentDataProb != 0.5 {
		t.Fatalf("relex section %+v", r.Model.Relex)
	}
	// Fields left out take the defaults.
	p, err := ParseRecipe([]byte("model:\n  relex:\n    relations_layer: mlp\n"), "r.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s := *p.Model.Relex; s.RelationsLayer != "mlp" || s.SpanLossCoef != 1 || s.AdjacencyLossCoef != 1 || s.RelationLossCoef != 1 {
		t.Errorf("defaults %+v", s)
	}
	if _, err := ParseRecipe([]byte("model:\n  relex:\n    relation_layer: mlp\n"), "r.yaml"); err == nil || !strings.Contains(err.Error(), `unknown key "relation_layer"`) {
		t.Errorf("misspelt key: %v", err)
	}
	p.Model.Relex.RelationsLayer = "biaffine"
	if err := p.Model.Relex.validate(); err == nil || !strings.Contains(err.Error(), "biaffine") {
		t.Errorf("biaffine: %v", err)
	}
}

// The relex recipe builds a UniEncoderSpanRelex whose tokenizer ends in
// <<ENT>> <<SEP>> <<REL>>, trains on the sample relation data (the loss
// falls) and is evaluated on entities and relations.
func TestRelexBuildTrainEvaluate(t *testing.T) {
	r := loadRelexRecipe(t)
	ds, err := LoadData(r)
	if err != nil {
		t.Fatal(err)
	}
	built, err := BuildModel(r, Words(ds.Train))
	if err != nil {
		t.Fatal(err)
	}
	mod, tok := built.Model, built.Tokenizer
	n := tok.VocabSize()
	if mod.Arch != models.UniEncoderSpanRelex || mod.Cfg.ClassTokenIndex != n-3 || mod.Cfg.RelTokenIndex != n-1 || mod.Cfg.VocabSize != n {
		t.Fatalf("arch %v class %d rel %d vocab %d tokenizer %d", mod.Arch, mod.Cfg.ClassTokenIndex, mod.Cfg.RelTokenIndex, mod.Cfg.VocabSize, n)
	}
	if id, _ := tok.TokenToID("<<REL>>"); id != n-1 {
		t.Fatalf("<<REL>> id %d", id)
	}
	if mod.Loss, err = r.LossOptions(); err != nil {
		t.Fatal(err)
	}
	ccfg := collatorConfig(mod, tok)
	if ccfg.Architecture != data.UniEncoderSpanRelex || ccfg.AugmentDataProb != 0.5 {
		t.Fatalf("collator config %+v", ccfg)
	}
	col, err := data.NewCollator(ccfg, tok, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	opt, err := train.NewAdamW([]*train.Group{{Name: "all", BaseLR: 3e-3, LR: 3e-3, Params: mod.Store.Params()}}, train.AdamWOptions{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
	if err != nil {
		t.Fatal(err)
	}
	batch := ds.Train[:8]
	var first, last float32
	for step := 0; step < 15; step++ {
		b, err := col.Train(batch)
		if err != nil {
			t.Fatal(err)
		}
		mod.Store.ZeroGrad()
		out, err := mod.Step(b)
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if step == 0 {
			first = out.Loss
		}
		last = out.Loss
		trained := map[*autograd.Param]bool{}
		for _, p := range mod.TrainedParams(b) {
			trained[p] = true
		}
		opt.Step(func(p *autograd.Param) bool { return trained[p] })
	}
	if !(last < first) {
		t.Errorf("loss %v → %v did not fall", first, last)
	}
	relLabels := RelationLabels(ds.Dev)
	if len(relLabels) == 0 {
		t.Fatal("dev set has no relation types")
	}
	ents, rels, err := EvaluateRelex(mod, col, ds.Dev, ds.Labels, relLabels, 8, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if ents.Micro().Gold == 0 || rels.Micro().Gold == 0 || rels.Docs() != len(ds.Dev) {
		t.Errorf("entity %+v, relation %+v over %d docs", ents.Micro(), rels.Micro(), rels.Docs())
	}
	// A relation type outside the label list is an error naming the example.
	if _, _, err := EvaluateRelex(mod, col, ds.Dev, ds.Labels, relLabels[:1], 8, 0.5); err == nil || !strings.Contains(err.Error(), "not in the relation label list") ||
		!strings.Contains(err.Error(), "dev_relex.jsonl") {
		t.Errorf("relation type outside the label list: %v", err)
	}
}

// Run trains the relex recipe end to end: dev evaluations log relation
// scores and the exported folder reloads as a relex model.
func TestRelexRun(t *testing.T) {
	r := loadRelexRecipe(t, "training.num_steps=6", "training.eval_every=3", "training.train_batch_size=4")
	r.Training.OutputDir = t.TempDir()
	core, logs := observer.New(zap.InfoLevel)
	res, err := Run(context.Background(), r, Options{Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	if n := logs.FilterMessage("dev relations").Len(); n < 2 {
		t.Errorf("%d dev relation evaluations logged", n)
	}
	m, err := models.Load(res.FinalDir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Arch != models.UniEncoderSpanRelex || res.Dev == nil || res.Dev.Micro().Gold == 0 {
		t.Errorf("exported %v, dev %v", m.Arch, res.Dev)
	}
	// The final relation scores are returned, over every gold relation of
	// the dev set.
	gold := 0
	ds, err := LoadData(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range ds.Dev {
		gold += len(ex.Relations)
	}
	if res.DevRelations == nil || res.DevRelations.Micro().Gold != gold || gold == 0 {
		t.Errorf("dev relations %v, want %d gold relations", res.DevRelations, gold)
	}
}
