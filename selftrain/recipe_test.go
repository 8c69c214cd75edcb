package selftrain

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/internal/testutil"
)

const minimalRecipe = `
output_dir: out
teacher:
  model: some/folder
student:
  recipe: recipes/uni_span_sample.yaml
corpus:
  files: [c.txt]
`

func TestParseRecipe(t *testing.T) {
	r, err := ParseRecipe([]byte(minimalRecipe), "r.yaml", []string{"weak_labels.thresholds={date: 0.7}", "rounds=5",
		"corpus.files=[a.txt, b.jsonl]", "student.sets=[training.num_steps=3]"})
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultRecipe()
	want.OutputDir, want.Teacher.Model, want.Student.Recipe, want.Rounds = "out", "some/folder", "recipes/uni_span_sample.yaml", 5
	want.Corpus.Files = []string{"a.txt", "b.jsonl"}
	want.Weak.Thresholds = map[string]float64{"date": 0.7}
	want.Student.Sets = []string{"training.num_steps=3"}
	if !reflect.DeepEqual(*r, want) {
		t.Fatalf("recipe\n got %+v\nwant %+v", *r, want)
	}
	for name, c := range map[string]struct {
		yaml string
		sets []string
		want string
	}{
		"unknown key":          {minimalRecipe + "roundz: 3\n", nil, "roundz"},
		"wrong type":           {minimalRecipe, []string{"rounds=many"}, "rounds"},
		"patience without dev": {minimalRecipe, []string{"patience=2"}, "needs a dev set"},
		"two teachers":         {minimalRecipe, []string{"teacher.recipe=x.yaml"}, "exactly one of model"},
		"no corpus":            {minimalRecipe, []string{"corpus.files=[]"}, "nothing to label"},
		"bad rule":             {minimalRecipe, []string{"weak_labels.rule=vote"}, "threshold, top_fraction, agree"},
		"set a value's child":  {minimalRecipe, []string{"output_dir.x=1"}, "not a section"},
	} {
		_, err := ParseRecipe([]byte(c.yaml), "r.yaml", c.sets)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "r.yaml") {
			t.Errorf("%s: err %v, want one naming r.yaml and %q", name, err, c.want)
		}
	}
}

func TestBundledRecipe(t *testing.T) {
	root := testutil.RepoRoot(t)
	r, err := LoadRecipe(filepath.Join(root, "recipes", "selftrain.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Teacher.Recipe == "" || r.DevData == "" || !r.Weak.MaskUncertain || r.Student.LabelSmoothing <= 0 || r.Rounds < 2 {
		t.Fatalf("bundled recipe: %+v", r)
	}
}
