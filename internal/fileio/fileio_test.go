package fileio

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func write(t *testing.T, path, s string) error {
	t.Helper()
	return WriteFile(path, func(w io.Writer) error { _, err := io.WriteString(w, s); return err })
}

func TestRegularFileReplacedAtomically(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.json")
	if err := write(t, p, "one"); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, func(w io.Writer) error { io.WriteString(w, "partial"); return errors.New("boom") }); err == nil {
		t.Fatal("failed write reported success")
	}
	if b, _ := os.ReadFile(p); string(b) != "one" {
		t.Errorf("failed write changed the target: %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
}

// A symbolic link to a regular file stays a link; the file it names is
// replaced.
func TestSymlinkToRegularFileKept(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.json")
	link := filepath.Join(dir, "link.json")
	os.WriteFile(real, []byte("old"), 0o644)
	if err := os.Symlink("real.json", link); err != nil {
		t.Fatal(err)
	}
	if err := write(t, link, "new"); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the link was replaced by a regular file")
	}
	if b, _ := os.ReadFile(real); string(b) != "new" {
		t.Errorf("target holds %q", b)
	}
}

// `--output /dev/stdout` as root replaced the /dev/stdout link with a
// regular file (issue 12 D): a link to a device is written in place.
func TestDeviceWrittenInPlace(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "stdout")
	if err := os.Symlink("/dev/null", link); err != nil {
		t.Fatal(err)
	}
	if err := write(t, link, "x"); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the link to /dev/null was replaced")
	}
	if fi, _ := os.Stat("/dev/null"); fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatal("/dev/null is no longer a device")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("files left beside the link: %v", ents)
	}
}

func TestNamedPipeWrittenInPlace(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	got := make(chan string)
	go func() {
		fh, err := os.Open(p)
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(fh)
		fh.Close()
		got <- string(b)
	}()
	if err := write(t, p, "through the pipe"); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "through the pipe" {
		t.Errorf("reader got %q", s)
	}
	if fi, _ := os.Lstat(p); fi.Mode()&os.ModeNamedPipe == 0 {
		t.Error("the pipe was replaced")
	}
}

func TestDirectoryRefused(t *testing.T) {
	dir := t.TempDir()
	err := write(t, dir, "x")
	if !errors.Is(err, ErrIsDir) || !strings.Contains(err.Error(), dir) {
		t.Errorf("error %v", err)
	}
	if _, err := Open(dir); !errors.Is(err, ErrIsDir) {
		t.Errorf("Open(dir): %v", err)
	}
}

func TestDashIsStdio(t *testing.T) {
	var out bytes.Buffer
	old := Stdout
	Stdout = &out
	defer func() { Stdout = old }()
	if err := write(t, "-", "hello"); err != nil {
		t.Fatal(err)
	}
	if out.String() != "hello" {
		t.Errorf("stdout got %q", out.String())
	}
	oldIn := Stdin
	Stdin = strings.NewReader("in")
	defer func() { Stdin = oldIn }()
	r, err := Open("-")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(r); string(b) != "in" {
		t.Errorf("stdin read %q", b)
	}
}

func TestSameFile(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.json")
	os.WriteFile(a, nil, 0o644)
	os.Symlink("a.json", filepath.Join(dir, "l.json"))
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	os.Chdir(dir)
	for _, b := range []string{a, "a.json", "./a.json", "l.json", filepath.Join(dir, "sub", "..", "a.json")} {
		if !SameFile(a, b) {
			t.Errorf("SameFile(%s, %s) = false", a, b)
		}
	}
	if SameFile(a, "b.json") || SameFile("-", "-") {
		t.Error("different files reported the same")
	}
	if !SameFile("new.json", filepath.Join(dir, "new.json")) {
		t.Error("a file not yet created, named two ways, reported different")
	}
}

// A hard link is the same file as its original (the same inode).
func TestSameFileHardLink(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.json")
	os.WriteFile(a, []byte("x"), 0o644)
	h := filepath.Join(dir, "h.json")
	if err := os.Link(a, h); err != nil {
		t.Fatal(err)
	}
	if !SameFile(a, h) {
		t.Error("a hard link reported a different file")
	}
}

// A replaced file keeps its mode; a new one gets 0644.
func TestModeKept(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "script.sh")
	os.WriteFile(p, []byte("old"), 0o755)
	os.Chmod(p, 0o755)
	if err := write(t, p, "new"); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o755 {
		t.Errorf("mode %v, want 0755", fi.Mode().Perm())
	}
	q := filepath.Join(dir, "new.txt")
	if err := write(t, q, "x"); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(q); fi.Mode().Perm() != 0o644 {
		t.Errorf("new file mode %v, want 0644", fi.Mode().Perm())
	}
}

// Seek(0, io.SeekCurrent) reports the bytes written (Arrow's IPC writer
// asks); any other seek is refused.
func TestSeekReportsPosition(t *testing.T) {
	var out bytes.Buffer
	f, err := CreateWith("-", &out)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "12345")
	if pos, err := f.Seek(0, io.SeekCurrent); pos != 5 || err != nil {
		t.Errorf("Seek = %d, %v", pos, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err == nil {
		t.Error("Seek to the start accepted")
	}
	if err := f.Commit(); err != nil || out.String() != "12345" {
		t.Errorf("Commit %v, out %q", err, out.String())
	}
	if err := f.Commit(); err == nil {
		t.Error("second Commit accepted")
	}
}

// "-" as input for a random-access reader is copied to a temporary file,
// which its closer removes.
func TestOpenFileStdin(t *testing.T) {
	old := Stdin
	Stdin = strings.NewReader("parquet bytes")
	defer func() { Stdin = old }()
	fh, closer, err := OpenFile("-")
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 5)
	if _, err := fh.ReadAt(b, 8); err != nil || string(b) != "bytes" {
		t.Errorf("ReadAt 8: %q, %v", b, err)
	}
	name := fh.Name()
	if err := closer(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Errorf("temporary copy %s left: %v", name, err)
	}
	if _, _, err := OpenFile(t.TempDir()); !errors.Is(err, ErrIsDir) {
		t.Errorf("OpenFile(dir): %v", err)
	}
}

func TestReadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.yaml")
	os.WriteFile(p, []byte("a: 1\n"), 0o644)
	if b, err := ReadFile(p); err != nil || string(b) != "a: 1\n" {
		t.Errorf("ReadFile(%s) = %q, %v", p, b, err)
	}
	old := Stdin
	Stdin = strings.NewReader("from stdin")
	defer func() { Stdin = old }()
	if b, err := ReadFile("-"); err != nil || string(b) != "from stdin" {
		t.Errorf("ReadFile(-) = %q, %v", b, err)
	}
	if _, err := ReadFile(filepath.Dir(p)); !errors.Is(err, ErrIsDir) {
		t.Errorf("ReadFile(dir): %v", err)
	}
}
