package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gliner-go/gliner/internal/dirlock"
	"github.com/gliner-go/gliner/internal/testutil/cmdtest"
	"github.com/gliner-go/gliner/train"
)

// The data-parallel test runs the selftrain command built with -tags mpi
// under Open MPI's mpirun on loopback (cmdtest.MPIUnbound: --oversubscribe,
// two ranks on any machine; --bind-to none), as cmd/train's TestDataParallelEqualsOneProcess. Open MPI is a
// prerequisite of the test suite (scripts/setup.sh installs it): without
// mpirun it fails.

// selftrainRecipe writes a one-round self-training recipe over the sample
// data (paths relative to the repository root): a teacher trained for 150
// steps on 64 gold examples, a student trained for 20 steps (the student
// settings of recipes/selftrain.yaml, evaluated at 10 and 20) on its weak
// labels mixed with gold.
func selftrainRecipe(t *testing.T, path, out string) {
	t.Helper()
	y := fmt.Sprintf(`output_dir: %s
seed: 42
rounds: 1
dev_data: testdata/sample/dev.jsonl
teacher:
  recipe: recipes/uni_span_sample.yaml
  gold_examples: 64
  sets: [training.num_steps=150, training.eval_every=0, training.output_dir=unused]
corpus:
  files: [testdata/sample/corpus.txt]
weak_labels:
  threshold: 0.5
  low: 0.3
  mask_uncertain: true
student:
  sets: [training.num_steps=20, training.warmup_ratio=0.0, training.lr_encoder=1.0e-4, training.lr_others=3.0e-4,
         training.eval_every=10, training.save_every=10, training.log_every=1, training.eval_threshold=0.2, training.output_dir=unused]
  label_smoothing: 0.01
  gold_ratio: 0.2
`, out)
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	es, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDataParallelEqualsOneProcess: a round of self-training whose student
// trains on two ranks gives the single-process student's per-step losses
// within 1e-4 relative, the same dev F1 and nearly the same weights. Both
// runs start from the same first teacher (the single-process run trains
// it; the two-rank run finds it in its output_dir), rank 0 labels the
// corpus (the same weak-label file, byte for byte), every rank trains on
// it, and rank 0 alone writes and prints.
func TestDataParallelEqualsOneProcess(t *testing.T) {
	tmp := t.TempDir()
	bin := cmdtest.BuildMPI(t, "selftrain")
	one, two := filepath.Join(tmp, "one"), filepath.Join(tmp, "two")
	r1, r2 := filepath.Join(tmp, "one.yaml"), filepath.Join(tmp, "two.yaml")
	selftrainRecipe(t, r1, one)
	selftrainRecipe(t, r2, two)
	outOne := cmdtest.RunOK(t, cmdtest.Command(t, bin, "--recipe", r1))
	teacher := filepath.Join("round-000", "teacher", "final")
	copyDir(t, filepath.Join(one, teacher), filepath.Join(two, teacher))
	// --bind-to none (cmdtest.MPIUnbound): rank 0 labels with as many
	// cores as the single process. Bound to one core, it splits the
	// teacher's matrix products over fewer goroutines, and with some
	// OpenBLAS kernels (Haswell's) a row's rounding depends on the split,
	// enough to move a span across the threshold.
	outTwo := cmdtest.RunOK(t, cmdtest.MPIUnbound(t, 2, bin, "--recipe", r2))

	w1, err := os.ReadFile(filepath.Join(one, "round-001", "weak.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	w2, err := os.ReadFile(filepath.Join(two, "round-001", "weak.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w1, w2) {
		t.Fatal("the two-rank run's weak labels differ from the single-process run's")
	}
	l1, f1 := cmdtest.Metrics(t, filepath.Join(one, "round-001", "train", "metrics.jsonl"))
	l2, f2 := cmdtest.Metrics(t, filepath.Join(two, "round-001", "train", "metrics.jsonl"))
	if len(l1) != 20 || len(l2) != 20 || len(f1) != 2 || len(f2) != 2 {
		t.Fatalf("student metrics: %d and %d steps, %d and %d evaluations; want 20 and 2", len(l1), len(l2), len(f1), len(f2))
	}
	worst := cmdtest.CompareRuns(t, "student ", 1e-4, l1, f1, l2, f2)
	if f1[20] < 0.05 {
		t.Fatalf("student dev F1 %v at step 20: the comparison needs a model that predicts", f1[20])
	}
	var rep1, rep2 struct {
		DevF1 *float64 `json:"dev_f1"`
	}
	for _, c := range []struct {
		dir string
		v   any
	}{{one, &rep1}, {two, &rep2}} {
		b, err := os.ReadFile(filepath.Join(c.dir, "round-001", "round.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, c.v); err != nil {
			t.Fatal(err)
		}
	}
	if rep1.DevF1 == nil || rep2.DevF1 == nil || *rep1.DevF1 != *rep2.DevF1 {
		t.Errorf("round 1 dev F1: %v in one process, %v on two ranks", rep1.DevF1, rep2.DevF1)
	}

	d, m, _ := cmdtest.WeightDiff(t, filepath.Join(one, "round-001", "train", "final"), filepath.Join(two, "round-001", "train", "final"))
	t.Logf("student on two ranks vs one process: loss relative difference ≤ %.3g; final weights |Δ| ≤ %.3g (largest |w| %.3g); student dev F1 %.4f",
		worst, d, m, f1[20])
	if d > 5e-5*m {
		t.Errorf("final student weights differ by up to %g (largest weight %g)", d, m)
	}
	// Rank 0 alone prints; the folders hold the same files.
	if n := strings.Count(outTwo, "round 1: dev F1 "); n != 1 || strings.Count(outOne, "round 1: dev F1 ") != 1 {
		t.Errorf("the two-rank run printed round 1 %d times:\n%s", n, outTwo)
	}
	for _, sub := range []string{".", "round-001", filepath.Join("round-001", "train")} {
		if a, b := cmdtest.DirNames(t, filepath.Join(one, sub)), cmdtest.DirNames(t, filepath.Join(two, sub)); a != b {
			t.Errorf("%s: one process %s, two ranks %s", sub, a, b)
		}
	}
	if strings.Contains(outTwo, "training the teacher") {
		t.Errorf("the two-rank run retrained the teacher it was given:\n%s", outTwo)
	}

	t.Run("kill and resume", func(t *testing.T) {
		// The same two-rank run, from the same teacher; rank 0 (the writer,
		// which holds output_dir's lock) is SIGKILLed once the student has
		// saved checkpoint-10 of its 20 steps. The same command again on two
		// ranks (selftrain resumes without a flag) reuses the weak labels,
		// resumes the student and ends where the uninterrupted run ended,
		// byte for byte.
		killed, rk := filepath.Join(tmp, "killed"), filepath.Join(tmp, "killed.yaml")
		selftrainRecipe(t, rk, killed)
		copyDir(t, filepath.Join(one, teacher), filepath.Join(killed, teacher))
		student := filepath.Join(killed, "round-001", "train")
		pid, stopped, _ := cmdtest.KillRank(t, cmdtest.MPIUnbound(t, 2, bin, "--recipe", rk), 2, 0,
			filepath.Join(train.CheckpointDir(student, 10), "trainer_state.json"), 5*time.Minute)
		t.Logf("job stopped %v after rank 0 was killed", stopped.Round(time.Millisecond))
		if stopped > 10*time.Second {
			t.Errorf("the job took %v to stop after rank 0 was killed", stopped)
		}
		_, steps, err := train.Checkpoints(student)
		if err != nil {
			t.Fatal(err)
		}
		if last := steps[len(steps)-1]; last >= 20 {
			t.Fatalf("the student had saved checkpoint-%d of 20 when rank 0 was killed: not killed mid-run", last)
		}
		if _, err := os.Stat(filepath.Join(killed, "round-001", "round.json")); !os.IsNotExist(err) {
			t.Fatalf("the killed run finished its round (%v)", err)
		}
		// The killed rank 0 left its lock file behind; it blocks nothing.
		if b, err := os.ReadFile(filepath.Join(killed, dirlock.File)); err != nil || !strings.HasPrefix(string(b), fmt.Sprint(pid, " ")) {
			t.Errorf("lock file after rank 0 (pid %d) was killed: %q, %v", pid, b, err)
		}

		outResumed := cmdtest.RunOK(t, cmdtest.MPIUnbound(t, 2, bin, "--recipe", rk))
		if strings.Count(outResumed, "round 1: dev F1 ") != 1 {
			t.Errorf("the resumed run printed:\n%s", outResumed)
		}
		log, err := os.ReadFile(filepath.Join(killed, "train.log"))
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf(`"checkpoint":%q`, train.CheckpointDir(student, steps[len(steps)-1])); !strings.Contains(string(log), want) {
			t.Errorf("train.log does not say the student resumed from %s", train.CheckpointDir(student, steps[len(steps)-1]))
		}
		for _, f := range []string{"round-001/weak.parquet", "round-001/train/final/model.safetensors",
			"round-001/train/checkpoint-20/model.safetensors", "round-001/train/checkpoint-20/optimizer.safetensors"} {
			a, err1 := os.ReadFile(filepath.Join(two, f))
			b, err2 := os.ReadFile(filepath.Join(killed, f))
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: %v %v", f, err1, err2)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("%s differs between the uninterrupted and the resumed two-rank run", f)
			}
		}
		lk, fk := cmdtest.Metrics(t, filepath.Join(student, "metrics.jsonl"))
		for s := 1; s <= 20; s++ {
			if v, ok := lk[s]; !ok || v != l2[s] {
				t.Errorf("step %d: resumed student loss %v (recorded %v), uninterrupted %v", s, v, ok, l2[s])
			}
		}
		if len(fk) != 2 || fk[10] != f2[10] || fk[20] != f2[20] {
			t.Errorf("resumed student dev F1 %v, uninterrupted %v", fk, f2)
		}
		var rep struct {
			DevF1 *float64 `json:"dev_f1"`
		}
		b, err := os.ReadFile(filepath.Join(killed, "round-001", "round.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatal(err)
		}
		if rep.DevF1 == nil || *rep.DevF1 != *rep2.DevF1 {
			t.Errorf("round 1 dev F1: %v resumed, %v uninterrupted", rep.DevF1, *rep2.DevF1)
		}
		if _, err := os.Stat(filepath.Join(killed, dirlock.File)); !os.IsNotExist(err) {
			t.Errorf("the resumed run left its lock file (%v)", err)
		}
	})
}
