package selftrain

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/data"
)

// staticTeacher returns fixed predictions per document text.
type staticTeacher struct {
	by map[string][]Prediction
	fp string
}

func (s staticTeacher) Predict(_ context.Context, docs []Doc, _ []string, minScore float64) ([][]Prediction, error) {
	out := make([][]Prediction, len(docs))
	for i, d := range docs {
		for _, p := range s.by[strings.Join(d.Words, " ")] {
			if p.Score >= minScore {
				out[i] = append(out[i], p)
			}
		}
	}
	return out, nil
}

func (s staticTeacher) Fingerprint() string { return s.fp }

func writeFile(t *testing.T, path, s string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLabelMinCountsAndRoundTrip(t *testing.T) {
	dir := t.TempDir()
	corpus := writeFile(t, filepath.Join(dir, "c.txt"),
		"Ann met Bob in Rome .\nCarl saw Dan .\n\xff\xfe broken line\nEve lives in Oslo .\n")
	teacher := staticTeacher{fp: "abc", by: map[string][]Prediction{
		"Ann met Bob in Rome .": {{0, 0, "person", 0.9}, {2, 2, "person", 0.45}, {4, 4, "place", 0.95}},
		"Carl saw Dan .":        {{0, 0, "person", 0.7}, {2, 2, "person", 0.1}},
		"Eve lives in Oslo .":   {{0, 0, "person", 0.65}, {3, 3, "place", 0.5}},
	}}
	r := handRules()
	r.MinCounts = map[string]int{"place": 2} // only Rome is a confident place
	job := LabelJob{Corpus: Corpus{Paths: []string{corpus}}, Teacher: teacher, Rules: r, Round: 3,
		Out: filepath.Join(dir, "weak.parquet"), Spill: filepath.Join(dir, "spill.jsonl"), Batch: 2}
	st, err := Label(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if st.Corpus.Docs != 3 || st.Corpus.InvalidUTF8 != 1 || len(st.Corpus.Skipped) != 1 || !strings.Contains(st.Corpus.Skipped[0], "c.txt:3") {
		t.Fatalf("corpus stats %+v: want 3 docs, 1 invalid UTF-8 line (c.txt:3)", st.Corpus)
	}
	if !reflect.DeepEqual(st.Dropped, []string{"place"}) || st.Confident["person"] != 3 || st.Uncertain["person"] != 1 ||
		st.Confident["place"] != 0 || st.Examples != 3 {
		t.Fatalf("stats %+v", st)
	}
	if _, err := os.Stat(job.Spill); !os.IsNotExist(err) {
		t.Fatalf("spill file left behind: %v", err)
	}
	weak, prov, err := ReadWeak(job.Out)
	if err != nil {
		t.Fatal(err)
	}
	if prov.TeacherFingerprint != "abc" || prov.Round != 3 || !strings.Contains(prov.Thresholds, `"dropped":["place"]`) {
		t.Fatalf("provenance %+v", prov)
	}
	want := []WeakExample{
		{Example: data.Example{Words: strings.Fields("Ann met Bob in Rome ."), LabelSet: []string{"person"},
			Entities: []data.Entity{{Start: 0, End: 0, Label: "person"}}, Source: "weak:0"},
			Scores: []float64{0.9}, Uncertain: []UncertainSpan{{2, 2, "person", 0.45}}, DocSource: "c.txt:1"},
		{Example: data.Example{Words: strings.Fields("Carl saw Dan ."), LabelSet: []string{"person"},
			Entities: []data.Entity{{Start: 0, End: 0, Label: "person"}}, Source: "weak:1"},
			Scores: []float64{0.7}, DocSource: "c.txt:2"},
		{Example: data.Example{Words: strings.Fields("Eve lives in Oslo ."), LabelSet: []string{"person"},
			Entities: []data.Entity{{Start: 0, End: 0, Label: "person"}}, Source: "weak:2"},
			Scores: []float64{0.65}, DocSource: "c.txt:4"},
	}
	if !reflect.DeepEqual(weak, want) {
		t.Fatalf("weak examples\n got %+v\nwant %+v", weak, want)
	}
	// The project's dataset reader (what `gliner data stats` uses) reads
	// the file as a plain dataset.
	exs, err := data.ReadFile(job.Out, data.ReadOptions{}, data.FailFast, nil)
	if err != nil {
		t.Fatal(err)
	}
	var stats data.Stats
	for _, ex := range exs {
		stats.Add(ex)
	}
	if len(exs) != 3 || exs[2].Entities[0] != (data.Entity{Start: 0, End: 0, Label: "person"}) || !reflect.DeepEqual(exs[0].LabelSet, []string{"person"}) {
		t.Fatalf("data reader: %+v", exs)
	}
	var sb strings.Builder
	if _, err := stats.WriteTo(&sb); err != nil || !strings.Contains(sb.String(), "person") {
		t.Fatalf("stats: %v %q", err, sb.String())
	}
	// Every label below its minimum: an error.
	r.MinCount = 10
	job.Rules, job.Out = r, filepath.Join(dir, "none.parquet")
	if _, err := Label(context.Background(), job); err == nil || !strings.Contains(err.Error(), "minimum count") {
		t.Fatalf("all labels dropped: err %v", err)
	}
	if _, err := os.Stat(job.Out); !os.IsNotExist(err) {
		t.Fatal("a failed labelling left a weak-label file")
	}
}

func TestWeakFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.parquet")
	prov := Provenance{TeacherFingerprint: fingerprintHex("t"), SecondFingerprint: fingerprintHex("s"), Round: 2, Thresholds: `{"x":1}`}
	w, err := CreateWeak(path, prov)
	if err != nil {
		t.Fatal(err)
	}
	var in []WeakExample
	for i := 0; i < 1500; i++ { // more than one record batch
		ex := WeakExample{Example: data.Example{Words: []string{"a", "B", "c", "D"}, LabelSet: []string{"x", "y"}},
			DocSource: "doc"}
		if i%3 == 0 {
			ex.Example.Entities = []data.Entity{{Start: 1, End: 1, Label: "x"}, {Start: 3, End: 3, Label: "y"}}
			ex.Scores = []float64{0.123456789012345, 1}
		}
		if i%2 == 0 {
			ex.Uncertain = []UncertainSpan{{Start: 0, End: 2, Label: "y", Score: 0.31}}
		}
		if err := w.Write(ex); err != nil {
			t.Fatal(err)
		}
		ex.Example.Source = "weak:" + strconv.Itoa(i)
		in = append(in, ex)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("file visible before Close")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out, p, err := ReadWeak(path)
	if err != nil {
		t.Fatal(err)
	}
	if *p != prov || !reflect.DeepEqual(out, in) {
		t.Fatalf("round trip differs: prov %+v; first %+v vs %+v", p, out[0], in[0])
	}
	// Mismatched scores are refused.
	w2, _ := CreateWeak(filepath.Join(t.TempDir(), "bad.parquet"), prov)
	defer w2.Abort()
	if err := w2.Write(WeakExample{Example: data.Example{Words: []string{"a"}, Entities: []data.Entity{{Start: 0, End: 0, Label: "x"}}}}); err == nil {
		t.Fatal("entity without score accepted")
	}
	// A plain dataset is not a weak-label file.
	plain := filepath.Join(t.TempDir(), "plain.parquet")
	if err := data.WriteFile(plain, data.FormatParquet, []data.Example{{Words: []string{"a"}}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadWeak(plain); err == nil || !strings.Contains(err.Error(), "not a weak-label file") {
		t.Fatalf("plain parquet: err %v", err)
	}
}

func TestCorpusBadInput(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	nop := func([]Doc) error { return nil }
	empty := writeFile(t, filepath.Join(dir, "empty.txt"), "\n  \n")
	if _, err := ReadCorpus(ctx, Corpus{Paths: []string{empty}}, 8, nop); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty corpus: err %v", err)
	}
	allBad := writeFile(t, filepath.Join(dir, "bad.txt"), "\xff\n\xc3\x28 x\n")
	st, err := ReadCorpus(ctx, Corpus{Paths: []string{allBad}}, 8, nop)
	if err == nil || !strings.Contains(err.Error(), "2 lines skipped for invalid UTF-8") || st.InvalidUTF8 != 2 {
		t.Fatalf("all-invalid corpus: err %v stats %+v", err, st)
	}
	if _, err := ReadCorpus(ctx, Corpus{}, 8, nop); err == nil {
		t.Fatal("no files: no error")
	}
	// JSONL corpus: {"text"} and {"tokenized_text"} records; gold
	// entities are ignored; a broken record is an error naming its line.
	jl := writeFile(t, filepath.Join(dir, "c.jsonl"), `{"text": "Ann is here ."}`+"\n"+
		`{"tokenized_text": ["Bob", "."], "ner": [[0, 0, "person"]]}`+"\n")
	var got [][]string
	st, err = ReadCorpus(ctx, Corpus{Paths: []string{jl}}, 1, func(d []Doc) error {
		for _, x := range d {
			got = append(got, x.Words)
		}
		return nil
	})
	if err != nil || st.Docs != 2 || !reflect.DeepEqual(got, [][]string{{"Ann", "is", "here", "."}, {"Bob", "."}}) {
		t.Fatalf("jsonl corpus: %v %+v %v", err, st, got)
	}
	broken := writeFile(t, filepath.Join(dir, "broken.jsonl"), `{"text": "ok"}`+"\n"+`{"text": 3}`+"\n")
	if _, err := ReadCorpus(ctx, Corpus{Paths: []string{broken}}, 1, nop); err == nil || !strings.Contains(err.Error(), "broken.jsonl:2") {
		t.Fatalf("broken jsonl: err %v", err)
	}
}
