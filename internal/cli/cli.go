// Package cli holds what the command-line tools share: the train and
// selftrain commands (run by cmd/train, cmd/selftrain and as `gliner
// train` / `gliner selftrain`), the version string, signal handling that
// lets a run save a checkpoint before it exits, and Execute, which turns a
// command's error into an exit status.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gliner-go/gliner/dist"
	"github.com/gliner-go/gliner/internal/dirlock"
	"github.com/gliner-go/gliner/train"
)

// Version is the module version and VCS revision the binary was built
// from, and the Go version, e.g. "gliner-go (devel) go1.26.8".
func Version() string {
	v, rev, modified := "(devel)", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	s := "gliner-go " + v
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		s += " " + rev
		if modified {
			s += "+modified"
		}
	}
	return s + " " + runtime.Version()
}

// SetVersion gives cmd and every command below it a --version flag that
// prints Version.
func SetVersion(cmd *cobra.Command) {
	cmd.Version = Version()
	cmd.SetVersionTemplate("{{.Version}}\n")
	for _, c := range cmd.Commands() {
		SetVersion(c)
	}
}

// ExitInterrupted is the exit status of a run stopped by SIGINT or SIGTERM
// (128 + SIGINT, as shells report Ctrl-C).
const ExitInterrupted = 130

// Execute runs cmd on args and returns the exit status: 0, 1 on an error
// (printed to stderr as "name: error"), ExitInterrupted when a run was
// stopped by a signal.
func Execute(cmd *cobra.Command, name string, args []string, stdout, stderr io.Writer) int {
	SetVersion(cmd)
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(stderr, name+":", err)
		if errors.Is(err, train.ErrInterrupted) {
			return ExitInterrupted
		}
		return 1
	}
	return 0
}

// SignalContext returns a context cancelled by the first SIGINT or SIGTERM;
// a message on stderr says the run is stopping. After that signal the
// default handling is restored, so a second Ctrl-C ends the process at
// once. stop releases the signals.
func SignalContext(parent context.Context, stderr io.Writer, what string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			signal.Stop(ch)
			if stderr != nil {
				fmt.Fprintf(stderr, "\n%s: stopping: %s (a second signal ends the process at once)\n", s, what)
			}
			cancel()
		case <-done:
		}
	}()
	var once bool
	return ctx, func() {
		if !once {
			once = true
			signal.Stop(ch)
			close(done)
		}
		cancel()
	}
}

// runFolder remembers whether a run's output folder existed before the
// command, so that a run that fails before it starts leaves no folder it
// created behind.
type runFolder struct {
	dir     string
	existed bool
}

func newRunFolder(dir string) runFolder {
	_, err := os.Lstat(dir)
	return runFolder{dir: dir, existed: err == nil}
}

// cleanup removes the folder when this command created it and it holds
// nothing but the files written before training starts (the log, the
// resolved recipe) and the folder's lock, which it releases (lock may be
// nil: not taken).
func (f runFolder) cleanup(lock *dirlock.Lock, startFiles ...string) {
	if f.existed || f.dir == "" {
		return
	}
	ents, err := os.ReadDir(f.dir)
	if err != nil {
		return
	}
	startFiles = append(startFiles, dirlock.File)
	for _, e := range ents {
		ok := false
		for _, s := range startFiles {
			if e.Name() == s && e.Type().IsRegular() {
				ok = true
			}
		}
		if !ok {
			return
		}
	}
	for _, e := range ents {
		if e.Name() != dirlock.File {
			_ = os.Remove(filepath.Join(f.dir, e.Name()))
		}
	}
	// Release removes the lock file while it still holds the lock, so no
	// other run can take a lock on the file removed here.
	_ = lock.Release()
	_ = os.Remove(f.dir)
}

// closeComm ends a command's communicator; defer it with the command's
// named error. Under mpirun an error on one rank is printed with the rank's
// label and aborts the whole job (MPI_Abort), so the other ranks do not
// wait for it; otherwise a failure to close becomes the command's error.
func closeComm(comm dist.Comm, prog string, stderr io.Writer, err *error) {
	if *err != nil && comm.Size() > 1 {
		fmt.Fprintf(stderr, "%s: %s%v\n", prog, dist.Label(comm), *err)
		comm.Abort(1)
	}
	if cerr := comm.Close(); *err == nil {
		*err = cerr
	}
}
