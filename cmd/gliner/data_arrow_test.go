package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/internal/testutil"
)

func TestConvertThroughParquetAndArrow(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "in.json", "[\n"+`{"tokenized_text":["Ann","Lee","visited","Oslo","."],"ner":[[0,1,"Person"],[3,3,"Location"]],"relations":[[0,1,"lives in"]]}`+",\n"+
		`{"tokenized_text":["Acme","hired","Bo","."],"ner":[[0,0,"Organization"],[2,2,"Person"]],"ner_labels":["Person","Organization"]}`+"\n]\n")
	prev := in
	for _, name := range []string{"a.parquet", "b.ipc", "c.jsonl", "d.json"} {
		next := filepath.Join(dir, name)
		if code, _, errs := runCLI(t, "data", "convert", prev, next); code != 0 {
			t.Fatalf("%s -> %s: %s", prev, next, errs)
		}
		prev = next
	}
	a, _ := os.ReadFile(in)
	b, _ := os.ReadFile(prev)
	if string(a) != string(b) {
		t.Errorf("after the chain:\n%s\nwant\n%s", b, a)
	}
}

// `gliner data validate` and `convert` on a Parquet file with a corrupt
// snappy page: exit 1 with the file and row group named (it panicked).
func TestDataCommandsCorruptParquet(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&b, `{"tokenized_text": ["word%d", "b%d", "c%d"], "ner": [[0, 0, "x"]]}`+"\n", i, i, i)
	}
	in := writeFile(t, dir, "in.jsonl", b.String())
	pq := filepath.Join(dir, "c.parquet")
	if code, _, errs := runCLI(t, "data", "convert", in, pq); code != 0 {
		t.Fatal(errs)
	}
	testutil.CorruptParquetPage(t, pq, 0)
	want := "c.parquet: after row 0: row group 0 of 1: corrupt data: snappy: corrupt input"
	for _, args := range [][]string{{"data", "validate", pq}, {"data", "convert", pq, filepath.Join(dir, "out.jsonl")}, {"data", "stats", pq}} {
		code, _, errs := runCLI(t, args...)
		if code != 1 || !strings.Contains(errs, want) || strings.Contains(errs, "panic") {
			t.Errorf("%v: code %d, stderr %q", args, code, errs)
		}
	}
}
