package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gliner-go/gliner/internal/dirlock"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/internal/testutil/cmdtest"
	"github.com/gliner-go/gliner/train"
)

// TestMain lets the test binary act as the train command: with
// GLINER_TRAIN_ARGS set (a JSON list) it runs the command and exits, so a
// test can start a real training process and kill it.
func TestMain(m *testing.M) { cmdtest.Main(m, "GLINER_TRAIN_ARGS", run) }

// A tiny model with dropout everywhere and negative sampling in the loss,
// so that a bit-exact resume needs the model's random stream restored too.
const recipe = `model:
  encoder_config:
    model_type: deberta-v2
    hidden_size: 32
    num_hidden_layers: 1
    num_attention_heads: 2
    intermediate_size: 64
    max_position_embeddings: 512
    relative_attention: true
    position_buckets: 32
    max_relative_positions: -1
    pos_att_type: [p2c, c2p]
    norm_rel_ebd: layer_norm
    share_att_key: true
    position_biased_input: false
    type_vocab_size: 0
    hidden_dropout_prob: 0.1
    attention_probs_dropout_prob: 0.1
  hidden_size: 32
  max_width: 4
  max_len: 64
  dropout: 0.2
  max_types: 25
data:
  train_data: %s
  val_data: %s
training:
  num_steps: 60
  train_batch_size: 8
  eval_every: 10
  save_every: 5
  save_total_limit: 0
  lr_encoder: 3.0e-3
  lr_others: 1.0e-2
  negatives: 0.7
  masking: global
  seed: 5
  output_dir: %s
`

func writeRecipe(t *testing.T, out string) string {
	root := testutil.RepoRoot(t)
	p := filepath.Join(t.TempDir(), "tiny.yaml")
	y := fmt.Sprintf(recipe, filepath.Join(root, "testdata/sample/train.jsonl"), filepath.Join(root, "testdata/sample/dev.jsonl"), out)
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runCmd(t *testing.T, args ...string) (int, string, string) {
	var so, se bytes.Buffer
	rc := run(args, &so, &se)
	return rc, so.String(), se.String()
}

// Kill a real training process with SIGKILL after its step-20 checkpoint,
// resume it, and require the same final weights, optimizer state and dev
// scores as an uninterrupted run, bit for bit.
func TestResumeAfterSIGKILLIsBitExact(t *testing.T) {
	tmp := t.TempDir()
	full, killed := filepath.Join(tmp, "full"), filepath.Join(tmp, "killed")
	rf := writeRecipe(t, full)

	rc, outFull, errs := runCmd(t, "--recipe", rf, "--quiet")
	if rc != 0 {
		t.Fatalf("uninterrupted run: rc %d: %s", rc, errs)
	}

	rk := writeRecipe(t, killed)
	cmd, se := startUntilCheckpoint(t, rk, killed, 20)
	// While it runs, a second run on its output_dir is refused, naming the
	// folder and the running process, --resume or not.
	for _, extra := range [][]string{nil, {"--resume"}} {
		rc, _, errs := runCmd(t, append([]string{"--recipe", rk, "--quiet"}, extra...)...)
		want := fmt.Sprintf("output_dir %s is in use by another run (pid %d on ", killed, cmd.Process.Pid)
		if rc != 1 || !strings.Contains(errs, want) {
			_ = cmd.Process.Kill()
			t.Fatalf("a second run %v on a folder in use: rc %d, stderr %q; want %q", extra, rc, errs, want)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the training process was not killed mid-run (%v): %s", err, se.String())
	}
	_, steps, err := train.Checkpoints(killed)
	if err != nil {
		t.Fatal(err)
	}
	if last := steps[len(steps)-1]; last >= 60 {
		t.Fatalf("killed run already reached step %d", last)
	}
	if _, err := os.Stat(filepath.Join(killed, "final")); !os.IsNotExist(err) {
		t.Fatalf("killed run has a final folder (%v)", err)
	}

	// The killed process left its lock file, which blocks nothing: without
	// --resume the folder is refused for its checkpoints, with --resume it
	// is taken.
	if b, err := os.ReadFile(filepath.Join(killed, dirlock.File)); err != nil || !strings.HasPrefix(string(b), fmt.Sprint(cmd.Process.Pid, " ")) {
		t.Fatalf("the killed run's lock file: %q, %v", b, err)
	}
	if rc, _, errs := runCmd(t, "--recipe", rk, "--quiet"); rc != 1 || !strings.Contains(errs, "--resume") {
		t.Fatalf("rerun without --resume: rc %d, %s", rc, errs)
	}
	rc, outResumed, errs := runCmd(t, "--recipe", rk, "--quiet", "--resume")
	if rc != 0 {
		t.Fatalf("resumed run: rc %d: %s", rc, errs)
	}
	if _, err := os.Stat(filepath.Join(killed, dirlock.File)); !os.IsNotExist(err) {
		t.Fatalf("the resumed run left its lock file (%v)", err)
	}
	for _, f := range []string{"final/model.safetensors", "checkpoint-60/model.safetensors", "checkpoint-60/optimizer.safetensors", "best/model.safetensors"} {
		a, err1 := os.ReadFile(filepath.Join(full, f))
		b, err2 := os.ReadFile(filepath.Join(killed, f))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", f, err1, err2)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("%s differs between the uninterrupted and the resumed run", f)
		}
	}
	devLine := func(s string) string {
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, "dev F1 ") {
				return l
			}
		}
		t.Fatalf("no dev F1 line in %q", s)
		return ""
	}
	if a, b := devLine(outFull), devLine(outResumed); a != b {
		t.Fatalf("dev scores differ: %q vs %q", a, b)
	}
	// The resumed metrics file holds each step once.
	recs, err := train.ReadMetrics(filepath.Join(killed, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		k := fmt.Sprint(r.Type, r.Step)
		if seen[k] {
			t.Fatalf("metrics hold %s twice", k)
		}
		seen[k] = true
	}
	if len(seen) != 60+6 {
		t.Fatalf("%d metrics records, want 60 steps + 6 evaluations", len(seen))
	}
}

// SIGTERM (as Ctrl-C) makes the command save a checkpoint of its last
// finished step and exit 130; --resume from it ends bit for bit where an
// uninterrupted run ends.
func TestSIGTERMSavesCheckpointAndResumesBitExact(t *testing.T) {
	tmp := t.TempDir()
	full, stopped := filepath.Join(tmp, "full"), filepath.Join(tmp, "stopped")
	if rc, _, errs := runCmd(t, "--recipe", writeRecipe(t, full), "--quiet"); rc != 0 {
		t.Fatalf("uninterrupted run: rc %d: %s", rc, errs)
	}
	rs := writeRecipe(t, stopped)
	cmd, se := startUntilCheckpoint(t, rs, stopped, 10)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if rc := cmd.ProcessState.ExitCode(); rc != 130 {
		t.Fatalf("exit status %d after SIGTERM, want 130: %s", rc, se.String())
	}
	_, steps, err := train.Checkpoints(stopped)
	if err != nil {
		t.Fatal(err)
	}
	last := steps[len(steps)-1]
	if last >= 60 {
		t.Fatalf("the run reached step %d before the signal", last)
	}
	msg := fmt.Sprintf("interrupted after step %d; checkpoint %s saved: continue with --resume", last, train.CheckpointDir(stopped, last))
	if !strings.Contains(se.String(), msg) {
		t.Fatalf("stderr lacks %q:\n%s", msg, se.String())
	}
	if rc, _, errs := runCmd(t, "--recipe", rs, "--quiet", "--resume"); rc != 0 {
		t.Fatalf("resumed run: rc %d: %s", rc, errs)
	}
	for _, f := range []string{"final/model.safetensors", "checkpoint-60/optimizer.safetensors"} {
		a, err1 := os.ReadFile(filepath.Join(full, f))
		b, err2 := os.ReadFile(filepath.Join(stopped, f))
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Fatalf("%s differs between the uninterrupted run and the one resumed after SIGTERM at step %d (%v %v)", f, last, err1, err2)
		}
	}
}

func TestVersion(t *testing.T) {
	rc, so, errs := runCmd(t, "--version")
	if rc != 0 || !strings.HasPrefix(so, "gliner-go ") || !strings.Contains(so, runtime.Version()) {
		t.Fatalf("--version: rc %d, %q %q", rc, so, errs)
	}
}

func TestCommandErrors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	rf := writeRecipe(t, out)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{}, "--recipe is required"},
		{[]string{"--recipe", rf, "--set", "training.num_stpes=3"}, `unknown key "num_stpes" in training`},
		{[]string{"--recipe", rf, "--set", "training.num_steps=x"}, "does not fit int"},
		{[]string{"--recipe", rf, "--set", "model.model_name=/nonexistent"}, "/nonexistent"},
		{[]string{"--recipe", filepath.Join(out, "missing.yaml")}, "missing.yaml"},
		{[]string{"--recipe", rf, "extra"}, "unknown command"},
	} {
		rc, _, errs := runCmd(t, c.args...)
		if rc != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: rc %d, stderr %q, want %q", c.args, rc, errs, c.want)
		}
		// A run that fails before its first step leaves no folder behind.
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatalf("%v: the failed run left %s (%v)", c.args, out, err)
		}
	}
	// A folder that existed before is kept, with the log of the failure.
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if rc, _, _ := runCmd(t, "--recipe", rf, "--quiet", "--set", "model.model_name=/nonexistent"); rc != 1 {
		t.Fatalf("rc %d", rc)
	}
	if _, err := os.Stat(filepath.Join(out, "train.log")); err != nil {
		t.Fatalf("existing folder: %v", err)
	}
	rc, so, errs := runCmd(t, "--recipe", rf, "--set", "training.num_steps=9", "--print-recipe")
	if rc != 0 || !strings.Contains(so, "num_steps: 9") || !strings.Contains(so, "lr_others: 0.01") {
		t.Fatalf("--print-recipe: rc %d, %s %s", rc, so, errs)
	}
}

// startUntilCheckpoint starts the train command on recipe in a child
// process and returns once outDir holds checkpoint-step (at most 60 s),
// with the child still running and its standard error collected in se.
func startUntilCheckpoint(t *testing.T, recipe, outDir string, step int) (cmd *exec.Cmd, se *cmdtest.Buffer) {
	t.Helper()
	cmd, se = cmdtest.Start(t, "GLINER_TRAIN_ARGS", "--recipe", recipe, "--quiet")
	cmdtest.WaitForFile(t, cmd, se, train.CheckpointDir(outDir, step), 60*time.Second)
	return cmd, se
}
