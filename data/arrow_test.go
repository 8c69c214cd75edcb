package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRoundTripAllFormats: JSON → Parquet → Arrow → JSONL → JSON gives the
// same examples, with enough rows for several record batches.
func TestRoundTripAllFormats(t *testing.T) {
	dir := t.TempDir()
	want := roundTripExamples()
	for len(want) < 2*arrowBatchRows+5 {
		want = append(want, roundTripExamples()...)
	}
	src := filepath.Join(dir, "in.json")
	if err := WriteFile(src, FormatAuto, want); err != nil {
		t.Fatal(err)
	}
	path := src
	for _, next := range []string{"a.parquet", "b.arrow", "c.jsonl", "d.json"} {
		got, err := ReadFile(path, ReadOptions{}, FailFast, nil)
		if err != nil {
			t.Fatal(err)
		}
		assertSameExamples(t, filepath.Base(path), got, want)
		path = filepath.Join(dir, next)
		if err := WriteFile(path, FormatAuto, got); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadFile(path, ReadOptions{}, FailFast, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertSameExamples(t, "final json", got, want)
	a, _ := os.ReadFile(src)
	b, _ := os.ReadFile(path)
	if string(a) != string(b) {
		t.Error("JSON after the round trip differs byte-wise from the first")
	}
}

func TestArrowProblemsNameTheRow(t *testing.T) {
	dir := t.TempDir()
	exs := []Example{
		{Words: []string{"a"}},
		{Words: []string{"a", "b"}, Entities: []Entity{{1, 2, "x"}}},
		{Words: nil},
	}
	for _, name := range []string{"bad.parquet", "bad.arrow"} {
		path := filepath.Join(dir, name)
		if err := WriteFile(path, FormatAuto, exs); err != nil {
			t.Fatal(err)
		}
		rep := &Report{}
		got, err := ReadFile(path, ReadOptions{}, Skip, rep)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || rep.Skipped != 2 {
			t.Fatalf("%s: %d good, report %+v", name, len(got), rep)
		}
		if p := rep.Problems[0].Error(); p != name+" row 1: ner[0]: span [1, 2] runs past the text (2 words; end is inclusive)" {
			t.Errorf("%s: %s", name, p)
		}
		if p := rep.Problems[1].Error(); p != name+" row 2: empty text (no words)" {
			t.Errorf("%s: %s", name, p)
		}
	}
	notArrow := filepath.Join(dir, "x.arrow")
	os.WriteFile(notArrow, []byte("hello"), 0o644)
	if _, err := OpenReader(notArrow, ReadOptions{}); err == nil || !strings.Contains(err.Error(), "x.arrow: not an Arrow IPC file") {
		t.Errorf("bad arrow file: %v", err)
	}
	notPq := filepath.Join(dir, "x.parquet")
	os.WriteFile(notPq, []byte("hello"), 0o644)
	if _, err := OpenReader(notPq, ReadOptions{}); err == nil || !strings.Contains(err.Error(), "x.parquet: not a Parquet file") {
		t.Errorf("bad parquet file: %v", err)
	}
}
