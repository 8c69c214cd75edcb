package checkpoints

import (
	"archive/zip"
	"bytes"
	"sort"
	"testing"
)

// zipOf builds a torch.save-style zip: archive/data.pkl (if pkl != nil)
// plus the given records, stored uncompressed.
func zipOf(tb testing.TB, pkl []byte, records map[string][]byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, b []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			tb.Fatal(err)
		}
	}
	if pkl != nil {
		add("archive/data.pkl", pkl)
	}
	names := make([]string, 0, len(records))
	for n := range records {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		add(n, records[n])
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
