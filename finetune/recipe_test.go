package finetune

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/losses"
)

const minimalRecipe = `model:
  encoder_config:
    model_type: bert
    hidden_size: 16
  max_width: 4
data:
  train_data: train.jsonl
training:
  num_steps: 7
`

func TestParseRecipeDefaultsAndValues(t *testing.T) {
	r, err := ParseRecipe([]byte(minimalRecipe), "r.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if r.Model.MaxWidth != 4 || r.Training.NumSteps != 7 || r.Data.TrainData != "train.jsonl" {
		t.Fatalf("values not decoded: %+v", r)
	}
	// Left out: the reference recipe's defaults (configs/config_span.yaml).
	d := DefaultRecipe()
	if r.Model.HiddenSize != 768 || r.Training.LREncoder != 1e-5 || r.Training.LROthers != 3e-5 ||
		r.Training.LossAlpha != 0.75 || r.Training.SchedulerType != "cosine" || r.Training.MaxGradNorm != 10 ||
		r.Training.SaveTotalLimit != 3 || r.Model.MaxTypes != 100 || r.Model.MaxLen != 512 || r.Model.Dropout != 0.3 ||
		r.Training.WeightDecayEncoder != d.Training.WeightDecayEncoder {
		t.Fatalf("defaults not kept: %+v", r)
	}
	if r.Model.EncoderConfig["hidden_size"] != 16 || r.Model.EncoderConfig["model_type"] != "bert" {
		t.Fatalf("encoder_config %v", r.Model.EncoderConfig)
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	o, err := r.LossOptions()
	if err != nil {
		t.Fatal(err)
	}
	if o != (losses.Options{Alpha: 0.75, Reduction: losses.ReductionSum, Negatives: 1, Masking: losses.MaskingNone}) {
		t.Fatalf("loss options %+v", o)
	}
}

func TestParseRecipeErrors(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", minimalRecipe + "  num_stpes: 9\n", []string{"r.yaml", "line 10", "num_stpes"}},
		{"unknown section", minimalRecipe + "trainer:\n  x: 1\n", []string{"line 10", "trainer"}},
		{"wrong type", strings.Replace(minimalRecipe, "num_steps: 7", "num_steps: many", 1), []string{"line 9", "many", "int"}},
		{"wrong type list", minimalRecipe + "  freeze_components: text_encoder\n", []string{"line 10", "[]string"}},
		{"two documents", minimalRecipe + "---\nmodel: {}\n", []string{"more than one YAML document"}},
	} {
		_, err := ParseRecipe([]byte(c.yaml), "r.yaml")
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.name, err, w)
			}
		}
	}
}

func TestRecipeSet(t *testing.T) {
	r, err := ParseRecipe([]byte(minimalRecipe), "r.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"training.num_steps=200", "training.lr_encoder=2e-4", "data.val_data=dev.jsonl",
		"training.freeze_components=[text_encoder]", "model.encoder_config.num_hidden_layers=3", "training.seed=7",
		"model.vocab.max_words=50"} {
		if err := r.Set(s); err != nil {
			t.Fatalf("set %s: %v", s, err)
		}
	}
	if r.Training.NumSteps != 200 || r.Training.LREncoder != 2e-4 || r.Data.ValData != "dev.jsonl" ||
		len(r.Training.FreezeComponents) != 1 || r.Training.FreezeComponents[0] != "text_encoder" ||
		r.Model.EncoderConfig["num_hidden_layers"] != 3 || r.Training.Seed != 7 || r.Model.Vocab.MaxWords != 50 {
		t.Fatalf("overrides not applied: %+v", r)
	}
	for _, c := range []struct{ set, want string }{
		{"training.num_stpes=3", `unknown key "num_stpes" in training (valid: `},
		{"trainin.num_steps=3", `unknown key "trainin" in the recipe (valid: data, model, stages, training)`},
		{"training.num_steps=abc", "does not fit int"},
		{"training.num_steps=1.5", "does not fit int"},
		{"training.num_steps", "want key.path=value"},
		{"training=3", "training is a section"},
		{"training.num_steps.x=3", "training.num_steps is a value, not a section"},
		{"model.encoder_config.a.b=1", "map of plain values"},
	} {
		err := r.Set(c.set)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("set %q: error %v, want it to contain %q", c.set, err, c.want)
		}
	}
}

// A --set of one model source replaces the recipe's other one (the
// README's one-flag commands on recipes/uni_span_sample.yaml); two sources
// written in the recipe are still an error.
func TestRecipeSetModelSourceReplacesTheOther(t *testing.T) {
	sample := filepath.Join(testutil.RepoRoot(t), "recipes", "uni_span_sample.yaml")
	r, err := LoadRecipe(sample, []string{"model.prev_path=/some/gliner"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Model.PrevPath != "/some/gliner" || r.Model.ModelName != "" || r.Model.EncoderConfig != nil {
		t.Fatalf("prev_path: %+v", r.Model)
	}
	r, err = LoadRecipe(sample, []string{"model.model_name=/some/deberta"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Model.ModelName != "/some/deberta" || r.Model.PrevPath != "" || r.Model.EncoderConfig != nil {
		t.Fatalf("model_name: %+v", r.Model)
	}
	// And back to a random encoder.
	r, err = LoadRecipe(sample, []string{"model.model_name=/some/deberta", "model.encoder_config={model_type: bert, hidden_size: 16}"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Model.ModelName != "" || r.Model.EncoderConfig["hidden_size"] != 16 {
		t.Fatalf("encoder_config: %+v", r.Model)
	}
	// A key inside encoder_config does not switch the source.
	if _, err := LoadRecipe(sample, []string{"model.model_name=/some/deberta", "model.encoder_config.hidden_size=64"}); err == nil ||
		!strings.Contains(err.Error(), "exactly one of prev_path") {
		t.Fatalf("model_name then encoder_config.hidden_size: %v", err)
	}
	two := strings.Replace(minimalRecipe, "model:\n", "model:\n  prev_path: /x\n", 1)
	r, err = ParseRecipe([]byte(two), "r.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "exactly one of prev_path") || !strings.Contains(err.Error(), "2 are set") {
		t.Fatalf("two sources in the recipe: %v", err)
	}
}

func TestRecipeValidate(t *testing.T) {
	for _, c := range []struct{ set, want string }{
		{"training.scheduler_type=exponential", "training.scheduler_type"},
		{"training.loss_reduction=avg", "training.loss_reduction"},
		{"training.masking=all", "training.masking"},
		{"data.on_error=ignore", "data.on_error"},
		{"data.long_texts=cut", "data.long_texts"},
		{"training.freeze_components=[decoder]", `"decoder" is not a component`},
		{"model.span_mode=markerV9", "span_mode \"markerV9\" is not supported"},
		{"training.early_stopping_patience=2", "early_stopping_patience needs evaluation"},
		{"model.dropout=1", "dropout"},
		{"training.num_steps=0", "num_steps 0"},
	} {
		r, err := ParseRecipe([]byte(minimalRecipe), "r.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Set(c.set); err != nil {
			t.Fatal(err)
		}
		err = r.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.set, err, c.want)
		}
	}
}

// The shipped span recipes decode strictly and validate (other recipes,
// e.g. self-training, have their own format).
func TestShippedRecipes(t *testing.T) {
	root := testutil.RepoRoot(t)
	files, err := filepath.Glob(filepath.Join(root, "recipes", "uni_span_*.yaml"))
	if err != nil || len(files) < 2 {
		t.Fatalf("recipes: %v %v", files, err)
	}
	for _, f := range files {
		if _, err := LoadRecipe(f, nil); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := LoadRecipe(filepath.Join(t.TempDir(), "missing.yaml"), nil); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing recipe: %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}

func TestParseRecipeRejectsFractionForInteger(t *testing.T) {
	_, err := ParseRecipe([]byte(strings.Replace(minimalRecipe, "num_steps: 7", "num_steps: 7.5", 1)), "r.yaml")
	if err == nil || !strings.Contains(err.Error(), "line 9: training.num_steps: 7.5 is not an integer") {
		t.Fatalf("error %v", err)
	}
}

// Every recipe field is documented in the commented sample recipe.
func TestSampleRecipeDocumentsEveryField(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "recipes", "uni_span_sample.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	var walk func(rt reflect.Type, path string)
	walk = func(rt reflect.Type, path string) {
		for i := 0; i < rt.NumField(); i++ {
			f := rt.Field(i)
			name := yamlName(f)
			if !strings.Contains(text, name+":") {
				t.Errorf("recipes/uni_span_sample.yaml does not document %s%s", path, name)
			}
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, path+name+".")
			}
		}
	}
	walk(reflect.TypeOf(Recipe{}), "")
}
