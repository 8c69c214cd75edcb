package selftrain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/train"
)

func fakeSetup(t *testing.T) (Config, string) {
	t.Helper()
	dir := t.TempDir()
	corpus := writeFile(t, filepath.Join(dir, "corpus.txt"), strings.Join([]string{
		"Ann met Bob in Rome .", "Carl saw Dan in Oslo .", "Eve and Finn went to Paris .",
		"Gus likes Hanna .", "Ida left Jakarta on Monday .", "\xff bad", "Kim called Lea .",
	}, "\n")+"\n")
	teacher := filepath.Join(dir, "teacher")
	if err := writeFakeModel(teacher, 7); err != nil {
		t.Fatal(err)
	}
	dev := []data.Example{{Words: strings.Fields("Ann went to Rome ."), Entities: []data.Entity{{Start: 0, End: 0, Label: "person"}, {Start: 3, End: 3, Label: "place"}}}}
	gold := []data.Example{{Words: strings.Fields("Bob is in Oslo ."), Entities: []data.Entity{{Start: 0, End: 0, Label: "person"}, {Start: 3, End: 3, Label: "place"}}, Source: "gold:0"}}
	r := handRules()
	r.Thresholds = nil
	cfg := Config{OutputDir: filepath.Join(dir, "out"), Teacher: teacher, Corpus: Corpus{Paths: []string{corpus}},
		Rules: r, Rounds: 3, Dev: dev, Gold: gold, GoldRatio: 0.5, LabelSmoothing: 0.1, Seed: 11, Batch: 2}
	return cfg, dir
}

type roundOutputs struct {
	weak  [][]WeakExample
	model []string // student fingerprints
	f1    []float64
}

func collect(t *testing.T, cfg Config, res *Result) roundOutputs {
	t.Helper()
	var o roundOutputs
	for _, r := range res.Rounds[1:] {
		w, _, err := ReadWeak(filepath.Join(RoundDir(cfg.OutputDir, r.Round), WeakFile))
		if err != nil {
			t.Fatal(err)
		}
		fp, err := Fingerprint(r.Model)
		if err != nil {
			t.Fatal(err)
		}
		o.weak, o.model, o.f1 = append(o.weak, w), append(o.model, fp), append(o.f1, *r.DevF1)
	}
	return o
}

func TestRunSameSeedSameResult(t *testing.T) {
	cfg, _ := fakeSetup(t)
	s1 := &fakeStudent{Steps: 4}
	res1, err := Run(context.Background(), cfg, Env{LoadTeacher: loadFakeTeacher, Student: s1, Evaluator: fakeEvaluator{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res1.Rounds) != 4 || res1.Reason != "rounds" {
		t.Fatalf("rounds %d reason %s", len(res1.Rounds), res1.Reason)
	}
	// The student of round k teaches round k+1.
	for k := 2; k <= 3; k++ {
		if res1.Rounds[k].Teacher != res1.Rounds[k-1].Model {
			t.Fatalf("round %d teacher %s, want round %d's student %s", k, res1.Rounds[k].Teacher, k-1, res1.Rounds[k-1].Model)
		}
	}
	// Gold mixed at 0.5: as many gold as weak examples; masker on.
	j := s1.jobs[0]
	if len(j.Train) != 12 || j.Masker == nil || j.LabelSmoothing != 0.1 || j.Seed != 12 || j.Train[6].Source != "gold:0" {
		t.Fatalf("job: %d examples, masker %v, smoothing %v, seed %d", len(j.Train), j.Masker != nil, j.LabelSmoothing, j.Seed)
	}
	o1 := collect(t, cfg, res1)
	cfg2 := cfg
	cfg2.OutputDir += "-again"
	res2, err := Run(context.Background(), cfg2, Env{LoadTeacher: loadFakeTeacher, Student: &fakeStudent{Steps: 4}, Evaluator: fakeEvaluator{}})
	if err != nil {
		t.Fatal(err)
	}
	o2 := collect(t, cfg2, res2)
	if !reflect.DeepEqual(o1, o2) {
		t.Fatal("same seed: different weak labels or students")
	}
	// Byte-identical weak-label files.
	for k := 1; k <= 3; k++ {
		a, _ := os.ReadFile(filepath.Join(RoundDir(cfg.OutputDir, k), WeakFile))
		b, _ := os.ReadFile(filepath.Join(RoundDir(cfg2.OutputDir, k), WeakFile))
		if len(a) == 0 || !reflect.DeepEqual(a, b) {
			t.Fatalf("round %d: weak-label files differ", k)
		}
	}
	// Another seed trains other students (same weak labels in round 1).
	cfg3 := cfg
	cfg3.OutputDir += "-seed"
	cfg3.Seed = 12
	res3, err := Run(context.Background(), cfg3, Env{LoadTeacher: loadFakeTeacher, Student: &fakeStudent{Steps: 4}, Evaluator: fakeEvaluator{}})
	if err != nil {
		t.Fatal(err)
	}
	o3 := collect(t, cfg3, res3)
	if !reflect.DeepEqual(o3.weak[0], o1.weak[0]) || o3.model[0] == o1.model[0] {
		t.Fatal("seed: round-1 weak labels should match and students differ")
	}
	for _, f := range []string{ReportJSONL, ReportPNG} {
		if st, err := os.Stat(filepath.Join(cfg.OutputDir, f)); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", f, err)
		}
	}
}

func TestRunResumeAfterKill(t *testing.T) {
	cfg, _ := fakeSetup(t)
	env := func(s Student) Env { return Env{LoadTeacher: loadFakeTeacher, Student: s, Evaluator: fakeEvaluator{}} }
	ref, err := Run(context.Background(), cfg, env(&fakeStudent{Steps: 5}))
	if err != nil {
		t.Fatal(err)
	}
	want := collect(t, cfg, ref)
	for _, killAt := range []int{2, 5, 7, 13} { // mid round 1, end of round 1, mid round 2, mid round 3
		c := cfg
		c.OutputDir = filepath.Join(t.TempDir(), "out")
		s := &fakeStudent{Steps: 5, failAt: killAt}
		if _, err := Run(context.Background(), c, env(s)); !errors.Is(err, errKilled) {
			t.Fatalf("kill at %d: err %v", killAt, err)
		}
		s2 := &fakeStudent{Steps: 5}
		res, err := Run(context.Background(), c, env(s2))
		if err != nil {
			t.Fatal(err)
		}
		if s2.done != 15-killAt {
			t.Fatalf("kill at step %d: resumed run did %d steps, want %d (from the last finished step)", killAt, s2.done, 15-killAt)
		}
		if got := collect(t, c, res); !reflect.DeepEqual(got, want) {
			t.Fatalf("kill at %d: resumed result differs from the uninterrupted run", killAt)
		}
	}
}

func TestRunEarlyStoppingAndBadConfig(t *testing.T) {
	cfg, dir := fakeSetup(t)
	cfg.Patience, cfg.Rounds = 1, 10
	res, err := Run(context.Background(), cfg, Env{LoadTeacher: loadFakeTeacher, Student: &fakeStudent{Steps: 1}, Evaluator: fakeEvaluator{}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Reason != "early_stopping" || len(res.Rounds) > 10 {
		t.Fatalf("reason %s after %d rounds", res.Reason, len(res.Rounds)-1)
	}
	// The last round is the first not better than the best.
	best := -1.0
	for _, r := range res.Rounds[:len(res.Rounds)-1] {
		best = max(best, *r.DevF1)
	}
	if last := *res.Rounds[len(res.Rounds)-1].DevF1; last > best {
		t.Fatalf("stopped although the last round improved: %v > %v", last, best)
	}

	env := Env{LoadTeacher: loadFakeTeacher, Student: &fakeStudent{Steps: 1}, Evaluator: fakeEvaluator{}}
	c := cfg
	c.Dev = nil
	if _, err := Run(context.Background(), c, env); err == nil || !strings.Contains(err.Error(), "needs a dev set") {
		t.Fatalf("patience without dev: err %v", err)
	}
	c = cfg
	c.OutputDir = filepath.Join(dir, "o2")
	c.Corpus.Paths = []string{writeFile(t, filepath.Join(dir, "empty.txt"), "")}
	if _, err := Run(context.Background(), c, env); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty corpus: err %v", err)
	}
	c = cfg
	c.OutputDir = filepath.Join(dir, "o3")
	c.Teacher = filepath.Join(dir, "corpus.txt")
	if _, err := Run(context.Background(), c, env); err == nil || !strings.Contains(err.Error(), "teacher") {
		t.Fatalf("bad teacher: err %v", err)
	}
	c = cfg
	c.GoldRatio, c.Gold = 0.3, nil
	if err := c.Validate(); err == nil {
		t.Fatal("gold ratio without gold accepted")
	}
}

func TestMix(t *testing.T) {
	weak := make([]WeakExample, 6)
	for i := range weak {
		weak[i].Example.Source = "w"
	}
	gold := []data.Example{{Source: "g0"}, {Source: "g1"}, {Source: "g2"}, {Source: "g3"}}
	tr, n := Mix(weak, gold, 0.25, 1) // 0.25/(0.75)·6 = 2 gold
	if n != 2 || len(tr) != 8 {
		t.Fatalf("mix: %d gold of %d", n, len(tr))
	}
	tr, n = Mix(weak, gold, 0.6, 1) // 9 gold: every gold example at least twice
	count := map[string]int{}
	for _, ex := range tr[6:] {
		count[ex.Source]++
	}
	if n != 9 || len(count) != 4 || count["g0"] < 2 || count["g1"] < 2 || count["g2"] < 2 || count["g3"] < 2 {
		t.Fatalf("mix 0.6: %d gold, counts %v", n, count)
	}
	a, _ := Mix(weak, gold, 0.6, 1)
	b, _ := Mix(weak, gold, 0.6, 1)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different mix")
	}
	if _, n := Mix(weak, gold, 0, 1); n != 0 {
		t.Fatal("ratio 0 mixed gold")
	}
}

// Each round prints its dev F1 line and a table of weak labels per label
// (not a Go map); the progress display shows the teacher's labelling and
// reaches the students.
func TestRunOutputTableAndProgress(t *testing.T) {
	cfg, _ := fakeSetup(t)
	cfg.Rounds = 1
	var out, prog bytes.Buffer
	p := &train.ProgressHook{W: &prog, Interval: time.Hour}
	s := &fakeStudent{Steps: 4}
	res, err := Run(context.Background(), cfg, Env{LoadTeacher: loadFakeTeacher, Student: s, Evaluator: fakeEvaluator{}, Out: &out, Progress: p})
	if err != nil {
		t.Fatal(err)
	}
	r1 := res.Rounds[1]
	st := r1.Labelling
	var rows []string
	total := [3]int{}
	labels := []string{"person", "place"}
	for _, l := range labels {
		f1 := "-"
		if v, ok := r1.DevLabels[l]; ok {
			f1 = fmt.Sprintf("%.4f", v)
		}
		rows = append(rows, fmt.Sprintf("  %-6s %11d %9d %9d %7s", l, st.Predictions[l], st.Confident[l], st.Uncertain[l], f1))
		total[0], total[1], total[2] = total[0]+st.Predictions[l], total[1]+st.Confident[l], total[2]+st.Uncertain[l]
	}
	want := fmt.Sprintf("round 1: dev F1 %.4f (best %.4f, round %d); %d weak examples, %d training steps\n", *r1.DevF1, math.Max(*r1.DevF1, *res.Rounds[0].DevF1), res.BestRound, st.Examples, r1.Steps) +
		"  label  predictions confident uncertain  dev F1\n" + strings.Join(rows, "\n") + "\n" +
		fmt.Sprintf("  %-6s %11d %9d %9d\n", "total", total[0], total[1], total[2])
	if got := out.String(); !strings.HasSuffix(got, want) || strings.Contains(got, "map[") {
		t.Fatalf("output:\n%s\nwant it to end with:\n%s", got, want)
	}
	if total[1] == 0 || st.Confident["person"] == 0 {
		t.Fatalf("no confident weak labels: %+v", st)
	}
	if !strings.Contains(prog.String(), fmt.Sprintf("round 1: teacher labels the corpus: %d documents (", st.Corpus.Docs)) {
		t.Fatalf("progress %q", prog.String())
	}
	if s.jobs[0].Progress != p {
		t.Fatal("the student job does not carry the progress display")
	}
}
