package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/internal/fileio"
	"github.com/gliner-go/gliner/internal/testutil"
)

// Every dataset writer goes through internal/fileio (issue 12 B2, D):
// nothing replaces the target before Close, Abort leaves it as it was, and
// a directory is refused.
func TestCreateWriterIsAtomic(t *testing.T) {
	ex := Example{Words: []string{"Ann", "visited", "Oslo"}, Entities: []Entity{{Start: 2, End: 2, Label: "loc"}}}
	for _, name := range []string{"out.jsonl", "out.json", "out.conll", "out.parquet", "out.arrow"} {
		dir := t.TempDir()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		w, err := CreateWriter(p, FormatAuto)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ex); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(p); string(b) != "old" {
			t.Errorf("%s: changed before Close: %q", name, b)
		}
		w.Abort()
		w.Abort()
		if b, _ := os.ReadFile(p); string(b) != "old" {
			t.Errorf("%s: Abort changed the file: %q", name, b)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Errorf("%s: files left after Abort: %v", name, ents)
		}
		if err := WriteFile(p, FormatAuto, []Example{ex}); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(p, ReadOptions{}, FailFast, nil)
		if err != nil || len(got) != 1 || len(got[0].Words) != 3 {
			t.Errorf("%s: read back %+v, %v", name, got, err)
		}
		if len(got) != 1 || len(got[0].Entities) != 1 || got[0].Entities[0] != ex.Entities[0] {
			t.Errorf("%s: entities %+v", name, got)
		}
	}
	dir := t.TempDir()
	if _, err := CreateWriter(dir, FormatJSONL); !errors.Is(err, fileio.ErrIsDir) {
		t.Errorf("a directory as output: %v", err)
	}
	if _, err := OpenReader(dir, ReadOptions{Format: FormatParquet}); !errors.Is(err, fileio.ErrIsDir) {
		t.Errorf("a directory as parquet input: %v", err)
	}
}

// A corrupt snappy page panicked inside Arrow's Parquet reader
// (parquet/compress/snappy.go, issue 12 B3): it is an error naming the
// file and the row group, and no panic escapes.
func TestCorruptParquetPageIsAnError(t *testing.T) {
	p := filepath.Join(t.TempDir(), "train.parquet")
	var exs []Example
	for i := 0; i < arrowBatchRows+100; i++ { // two row groups
		ex := Example{Entities: []Entity{{Start: 0, End: 0, Label: "x"}}}
		for j := 0; j < 5; j++ {
			ex.Words = append(ex.Words, fmt.Sprintf("w%d_%d", i, j))
		}
		exs = append(exs, ex)
	}
	if err := WriteFile(p, FormatParquet, exs); err != nil {
		t.Fatal(err)
	}
	first := testutil.CorruptParquetPage(t, p, 1)
	if first != arrowBatchRows {
		t.Fatalf("row group 1 starts at row %d", first)
	}
	rep := &Report{}
	got, err := ReadFile(p, ReadOptions{}, Skip, rep)
	if err == nil || !strings.Contains(err.Error(), "train.parquet: after row 1024: row group 1 of 2: corrupt data: snappy: corrupt input") {
		t.Fatalf("error %v", err)
	}
	if len(got) != arrowBatchRows || rep.Read != arrowBatchRows {
		t.Errorf("%d examples before the corrupt row group (read %d), want %d", len(got), rep.Read, arrowBatchRows)
	}
}
