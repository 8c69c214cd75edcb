package selftrain

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/finetune"
	"github.com/gliner-go/gliner/infer"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/models"
)

func sampleCorpus(t *testing.T, n int) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "testdata", "sample", "corpus.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// The first 8 words of each document: the fixture's tokenizer holds
	// 64 sub-tokens, prompt included.
	var sb strings.Builder
	for _, line := range strings.Split(string(b), "\n")[:n] {
		w := strings.Fields(line)
		sb.WriteString(strings.Join(w[:min(8, len(w))], " ") + "\n")
	}
	return writeFile(t, filepath.Join(t.TempDir(), "corpus.txt"), sb.String())
}

func TestLoadTeacherKinds(t *testing.T) {
	if _, err := LoadTeacher(testutil.Fixture(t, "uni_span_bert")); err != nil {
		t.Fatalf("span model: %v", err)
	}
	_, err := LoadTeacher(testutil.Fixture(t, "uni_span_relex_deberta"))
	if err == nil || !strings.Contains(err.Error(), "relex") || !strings.Contains(err.Error(), "cannot teach") {
		t.Fatalf("relex model: err %v", err)
	}
	ck := t.TempDir()
	writeFile(t, filepath.Join(ck, "trainer_state.json"), "{}")
	if _, err := LoadTeacher(ck); err == nil || !strings.Contains(err.Error(), "training checkpoint") {
		t.Fatalf("checkpoint folder: err %v", err)
	}
	if _, err := LoadTeacher(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a GLiNER model folder") {
		t.Fatalf("empty folder: err %v", err)
	}
}

// TestRealTeacherAndStudentDeterministic labels sample documents with the
// inference pipeline (the uni_span_bert fixture as teacher) twice and
// trains masked students on them twice: same seed, identical bytes.
func TestRealTeacherAndStudentDeterministic(t *testing.T) {
	fix := testutil.Fixture(t, "uni_span_bert")
	corpus := sampleCorpus(t, 24)
	rules := Rules{Labels: []string{"person", "location", "organization"}, Mode: ModeTopFraction, TopFraction: 0.5, Low: 0.2, MaskUncertain: true}
	label := func() (string, *LabelStats) {
		teacher, err := LoadTeacher(fix)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		st, err := Label(context.Background(), LabelJob{Corpus: Corpus{Paths: []string{corpus}}, Teacher: teacher, Rules: rules,
			Round: 1, Out: filepath.Join(dir, WeakFile), Spill: filepath.Join(dir, "spill.jsonl"), Batch: 8})
		if err != nil {
			t.Fatal(err)
		}
		return filepath.Join(dir, WeakFile), st
	}
	p1, st := label()
	p2, _ := label()
	conf, unc := 0, 0
	for _, l := range rules.Labels {
		conf, unc = conf+st.Confident[l], unc+st.Uncertain[l]
	}
	if st.Corpus.Docs != 24 || conf == 0 || unc == 0 {
		t.Fatalf("labelling: %+v (want confident and uncertain entities from the fixture teacher)", st)
	}
	b1, _ := os.ReadFile(p1)
	b2, _ := os.ReadFile(p2)
	if len(b1) == 0 || !bytes.Equal(b1, b2) {
		t.Fatal("same teacher and corpus: weak-label files differ")
	}
	weak, prov, err := ReadWeak(p1)
	if err != nil {
		t.Fatal(err)
	}
	if fp, _ := Fingerprint(fix); prov.TeacherFingerprint != fp {
		t.Fatalf("provenance fingerprint %s, want %s", prov.TeacherFingerprint, fp)
	}

	// The masker on a real collated batch.
	tok, err := tokenizer.Load(infer.TokenizerDir(fix))
	if err != nil {
		t.Fatal(err)
	}
	col, err := data.NewCollator(data.DefaultCollatorConfig(data.UniEncoderSpan), tok, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	exs := make([]data.Example, len(weak))
	for i := range weak {
		exs[i] = weak[i].Example
	}
	b, err := col.Train(exs)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := NewMasker(weak).Apply(b)
	if err != nil || ms.Cells == 0 || ms.Cells+ms.Outside != unc {
		t.Fatalf("masking a collated batch: %+v err %v (uncertain spans %d)", ms, err, unc)
	}

	// Students: same seed → identical weights; a run stopped after 2 steps
	// and resumed to 4 ends as the uninterrupted 4-step run.
	// finetune reads tokenizers in the reference's layout: export the
	// fixture (its tokenizer is in tokenizer/) into one.
	pipe, err := infer.Load(fix)
	if err != nil {
		t.Fatal(err)
	}
	init := filepath.Join(t.TempDir(), "teacher")
	if err := models.Export(pipe.Model, pipe.Tokenizer, init); err != nil {
		t.Fatal(err)
	}
	base := finetune.DefaultRecipe()
	base.Model.PrevPath = init
	tr := &base.Training
	tr.NumSteps, tr.TrainBatchSize, tr.EvalEvery, tr.SaveEvery, tr.SchedulerType, tr.WarmupRatio = 4, 6, 0, 2, "constant", 0
	tr.LREncoder, tr.LROthers = 1e-3, 1e-3
	base.Data.TrainData = "x"
	train := func(r finetune.Recipe, out string) string {
		s := &FinetuneStudent{Base: &r}
		res, err := s.Train(context.Background(), StudentJob{Round: 1, InitDir: init, Train: exs, Masker: NewMasker(weak),
			OutputDir: out, Seed: 5, LabelSmoothing: 0.1})
		if err != nil {
			t.Fatal(err)
		}
		fp, err := Fingerprint(res.ModelDir)
		if err != nil {
			t.Fatal(err)
		}
		return fp
	}
	a := train(base, filepath.Join(t.TempDir(), "a"))
	bDir := filepath.Join(t.TempDir(), "b")
	if b := train(base, bDir); a != b {
		t.Fatal("same seed: students differ")
	}
	if fp0, _ := Fingerprint(init); a == fp0 {
		t.Fatal("the student did not change the teacher's weights")
	}
	short := base
	short.Training.NumSteps = 2
	cDir := filepath.Join(t.TempDir(), "c")
	if c2 := train(short, cDir); c2 == a {
		t.Fatal("2 steps equal 4 steps")
	}
	if c := train(base, cDir); c != a {
		t.Fatal("resumed student differs from the uninterrupted one")
	}
}

// TestInferEvaluatorIsFlat: rounds are scored with flat decoding, as
// `gliner evaluate` and the students' training runs score them, not with
// the reference's nested model.evaluate default.
func TestInferEvaluatorIsFlat(t *testing.T) {
	fix := testutil.Fixture(t, "uni_span_bert")
	dev, err := data.ReadFile(filepath.Join(testutil.RepoRoot(t), "testdata/sample/dev.jsonl"), data.ReadOptions{}, data.FailFast, nil)
	if err != nil {
		t.Fatal(err)
	}
	labels := []string{"person", "location", "organization", "date"}
	got, err := InferEvaluator{Labels: labels}.Evaluate(context.Background(), fix, dev)
	if err != nil {
		t.Fatal(err)
	}
	p, err := infer.Load(fix)
	if err != nil {
		t.Fatal(err)
	}
	flat, err := p.Evaluate(dev, labels, infer.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	nested, err := p.Evaluate(dev, labels, infer.EvalOptions())
	if err != nil {
		t.Fatal(err)
	}
	if flat.Micro() == nested.Micro() || flat.Micro().Predicted == 0 {
		t.Fatalf("flat %+v, nested %+v: the test cannot tell them apart", flat.Micro(), nested.Micro())
	}
	if got.Micro() != flat.Micro() {
		t.Fatalf("InferEvaluator %+v, flat evaluation %+v (nested %+v)", got.Micro(), flat.Micro(), nested.Micro())
	}
}
