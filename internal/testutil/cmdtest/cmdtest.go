// Package cmdtest runs the train and selftrain commands as real processes
// for their tests: the test binary re-executed as the command (Main,
// Start), the command built with -tags mpi and started under Open MPI's
// mpirun on loopback (BuildMPI, MPI), waiting until a checkpoint exists
// (WaitForFile), killing one rank of a running job (KillRank), and
// comparing what two runs wrote (Metrics, WeightDiff, DirNames).
//
// Open MPI is a prerequisite of these tests (scripts/setup.sh installs
// it): without mpirun they fail.
package cmdtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/models"
	"github.com/gliner-go/gliner/train"
)

// Main is a command test's TestMain: with the environment variable env
// set (a JSON list of arguments) the test binary runs the command, run,
// and exits with its status, so that a test can start (Start) and signal
// a real run; otherwise it runs the tests and then removes what BuildMPI
// built.
func Main(m *testing.M, env string, run func(args []string, stdout, stderr io.Writer) int) {
	if a := os.Getenv(env); a != "" {
		var args []string
		if err := json.Unmarshal([]byte(a), &args); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(run(args, os.Stdout, os.Stderr))
	}
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// Start starts the test binary as the command (see Main) with args; its
// standard error is collected in the returned buffer.
func Start(t *testing.T, env string, args ...string) (*exec.Cmd, *Buffer) {
	t.Helper()
	a, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command(os.Args[0], "-test.run=^$")
	c.Env = append(os.Environ(), env+"="+string(a))
	se := &Buffer{}
	c.Stderr = se
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	return c, se
}

// WaitForFile returns once path exists, with c still running; after
// timeout it kills c and fails the test with log (c's output).
func WaitForFile(t *testing.T, c *exec.Cmd, log *Buffer, path string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			_ = c.Process.Kill()
			t.Fatalf("no %s after %v:\n%s", path, timeout, log.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Buffer is a bytes.Buffer safe for a process's output goroutines and a
// test reading it meanwhile.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

var (
	buildMu  sync.Mutex
	buildDir string
	builds   = map[string]string{}
)

// BuildMPI builds the command in the test's package (".") with -tags mpi,
// once per test binary, and returns the binary's path. It fails the test
// when mpirun is missing.
func BuildMPI(t *testing.T, name string) string {
	t.Helper()
	if _, err := exec.LookPath("mpirun"); err != nil {
		t.Fatalf("mpirun not found (%v): install Open MPI with scripts/setup.sh (libopenmpi-dev, openmpi-bin)", err)
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	if bin, ok := builds[name]; ok {
		return bin
	}
	if buildDir == "" {
		dir, err := os.MkdirTemp("", "gliner-mpi-")
		if err != nil {
			t.Fatal(err)
		}
		buildDir = dir
	}
	bin := filepath.Join(buildDir, name)
	if out, err := exec.Command("go", "build", "-tags", "mpi", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags mpi: %v\n%s", err, out)
	}
	builds[name] = bin
	return bin
}

// Mpirun is mpirun with args, run from the repository root with Open MPI
// held to loopback (and allowed to run as root).
func Mpirun(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	c := exec.Command("mpirun", args...)
	c.Dir = testutil.RepoRoot(t)
	c.Env = append(os.Environ(), "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1", "OMPI_MCA_btl=self,tcp",
		"OMPI_MCA_btl_tcp_if_include=lo", "OMPI_MCA_oob_tcp_if_include=lo")
	return c
}

// MPI is `mpirun --oversubscribe -np n bin args` (--oversubscribe: n
// ranks on any machine; Open MPI binds each rank to a core).
func MPI(t *testing.T, n int, bin string, args ...string) *exec.Cmd {
	t.Helper()
	return Mpirun(t, append([]string{"--oversubscribe", "-np", strconv.Itoa(n), bin}, args...)...)
}

// MPIUnbound is MPI with --bind-to none: every rank may use all the cores,
// as a single process does. Bound to one core, a rank splits its matrix
// products over fewer goroutines, and with some OpenBLAS kernels
// (Haswell's) a row's rounding depends on the split.
func MPIUnbound(t *testing.T, n int, bin string, args ...string) *exec.Cmd {
	t.Helper()
	return Mpirun(t, append([]string{"--oversubscribe", "--bind-to", "none", "-np", strconv.Itoa(n), bin}, args...)...)
}

// Command is bin args run from the repository root, as MPI's ranks are.
func Command(t *testing.T, bin string, args ...string) *exec.Cmd {
	t.Helper()
	c := exec.Command(bin, args...)
	c.Dir = testutil.RepoRoot(t)
	return c
}

// RunOK runs c and returns its output (stdout and stderr); an error fails
// the test with that output.
func RunOK(t *testing.T, c *exec.Cmd) string {
	t.Helper()
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(c.Args, " "), err, out)
	}
	return string(out)
}

// KillRank starts c, an mpirun job of n ranks, waits (at most timeout)
// until path exists, SIGKILLs the given rank (the child of mpirun whose
// OMPI_COMM_WORLD_RANK it is) and requires the job to fail within 30 s
// with mpirun's message naming the killed process. It returns the killed
// process's pid, how long the job took to stop and its output.
func KillRank(t *testing.T, c *exec.Cmd, n, rank int, path string, timeout time.Duration) (pid int, stopped time.Duration, output string) {
	t.Helper()
	log := &Buffer{}
	c.Stdout, c.Stderr = log, log
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	WaitForFile(t, c, log, path, timeout)
	ranks := Children(t, c.Process.Pid)
	if len(ranks) != n {
		_ = c.Process.Kill()
		t.Fatalf("mpirun has children %v, want the %d ranks", ranks, n)
	}
	for _, p := range ranks {
		env, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "environ"))
		if err == nil && bytes.Contains(append([]byte{0}, env...), []byte(fmt.Sprintf("\x00OMPI_COMM_WORLD_RANK=%d\x00", rank))) {
			pid = p
		}
	}
	if pid == 0 {
		_ = c.Process.Kill()
		t.Fatalf("no child of mpirun (%v) is rank %d", ranks, rank)
	}
	killedAt := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("mpirun succeeded although a rank was killed:\n%s", log.String())
		}
	case <-time.After(30 * time.Second):
		_ = c.Process.Kill()
		t.Fatalf("the job still runs 30 s after a rank was killed:\n%s", log.String())
	}
	stopped = time.Since(killedAt)
	if !strings.Contains(log.String(), "exited on signal 9") {
		t.Errorf("mpirun's message does not name the killed rank:\n%s", log.String())
	}
	return pid, stopped, log.String()
}

// Children lists the processes whose parent is pid, in pid order.
func Children(t *testing.T, pid int) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out
}

// Metrics reads a run's metrics.jsonl: the loss by step and the dev F1 by
// evaluated step.
func Metrics(t *testing.T, path string) (steps, evals map[int]float64) {
	t.Helper()
	recs, err := train.ReadMetrics(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	steps, evals = map[int]float64{}, map[int]float64{}
	for _, r := range recs {
		switch {
		case r.Type == "step" && r.Loss != nil:
			steps[r.Step] = *r.Loss
		case r.Type == "eval" && r.F1 != nil:
			evals[r.Step] = *r.F1
		}
	}
	return steps, evals
}

// CompareRuns fails the test for every step whose loss in two (a
// data-parallel run) differs from one's (a single process) by more than
// rel relative, and for every evaluated step whose dev F1 differs by more
// than 1e-9; what names the model in the messages ("", "student "). It
// returns the largest relative loss difference.
func CompareRuns(t *testing.T, what string, rel float64, l1, f1, l2, f2 map[int]float64) (worst float64) {
	t.Helper()
	for s, a := range l1 {
		r := math.Abs(a-l2[s]) / math.Abs(a)
		worst = math.Max(worst, r)
		if r > rel {
			t.Errorf("step %d: %sloss %v on two ranks, %v in one process (relative %.2g)", s, what, l2[s], a, r)
		}
	}
	for s, a := range f1 {
		if math.Abs(a-f2[s]) > 1e-9 {
			t.Errorf("step %d: %sdev F1 %v on two ranks, %v in one process", s, what, f2[s], a)
		}
	}
	return worst
}

// WeightDiff is the largest |a-b| over the weights of the two exported
// models (GLiNER folders), the largest |a|, and whether they are equal bit
// for bit.
func WeightDiff(t *testing.T, a, b string) (maxDiff, maxAbs float64, bitEqual bool) {
	t.Helper()
	ma, err := models.Load(a)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := models.Load(b)
	if err != nil {
		t.Fatal(err)
	}
	pa, pb := ma.Store.Params(), mb.Store.Params()
	if len(pa) != len(pb) {
		t.Fatalf("%s has %d parameters, %s %d", a, len(pa), b, len(pb))
	}
	bitEqual = true
	for i, p := range pa {
		if pb[i].Name != p.Name || len(pb[i].Data) != len(p.Data) {
			t.Fatalf("parameter %d: %s vs %s", i, p.Name, pb[i].Name)
		}
		for j, v := range p.Data {
			w := pb[i].Data[j]
			if math.Float32bits(v) != math.Float32bits(w) {
				bitEqual = false
			}
			maxDiff = math.Max(maxDiff, math.Abs(float64(v-w)))
			maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
		}
	}
	return maxDiff, maxAbs, bitEqual
}

// DirNames lists dir's entries, space-separated, in name order.
func DirNames(t *testing.T, dir string) string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}
