package testutil

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// CopyWithExtraVocab copies the tokenizer folder src into dst (created if
// need be) with token added to its vocab.json under id len(vocab)+offset:
// a tokenizer whose vocabulary no longer fits its checkpoint.
func CopyWithExtraVocab(tb testing.TB, src, dst, token string, offset int) {
	tb.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		tb.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		if e.Name() == "vocab.json" {
			var v map[string]int
			if err := json.Unmarshal(b, &v); err != nil {
				tb.Fatalf("%s: %v", filepath.Join(src, e.Name()), err)
			}
			v[token] = len(v) + offset
			if b, err = json.Marshal(v); err != nil {
				tb.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}
