package main

import (
	"os"
	"path/filepath"
	"testing"
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
