package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/internal/fileio"
)

// `gliner data convert X X` emptied X (issue 12 B2): the same file, named
// directly, through a symbolic link or a hard link, is refused and X is
// left as it was.
func TestConvertRefusesSameFile(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "in.jsonl", goodJSONL)
	link := filepath.Join(dir, "link.jsonl")
	if err := os.Symlink("in.jsonl", link); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hard.jsonl")
	if err := os.Link(in, hard); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{in, "./in.jsonl", link, hard} {
		code, _, errs := runCLI(t, "data", "convert", in, out)
		if code != 1 || !strings.Contains(errs, "are the same file") || !strings.Contains(errs, out) {
			t.Errorf("convert %s %s: code %d, stderr %q", in, out, code, errs)
		}
		if b, _ := os.ReadFile(in); string(b) != goodJSONL {
			t.Fatalf("convert %s %s changed the input to %q", in, out, b)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 3 {
		t.Errorf("files left: %v", ents)
	}
}

// A conversion that fails half-way leaves an existing output as it was
// (it used to truncate it, then remove it) and no temporary file.
func TestConvertFailureKeepsExistingOutput(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "in.jsonl", goodJSONL+`{"tokenized_text": ["a"], "ner": [[0, 3, "x"]]}`+"\n")
	out := writeFile(t, dir, "out.conll", "old content\n")
	code, _, errs := runCLI(t, "data", "convert", in, out)
	if code != 1 || !strings.Contains(errs, "in.jsonl:3: ner[0]") {
		t.Fatalf("code %d, stderr %q", code, errs)
	}
	if b, _ := os.ReadFile(out); string(b) != "old content\n" {
		t.Errorf("failed conversion changed the output to %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("files left: %v", ents)
	}
}

// "-" is standard input and output; a binary format (Arrow IPC, which
// asks its writer for the position, and Parquet, read from its footer)
// goes through a pipe too.
func TestConvertStdio(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "in.jsonl", goodJSONL)
	code, out, errs := runCLI(t, "data", "convert", in, "-", "--to", "conll")
	want := "Ann B-Person\nLee I-Person\nvisited O\nOslo B-Location\n. O\n\nAcme B-Organization\nhired O\nBo B-Person\n. O\n\n"
	if code != 0 || out != want {
		t.Fatalf("to stdout: code %d, stdout %q, stderr %q", code, out, errs)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("files left: %v", ents)
	}
	code, _, errs = runCLI(t, "data", "convert", in, "-")
	if code != 1 || !strings.Contains(errs, "name the dataset format") {
		t.Errorf("no --to: code %d, %q", code, errs)
	}
	for _, format := range []string{"arrow", "parquet"} {
		code, bin, errs := runCLI(t, "data", "convert", in, "-", "--to", format)
		if code != 0 || len(bin) < 100 {
			t.Fatalf("%s to stdout: code %d, %d bytes, %q", format, code, len(bin), errs)
		}
		old := fileio.Stdin
		fileio.Stdin = bytes.NewReader([]byte(bin))
		code, back, errs := runCLI(t, "data", "convert", "-", "-", "--from", format, "--to", "jsonl")
		fileio.Stdin = old
		wantJSONL := `{"tokenized_text":["Ann","Lee","visited","Oslo","."],"ner":[[0,1,"Person"],[3,3,"Location"]]}` + "\n" +
			`{"tokenized_text":["Acme","hired","Bo","."],"ner":[[0,0,"Organization"],[2,2,"Person"]]}` + "\n"
		if code != 0 || back != wantJSONL || !strings.Contains(errs, "- -> -: 2 examples read, 2 kept, 0 skipped") {
			t.Errorf("%s from stdin: code %d\n%s\nwant\n%s\nstderr %q", format, code, back, wantJSONL, errs)
		}
	}
	old := fileio.Stdin
	fileio.Stdin = strings.NewReader(goodJSONL)
	code, out, errs = runCLI(t, "data", "validate", "-", "--from", "jsonl")
	fileio.Stdin = old
	if code != 0 || out != "-: 2 examples read, 2 kept, 0 skipped\n" {
		t.Errorf("validate -: code %d, %q, %q", code, out, errs)
	}
}

// A directory as output is refused with a message that says so; a link to
// a device is written in place (the link stays).
func TestConvertDirectoryAndDeviceOutputs(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "in.jsonl", goodJSONL)
	sub := filepath.Join(dir, "sub.jsonl")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCLI(t, "data", "convert", in, sub)
	if code != 1 || !strings.Contains(errs, "output "+sub+" is a directory: name a file in it") {
		t.Errorf("directory: code %d, %q", code, errs)
	}
	null := filepath.Join(dir, "null.jsonl")
	if err := os.Symlink("/dev/null", null); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, "data", "convert", in, null); code != 0 {
		t.Fatalf("to a link to /dev/null: %q", errs)
	}
	if fi, err := os.Lstat(null); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link to /dev/null was replaced: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 3 {
		t.Errorf("files left: %v", ents)
	}
}

// predict writes "-" to standard output, refuses an output that is its
// input, and writes a link to a device in place.
func TestPredictOutputs(t *testing.T) {
	f := readFixture(t, "uni_span_bert")
	tmp := t.TempDir()
	in := writeFile(t, tmp, "in.txt", strings.Join(f.words[1], " ")+"\n")
	labels := strings.Join(f.labels, ",")
	file := filepath.Join(tmp, "out.jsonl")
	if code, _, errs := runCLI(t, "predict", "--model", f.dir, "--input", in, "--labels", labels, "--output", file); code != 0 {
		t.Fatal(errs)
	}
	want, _ := os.ReadFile(file)
	code, out, errs := runCLI(t, "predict", "--model", f.dir, "--input", in, "--labels", labels, "--output", "-")
	if code != 0 || out != string(want) || len(want) < 20 {
		t.Errorf("--output -: code %d, stdout %q, want %q (stderr %q)", code, out, want, errs)
	}
	old := fileio.Stdin
	fileio.Stdin = strings.NewReader(strings.Join(f.words[1], " ") + "\n")
	code, out, errs = runCLI(t, "predict", "--model", f.dir, "--input", "-", "--from", "text", "--labels", labels, "--output", "-")
	fileio.Stdin = old
	if code != 0 || out != string(want) {
		t.Errorf("--input - --output -: code %d, stdout %q, want %q (stderr %q)", code, out, want, errs)
	}
	code, _, errs = runCLI(t, "predict", "--model", f.dir, "--input", in, "--labels", labels, "--output", in)
	if code != 1 || !strings.Contains(errs, "are the same file") {
		t.Errorf("--output = --input: code %d, %q", code, errs)
	}
	code, _, errs = runCLI(t, "predict", "--model", f.dir, "--input", in, "--labels", labels, "--output", "-", "--logits", "-")
	if code != 1 || !strings.Contains(errs, "--output and --logits are both -") {
		t.Errorf("two outputs on stdout: code %d, %q", code, errs)
	}
	if b, _ := os.ReadFile(in); string(b) != strings.Join(f.words[1], " ")+"\n" {
		t.Fatalf("the input changed: %q", b)
	}
	null := filepath.Join(tmp, "null")
	if err := os.Symlink("/dev/null", null); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, "predict", "--model", f.dir, "--input", in, "--labels", labels, "--output", null); code != 0 {
		t.Fatal(errs)
	}
	if fi, err := os.Lstat(null); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link to /dev/null was replaced: %v", err)
	}
	code, _, errs = runCLI(t, "predict", "--model", f.dir, "--input", in, "--labels", labels, "--output", tmp)
	if code != 1 || !strings.Contains(errs, "is a directory") {
		t.Errorf("--output a directory: code %d, %q", code, errs)
	}
}

// data validate names a misspelled key and its line (issue 12 B4), accepts
// a byte-order mark, and names a duplicated key.
func TestValidateRecordKeys(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "k.jsonl", "\xef\xbb\xbf"+`{"tokenized_text": ["Ann", "ran"], "entites": [[0, 0, "person"]]}`+"\n")
	code, out, errs := runCLI(t, "data", "validate", p)
	want := `warning: k.jsonl:1: unknown key "entites" ignored (known keys: tokenized_text, ner, relations, ner_negatives, ner_labels, rel_negatives, rel_labels)` + "\n" +
		p + ": 1 examples read, 1 kept, 0 skipped, 1 warning\n"
	if code != 0 || out != want {
		t.Errorf("code %d\nstdout %q\nwant   %q\nstderr %q", code, out, want, errs)
	}
	d := writeFile(t, dir, "d.jsonl", `{"tokenized_text": ["a"], "tokenized_text": ["b"]}`+"\n")
	code, out, _ = runCLI(t, "data", "validate", d)
	if code != 1 || !strings.Contains(out, `d.jsonl:1: record: duplicate key "tokenized_text"`) {
		t.Errorf("duplicate: code %d, %q", code, out)
	}
}
