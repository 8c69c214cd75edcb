package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gliner-go/gliner/internal/testutil/cmdtest"
)

// The data-parallel tests run the train command built with -tags mpi
// under Open MPI's mpirun on loopback (cmdtest.MPI: --oversubscribe, two
// ranks on any machine). Open MPI is a prerequisite of the test suite
// (scripts/setup.sh installs it): without mpirun they fail.

// sampleArgs are 40 steps of the sample recipe, evaluated at 20 and 40
// (threshold 0.2, so that the young model predicts entities), checkpoints
// every 10 steps, all kept.
func sampleArgs(out string) []string {
	return []string{"--recipe", "recipes/uni_span_sample.yaml", "--quiet",
		"--set", "training.num_steps=40", "--set", "training.eval_every=20", "--set", "training.save_every=10",
		"--set", "training.eval_threshold=0.2", "--set", "training.log_every=1", "--set", "training.save_total_limit=0",
		"--set", "training.output_dir=" + out}
}

// TestDataParallelEqualsOneProcess: two ranks (the global batch of 8 split
// 4+4, gradients summed before clipping) take the single-process steps up
// to the order of float additions, and rank 0 alone writes and prints.
// Then a rank killed mid-run stops the job within seconds, and --resume on
// two ranks ends bit for bit where the uninterrupted two-rank run ended.
//
// The rounding differences of the split are ~1e-7 relative at first and
// grow with the steps: at the sample recipe's learning rates (3e-3 for the
// heads) the 40-step trajectory is sensitive to them, and by step 40 the
// two runs measured 9e-6 to 1e-3 relative apart in loss depending only on
// how mpirun bound the ranks to cores (which changes how each rank splits
// its GEMMs), with a few AdamW-amplified weights (rows whose gradient is at
// rounding level, where m/sqrt(v) is O(1) whatever its sign) up to 6e-3
// apart. So the tight comparison is made over the first 10 steps, before
// that growth (losses measured within 3e-7 relative, weights within
// 1.1e-5); the 40 steps are held to 1e-4 relative in loss with mpirun's
// default binding (measured 2e-5; --bind-to none measured 1.2e-4 at step
// 20) and to the same dev F1 within 0.02.
func TestDataParallelEqualsOneProcess(t *testing.T) {
	bin := cmdtest.BuildMPI(t, "train")
	tmp := t.TempDir()
	one, two := filepath.Join(tmp, "one"), filepath.Join(tmp, "two")
	outOne := cmdtest.RunOK(t, cmdtest.Command(t, bin, sampleArgs(one)...))
	outTwo := cmdtest.RunOK(t, cmdtest.MPI(t, 2, bin, sampleArgs(two)...))

	l1, f1 := cmdtest.Metrics(t, filepath.Join(one, "metrics.jsonl"))
	l2, f2 := cmdtest.Metrics(t, filepath.Join(two, "metrics.jsonl"))
	if len(l1) != 40 || len(l2) != 40 || len(f1) != 2 || len(f2) != 2 {
		t.Fatalf("metrics: %d and %d steps, %d and %d evaluations; want 40 and 2", len(l1), len(l2), len(f1), len(f2))
	}
	early, late := 0.0, 0.0
	for s, a := range l1 {
		r := math.Abs(a-l2[s]) / math.Abs(a)
		if s > 10 {
			late = math.Max(late, r)
			if r > 1e-4 {
				t.Errorf("step %d: loss %v on two ranks, %v in one process (relative %.2g, the issue's bound 1e-4)", s, l2[s], a, r)
			}
			continue
		}
		early = math.Max(early, r)
		if r > 1e-5 {
			t.Errorf("step %d: loss %v on two ranks, %v in one process (relative %.2g)", s, l2[s], a, r)
		}
	}
	for s, a := range f1 {
		if math.Abs(a-f2[s]) > 0.02 {
			t.Errorf("step %d: dev F1 %v on two ranks, %v in one process", s, f2[s], a)
		}
	}
	if f1[40] < 0.05 {
		t.Fatalf("dev F1 %v at step 40: the comparison needs a model that predicts", f1[40])
	}
	d, m, _ := cmdtest.WeightDiff(t, filepath.Join(one, "checkpoint-10"), filepath.Join(two, "checkpoint-10"))
	dFinal, _, _ := cmdtest.WeightDiff(t, filepath.Join(one, "final"), filepath.Join(two, "final"))
	t.Logf("two ranks vs one process: steps 1-10 loss relative difference ≤ %.3g, checkpoint-10 weights |Δ| ≤ %.3g (largest |w| %.3g); steps 11-40 loss ≤ %.3g, final weights |Δ| ≤ %.3g; dev F1 %.4f and %.4f",
		early, d, m, late, dFinal, f1[40], f2[40])
	if d > 1e-4*m {
		t.Errorf("checkpoint-10 weights differ by up to %g (largest weight %g)", d, m)
	}
	// Rank 0 alone prints the result; the output folders hold the same files.
	if n := strings.Count(outTwo, "dev F1 "); n != 1 || strings.Count(outOne, "dev F1 ") != 1 {
		t.Errorf("the two-rank run printed the dev F1 %d times:\n%s", n, outTwo)
	}
	if a, b := cmdtest.DirNames(t, one), cmdtest.DirNames(t, two); a != b {
		t.Errorf("output_dir files: one process %s, two ranks %s", a, b)
	}

	t.Run("kill and resume", func(t *testing.T) {
		killed := filepath.Join(tmp, "killed")
		_, stopped, _ := cmdtest.KillRank(t, cmdtest.MPI(t, 2, bin, sampleArgs(killed)...), 2, 1,
			filepath.Join(killed, "checkpoint-10", "trainer_state.json"), 2*time.Minute)
		if _, err := os.Stat(filepath.Join(killed, "final")); err == nil {
			t.Fatal("the killed run exported a final model: it was not killed mid-run")
		}
		t.Logf("job stopped %v after rank 1 was killed", stopped.Round(time.Millisecond))
		if stopped > 10*time.Second {
			t.Errorf("the job took %v to stop after a rank was killed", stopped)
		}
		cmdtest.RunOK(t, cmdtest.MPI(t, 2, bin, append(sampleArgs(killed), "--resume")...))
		if _, _, eq := cmdtest.WeightDiff(t, filepath.Join(two, "final"), filepath.Join(killed, "final")); !eq {
			t.Error("the resumed two-rank run's final weights are not bit-identical to the uninterrupted two-rank run's")
		}
		lk, fk := cmdtest.Metrics(t, filepath.Join(killed, "metrics.jsonl"))
		for s := 1; s <= 40; s++ {
			if v, ok := lk[s]; !ok || v != l2[s] {
				t.Errorf("step %d: resumed loss %v (recorded %v), uninterrupted %v", s, v, ok, l2[s])
			}
		}
		if fk[40] != f2[40] {
			t.Errorf("resumed dev F1 %v, uninterrupted %v", fk[40], f2[40])
		}
	})
}

// TestDataParallelRefusesDisagreement: ranks given different recipes, or
// the same recipe over different data (same relative paths, different
// working directories), refuse to start, naming what differs.
func TestDataParallelRefusesDisagreement(t *testing.T) {
	bin := cmdtest.BuildMPI(t, "train")
	tmp := t.TempDir()
	args := func(extra ...string) []string {
		return append([]string{bin, "--recipe", "recipe.yaml", "--quiet", "--set", "training.num_steps=2",
			"--set", "data.train_data=train.jsonl", "--set", "data.val_data=dev.jsonl", "--set", "training.output_dir=out"}, extra...)
	}
	rb, err := os.ReadFile("../../recipes/uni_span_sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"a", "b"} {
		dir := filepath.Join(tmp, d)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"train.jsonl", "dev.jsonl"} {
			b, err := os.ReadFile(filepath.Join("../../testdata/sample", f))
			if err != nil {
				t.Fatal(err)
			}
			if d == "b" && f == "train.jsonl" {
				b = []byte(strings.Replace(string(b), `"person"`, `"human"`, 1))
			}
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "recipe.yaml"), rb, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name   string
		a, b   []string
		dirB   string
		expect string
	}{
		{"recipe", args(), args("--set", "training.seed=43"), "a", "rank 1's recipe differs from rank 0's"},
		{"data", args(), args(), "b", "rank 1's training data differs from rank 0's"},
	} {
		mpmd := append([]string{"--oversubscribe", "-np", "1", "-wdir", filepath.Join(tmp, "a")}, c.a...)
		mpmd = append(append(mpmd, ":", "-np", "1", "-wdir", filepath.Join(tmp, c.dirB)), c.b...)
		cmd := cmdtest.Mpirun(t, mpmd...)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("%s: ranks that disagree trained:\n%s", c.name, out)
		}
		if !strings.Contains(string(out), c.expect) {
			t.Fatalf("%s: output does not say %q:\n%s", c.name, c.expect, out)
		}
		if _, err := os.Stat(filepath.Join(tmp, "a", "out", "checkpoint-2")); err == nil {
			t.Fatalf("%s: a checkpoint was written", c.name)
		}
		t.Logf("%s: refused in %v", c.name, time.Since(start).Round(time.Millisecond))
	}
}
