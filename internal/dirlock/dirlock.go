// Package dirlock keeps two runs out of one output folder. Acquire takes
// an exclusive flock(2) on a lock file in the folder and writes the
// holder's pid and host into it; a second Acquire on the same folder, from
// any process, fails at once with a BusyError naming the folder and that
// pid. The kernel releases a flock when its holder dies, so the file a
// SIGKILLed run leaves behind does not block the next run.
package dirlock

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// File is the lock file's name inside the locked folder.
const File = ".gliner.lock"

// testHookOpened, when set, runs between the lock file's open and flock.
var testHookOpened func()

// Lock is a held folder lock.
type Lock struct {
	f    *os.File
	path string
}

// BusyError says that another process holds the folder's lock.
type BusyError struct {
	Dir  string
	Pid  int    // 0: the holder has not written its pid yet
	Host string // the holder's host name, as it wrote it
}

func (e *BusyError) Error() string {
	who := "another process"
	if e.Pid > 0 {
		who = "pid " + strconv.Itoa(e.Pid)
		if e.Host != "" {
			who += " on " + e.Host
		}
	}
	return fmt.Sprintf("output_dir %s is in use by another run (%s holds %s): wait for it to end, stop it, or choose another output_dir",
		e.Dir, who, filepath.Join(e.Dir, File))
}

// Acquire creates dir if needed and locks it for this process, or returns a
// *BusyError if another process holds it.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("output_dir: %w", err)
	}
	path := filepath.Join(dir, File)
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("lock output_dir: %w", err)
		}
		if testHookOpened != nil {
			testHookOpened()
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			defer f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				pid, host := holder(f)
				return nil, &BusyError{Dir: dir, Pid: pid, Host: host}
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		// The previous holder removes the file when it releases it: if that
		// happened between our open and flock, we hold a lock on a file no
		// longer in the folder, and must open the path again.
		var held, named syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &held); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if err := syscall.Stat(path, &named); err != nil || named.Dev != held.Dev || named.Ino != held.Ino {
			f.Close()
			continue
		}
		host, _ := os.Hostname()
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if _, err := f.WriteAt([]byte(fmt.Sprintf("%d %s\n", os.Getpid(), host)), 0); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		return &Lock{f: f, path: path}, nil
	}
}

// holder reads the pid and host the holder wrote, waiting briefly for a
// holder that has just taken the lock and not written them yet.
func holder(f *os.File) (pid int, host string) {
	for i := 0; i < 20; i++ {
		b := make([]byte, 512)
		n, _ := f.ReadAt(b, 0)
		if line, ok := bytes.CutSuffix(b[:n], []byte("\n")); ok {
			p, h, _ := strings.Cut(string(line), " ")
			if pid, err := strconv.Atoi(p); err == nil {
				return pid, h
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, ""
}

// Release removes the lock file and releases the lock. It may be called
// more than once.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	// Removed before it is unlocked: a process that opened it meanwhile
	// sees, once it gets the lock, that the path names another file.
	err := os.Remove(l.path)
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
