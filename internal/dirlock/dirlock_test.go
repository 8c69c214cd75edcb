package dirlock

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary hold a lock in a child process: with
// DIRLOCK_HOLD set to a folder it locks it, prints "locked" and sleeps
// until killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("DIRLOCK_HOLD"); dir != "" {
		if _, err := Acquire(dir); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("locked")
		time.Sleep(time.Hour)
	}
	os.Exit(m.Run())
}

// holdInChild starts a child process that locks dir and returns once it
// holds the lock.
func holdInChild(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	c := exec.Command(os.Args[0], "-test.run=^$")
	c.Env = append(os.Environ(), "DIRLOCK_HOLD="+dir)
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
	b := make([]byte, 64)
	n, _ := out.Read(b)
	if got := strings.TrimSpace(string(b[:n])); got != "locked" {
		t.Fatalf("child: %q", got)
	}
	return c
}

// A folder locked by another process is refused with its pid, host and
// the folder's name; once that process is SIGKILLed (its lock file left
// behind, naming it) the folder is free.
func TestBusyThenFreeAfterKill(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	child := holdInChild(t, dir)
	_, err := Acquire(dir)
	var busy *BusyError
	if !errors.As(err, &busy) {
		t.Fatalf("Acquire on a held folder: %v, want a *BusyError", err)
	}
	host, _ := os.Hostname()
	if busy.Pid != child.Process.Pid || busy.Host != host || busy.Dir != dir {
		t.Fatalf("BusyError %+v, want pid %d host %q dir %s", busy, child.Process.Pid, host, dir)
	}
	want := fmt.Sprintf("output_dir %s is in use by another run (pid %d on %s holds %s)", dir, child.Process.Pid, host, filepath.Join(dir, File))
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q lacks %q", err, want)
	}

	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	b, err := os.ReadFile(filepath.Join(dir, File))
	if err != nil || !strings.HasPrefix(string(b), fmt.Sprint(child.Process.Pid, " ")) {
		t.Fatalf("the killed holder's lock file: %q, %v", b, err)
	}
	l, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after the holder was killed: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, File)); string(b) != fmt.Sprintf("%d %s\n", os.Getpid(), host) {
		t.Fatalf("lock file after Acquire: %q", b)
	}
	// In the same process a second Acquire is refused too (flock locks
	// belong to the open file, not the process).
	if _, err := Acquire(dir); !errors.As(err, &busy) || busy.Pid != os.Getpid() {
		t.Fatalf("second Acquire in the holder: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, File)); !os.IsNotExist(err) {
		t.Fatalf("lock file after Release: %v", err)
	}
	l2, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	_ = l2.Release()
}

// A process that opened the lock file just before its holder released
// (and removed) it gets, by its flock, a lock on the removed file: Acquire
// sees that the locked file is no longer the folder's and opens the
// folder's again, so that a third process cannot lock the folder too.
func TestLockOnRemovedFileIsRetaken(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	opens := 0
	testHookOpened = func() {
		opens++
		if opens == 1 {
			if err := l.Release(); err != nil {
				t.Error(err)
			}
		}
	}
	l2, err := Acquire(dir)
	testHookOpened = nil
	if err != nil {
		t.Fatalf("Acquire while the holder releases: %v", err)
	}
	defer l2.Release()
	if opens != 2 {
		t.Fatalf("the lock file was opened %d times, want 2 (the removed one, then the new one)", opens)
	}
	var busy *BusyError
	if _, err := Acquire(dir); !errors.As(err, &busy) || busy.Pid != os.Getpid() {
		t.Fatalf("a third Acquire: %v, want it refused", err)
	}
}

func TestAcquireErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(filepath.Join(file, "out")); err == nil || !strings.Contains(err.Error(), "output_dir") || !strings.Contains(err.Error(), file) {
		t.Fatalf("Acquire under a file: %v", err)
	}
}
