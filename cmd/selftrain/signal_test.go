package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/internal/testutil/cmdtest"
	"github.com/gliner-go/gliner/train"
)

// TestMain lets the test binary act as the selftrain command: with
// GLINER_SELFTRAIN_ARGS set (a JSON list) it runs the command and exits,
// so a test can signal a real self-training process.
func TestMain(m *testing.M) { cmdtest.Main(m, "GLINER_SELFTRAIN_ARGS", run) }

// SIGTERM during a student's training makes selftrain save the student's
// checkpoint and exit 130; the same command again resumes that student
// from its checkpoint and finishes the run.
func TestSIGTERMSavesStudentAndResumes(t *testing.T) {
	root := testutil.RepoRoot(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	sample := filepath.Join(root, "recipes", "uni_span_sample.yaml")
	y := fmt.Sprintf(`output_dir: %s
seed: 3
rounds: 1
dev_data: none
teacher:
  recipe: %s
  gold_examples: 64
  sets: [data.train_data=%s, data.val_data=none, model.encoder_config.hidden_size=32, model.encoder_config.intermediate_size=64,
         model.encoder_config.num_hidden_layers=1, model.hidden_size=32, training.num_steps=60, training.eval_every=0, training.log_every=0]
corpus:
  files: [%s]
weak_labels:
  labels: [person, location, organization]
  threshold: 0.5
  low: 0.2
student:
  sets: [training.num_steps=2000, training.save_every=10, training.eval_every=0, training.log_every=0]
  gold_ratio: 0.2
`, out, sample, filepath.Join(root, "testdata/sample/train.jsonl"), filepath.Join(root, "testdata/sample/corpus.txt"))
	recipe := filepath.Join(dir, "selftrain.yaml")
	if err := os.WriteFile(recipe, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, se := cmdtest.Start(t, "GLINER_SELFTRAIN_ARGS", "--recipe", recipe, "--quiet")
	studentDir := filepath.Join(out, "round-001", "train")
	cmdtest.WaitForFile(t, cmd, se, train.CheckpointDir(studentDir, 10), 120*time.Second)
	// While it runs, a second run on its output_dir is refused, naming the
	// folder and the running process.
	want := fmt.Sprintf("output_dir %s is in use by another run (pid %d on ", out, cmd.Process.Pid)
	if code, text := runCLI(t, "--recipe", recipe, "--quiet"); code != 1 || !strings.Contains(text, want) {
		_ = cmd.Process.Kill()
		t.Fatalf("a second run on a folder in use: exit %d, %q; want %q", code, text, want)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if rc := cmd.ProcessState.ExitCode(); rc != 130 {
		t.Fatalf("exit status %d after SIGTERM, want 130: %s", rc, se.String())
	}
	if !strings.Contains(se.String(), "interrupted") || !strings.Contains(se.String(), "run the same command again to continue") {
		t.Fatalf("stderr after SIGTERM: %s", se.String())
	}
	_, steps, err := train.Checkpoints(studentDir)
	if err != nil || len(steps) == 0 {
		t.Fatalf("student checkpoints %v: %v", steps, err)
	}
	last := steps[len(steps)-1]
	if last >= 2000 {
		t.Fatalf("the student finished (step %d) before the signal", last)
	}
	if _, err := os.Stat(filepath.Join(out, "round-001", "round.json")); !os.IsNotExist(err) {
		t.Fatalf("the interrupted round is marked done (%v)", err)
	}
	// Again, to the end, resuming the student (shorter: the recipe's steps
	// are overridden, the checkpoint position kept).
	code, outText := runCLI(t, "--recipe", recipe, "--quiet", "--set", "student.sets=[training.num_steps="+fmt.Sprint(last+10)+", training.save_every=10, training.eval_every=0, training.log_every=0]")
	if code != 0 || !strings.Contains(outText, "stopped after round 1") {
		t.Fatalf("rerun: exit %d: %s", code, outText)
	}
	log, err := os.ReadFile(filepath.Join(out, "train.log"))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(`"checkpoint":%q`, train.CheckpointDir(studentDir, last)); !strings.Contains(string(log), want) {
		t.Fatalf("train.log does not say the student resumed from %s", train.CheckpointDir(studentDir, last))
	}
}
