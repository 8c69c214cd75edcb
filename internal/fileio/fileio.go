// Package fileio opens the files the project writes and reads on a user's
// behalf: "-" is standard output or input, a regular file (or a symbolic
// link to one) is replaced atomically through a temporary file beside it,
// a device or a named pipe (/dev/stdout, /dev/null, a FIFO) is written in
// place, and a directory is refused with a message that says so.
package fileio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Stdio is the path that names standard input or output.
const Stdio = "-"

// Standard streams, variables so tests can capture them.
var (
	Stdout io.Writer = os.Stdout
	Stdin  io.Reader = os.Stdin
)

// ErrIsDir is wrapped by the error for an output path that is a directory.
var ErrIsDir = errors.New("is a directory")

// File is an output being written. Write to it, then Commit to make it
// visible (rename the temporary file over the target) or Abort to discard
// it; Abort after Commit is a no-op, so `defer f.Abort()` is safe.
type File struct {
	path   string // as the caller named it, for messages
	target string // the file a rename replaces (symbolic links resolved)
	tmp    *os.File
	direct *os.File  // a device or pipe opened in place
	w      io.Writer // where Write goes (under bw)
	bw     *bufio.Writer
	mode   fs.FileMode // of the file a rename replaces, 0644 for a new one
	pos    int64       // bytes written so far
	done   bool
}

// Create opens path for writing (see the package comment). The temporary
// file of a regular target is created in the target's directory, so the
// rename is atomic; it gets the mode of the file it replaces, 0644 for a
// new one.
func Create(path string) (*File, error) { return CreateWith(path, Stdout) }

// CreateWith is Create with "-" meaning stdout (a command's own output
// stream, so tests can capture it).
func CreateWith(path string, stdout io.Writer) (*File, error) {
	f := &File{path: path, mode: 0o644}
	if path == "" {
		return nil, errors.New("no output path given")
	}
	if path == Stdio {
		f.w = stdout
		f.bw = bufio.NewWriterSize(f.w, 1<<16)
		return f, nil
	}
	target, info, err := Resolve(path)
	if err != nil {
		return nil, err
	}
	if info != nil && !info.Mode().IsRegular() {
		// A device, pipe or socket: writing a temporary file and renaming
		// it over the path would replace the device node.
		fh, err := os.OpenFile(target, os.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		f.direct, f.w = fh, fh
		f.bw = bufio.NewWriterSize(fh, 1<<16)
		return f, nil
	}
	if info != nil {
		f.mode = info.Mode().Perm()
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create temporary file for %s: %w", path, err)
	}
	f.target, f.tmp, f.w = target, tmp, tmp
	f.bw = bufio.NewWriterSize(tmp, 1<<20)
	return f, nil
}

// Resolve follows path's symbolic links and returns the file they end at
// and its FileInfo (nil when it does not exist yet). A directory is an
// error wrapping ErrIsDir.
func Resolve(path string) (string, fs.FileInfo, error) {
	target := path
	if p, err := filepath.EvalSymlinks(path); err == nil {
		target = p
	} else if l, lerr := os.Lstat(path); lerr == nil && l.Mode()&fs.ModeSymlink != 0 {
		// A dangling link: write the file it names.
		dest, rerr := os.Readlink(path)
		if rerr != nil {
			return "", nil, fmt.Errorf("%s: %w", path, rerr)
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(path), dest)
		}
		target = dest
	}
	info, err := os.Stat(target)
	if errors.Is(err, fs.ErrNotExist) {
		return target, nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", path, err)
	}
	if info.IsDir() {
		return "", nil, fmt.Errorf("output %s %w: name a file in it", path, ErrIsDir)
	}
	return target, info, nil
}

// Write implements io.Writer.
func (f *File) Write(p []byte) (int, error) {
	n, err := f.bw.Write(p)
	f.pos += int64(n)
	return n, err
}

// Seek reports the number of bytes written: only Seek(0, io.SeekCurrent)
// is supported (writers such as Arrow's IPC file writer ask for their
// position this way), so that the output may be a pipe.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	if offset != 0 || whence != io.SeekCurrent {
		return f.pos, fmt.Errorf("%s: output is written in order: cannot seek", f.path)
	}
	return f.pos, nil
}

// Name is the path as given to Create.
func (f *File) Name() string { return f.path }

// Commit flushes the output and, for a regular file, syncs the temporary
// file and renames it over the target (then syncs the directory, best
// effort). After a failed Commit the target is untouched.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("%s: already committed or aborted", f.path)
	}
	f.done = true
	if err := f.bw.Flush(); err != nil {
		f.cleanup()
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	if f.direct != nil {
		if err := f.direct.Close(); err != nil {
			return fmt.Errorf("close %s: %w", f.path, err)
		}
		return nil
	}
	if f.tmp == nil { // standard output
		return nil
	}
	if err := f.tmp.Chmod(f.mode); err != nil {
		f.cleanup()
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	if err := f.tmp.Sync(); err != nil {
		f.cleanup()
		return fmt.Errorf("sync %s: %w", f.path, err)
	}
	if err := f.tmp.Close(); err != nil {
		os.Remove(f.tmp.Name())
		return fmt.Errorf("close %s: %w", f.path, err)
	}
	if err := os.Rename(f.tmp.Name(), f.target); err != nil {
		os.Remove(f.tmp.Name())
		return fmt.Errorf("rename into %s: %w", f.path, err)
	}
	if d, err := os.Open(filepath.Dir(f.target)); err == nil {
		_ = d.Sync() // best effort: some filesystems refuse directory fsync
		d.Close()
	}
	return nil
}

// Abort discards the output: the temporary file is removed and the target
// left as it was. What already went to a device, pipe or standard output
// cannot be taken back.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	if f.direct != nil {
		f.bw.Flush()
		f.direct.Close()
		return
	}
	f.cleanup()
}

func (f *File) cleanup() {
	if f.tmp != nil {
		f.tmp.Close()
		os.Remove(f.tmp.Name())
	}
}

// WriteFile creates path with what write produces (see Create): all of it
// or, when write or a step fails, nothing (a regular target is left as it
// was). write receives a buffered writer; it need not flush.
func WriteFile(path string, write func(w io.Writer) error) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Abort()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// Open opens path for reading; "-" is standard input (its Close does
// nothing). A directory is refused with a clear error.
func Open(path string) (io.ReadCloser, error) {
	if path == Stdio {
		return io.NopCloser(Stdin), nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if info, err := fh.Stat(); err == nil && info.IsDir() {
		fh.Close()
		return nil, fmt.Errorf("%s %w, want a file", path, ErrIsDir)
	}
	return fh, nil
}

// ReadFile reads all of path (see Open: "-" is standard input, a directory
// is refused).
func ReadFile(path string) ([]byte, error) {
	r, err := Open(path)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(r)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// OpenFile opens path for random access (formats such as Parquet and
// Arrow IPC read their footer first). "-" copies standard input to a
// temporary file, which Close removes. A directory is refused.
func OpenFile(path string) (*os.File, func() error, error) {
	if path == Stdio {
		tmp, err := os.CreateTemp("", "gliner-stdin-*")
		if err != nil {
			return nil, nil, fmt.Errorf("standard input: %w", err)
		}
		name := tmp.Name()
		closer := func() error {
			err := tmp.Close()
			os.Remove(name)
			return err
		}
		if _, err := io.Copy(tmp, Stdin); err != nil {
			closer()
			return nil, nil, fmt.Errorf("read standard input: %w", err)
		}
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			closer()
			return nil, nil, fmt.Errorf("standard input: %w", err)
		}
		return tmp, closer, nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	if info, err := fh.Stat(); err == nil && info.IsDir() {
		fh.Close()
		return nil, nil, fmt.Errorf("%s %w, want a file", path, ErrIsDir)
	}
	return fh, fh.Close, nil
}

// DisplayName is how messages name path: its base name, "stdin" for "-".
func DisplayName(path string) string {
	if path == Stdio {
		return "stdin"
	}
	return filepath.Base(path)
}

// SameFile reports whether paths a and b name the same file: the same
// inode when both exist (through symbolic links, relative paths and hard
// links), otherwise the same cleaned absolute path with the directory's
// links resolved. "-" is never the same as a path.
func SameFile(a, b string) bool {
	if a == Stdio || b == Stdio {
		return false
	}
	ia, erra := os.Stat(a)
	ib, errb := os.Stat(b)
	if erra == nil && errb == nil {
		return os.SameFile(ia, ib)
	}
	abs := func(p string) string {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		} else if d, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil {
			p = filepath.Join(d, filepath.Base(p))
		}
		if q, err := filepath.Abs(p); err == nil {
			p = q
		}
		return filepath.Clean(p)
	}
	return abs(a) == abs(b)
}
