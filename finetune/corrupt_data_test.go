package finetune

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/internal/fileio"
	"github.com/gliner-go/gliner/internal/testutil"
)

// A training set whose Parquet page is corrupt stops the run with an error
// naming the file and the row group (Arrow's snappy decoder panics on it;
// issue 12 B3), with on_error skip too: a corrupt file is not a bad example.
func TestRunCorruptParquetTrainData(t *testing.T) {
	root := testutil.RepoRoot(t)
	tmp := t.TempDir()
	exs, err := data.ReadFile(filepath.Join(root, "testdata/sample/train.jsonl"), data.ReadOptions{}, data.FailFast, nil)
	if err != nil {
		t.Fatal(err)
	}
	pq := filepath.Join(tmp, "train.parquet")
	if err := data.WriteFile(pq, data.FormatParquet, exs); err != nil {
		t.Fatal(err)
	}
	testutil.CorruptParquetPage(t, pq, 0)
	for _, policy := range []string{"fail", "skip"} {
		r := tinyRecipeFor(t, filepath.Join(tmp, "run-"+policy))
		r.Data.TrainData = pq
		r.Data.OnError = policy
		_, err := Run(context.Background(), r, Options{})
		if err == nil || !strings.Contains(err.Error(), "data.train_data: train.parquet: after row 0: row group 0 of 1: corrupt data: snappy: corrupt input") {
			t.Errorf("on_error %s: %v", policy, err)
		}
	}
}

// A misspelled key in the training data reaches the data report (Run logs
// it as a warning to the console and train.log).
func TestLoadDataWarnsUnknownKey(t *testing.T) {
	tmp := t.TempDir()
	p := filepath.Join(tmp, "train.jsonl")
	if err := os.WriteFile(p, []byte(`{"tokenized_text": ["Ann", "ran"], "entites": [[0, 0, "person"]]}`+"\n"+
		`{"tokenized_text": ["Bo", "ran"], "ner": [[0, 0, "person"]]}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := tinyRecipeFor(t, filepath.Join(tmp, "run"))
	r.Data.TrainData = p
	ds, err := LoadData(r)
	if err != nil {
		t.Fatal(err)
	}
	w := ds.TrainReport.Warnings
	if len(w) != 1 || w[0].Source != "train.jsonl:1" || !strings.HasPrefix(w[0].Reason, `unknown key "entites" ignored`) || w[0].Count != 1 {
		t.Errorf("warnings %+v", w)
	}
}

// "-" reads the recipe from standard input (issue 12 D).
func TestLoadRecipeFromStdin(t *testing.T) {
	root := testutil.RepoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "recipes", "uni_span_sample.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := LoadRecipe(filepath.Join(root, "recipes", "uni_span_sample.yaml"), []string{"training.num_steps=7"})
	if err != nil {
		t.Fatal(err)
	}
	old := fileio.Stdin
	fileio.Stdin = bytes.NewReader(b)
	defer func() { fileio.Stdin = old }()
	got, err := LoadRecipe("-", []string{"training.num_steps=7"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Training.NumSteps != 7 || !reflect.DeepEqual(got, want) {
		t.Errorf("recipe from stdin differs:\n%+v\nwant\n%+v", got, want)
	}
}
