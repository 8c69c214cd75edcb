package testutil

import (
	"fmt"
	"os"
	"testing"

	"github.com/apache/arrow/go/v15/parquet/file"
)

// CorruptParquetPage overwrites the compressed bytes of the first page of
// column 0 in row group rg of the Parquet file at path with 0xff (past the
// page's header, which the first 64 bytes hold), so that decompressing the
// page fails: a snappy page then starts a copy at an offset beyond the
// decoded data. It returns the row group's first row.
func CorruptParquetPage(tb testing.TB, path string, rg int) int64 {
	tb.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		tb.Fatal(err)
	}
	md := pf.MetaData()
	if rg >= pf.NumRowGroups() {
		tb.Fatalf("%s has %d row groups, not %d", path, pf.NumRowGroups(), rg+1)
	}
	var first int64
	for i := 0; i < rg; i++ {
		first += md.RowGroup(i).NumRows()
	}
	cc, err := md.RowGroup(rg).ColumnChunk(0)
	if err != nil {
		tb.Fatal(err)
	}
	start, end := cc.DataPageOffset(), cc.DataPageOffset()+cc.TotalCompressedSize()
	if cc.HasDictionaryPage() {
		start, end = cc.DictionaryPageOffset(), cc.DataPageOffset()
	}
	pf.Close()
	if end-start < 128 {
		tb.Fatalf("%s row group %d: first page of %d bytes is too short to corrupt", path, rg, end-start)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	for i := start + 64; i < end; i++ {
		b[i] = 0xff
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(fmt.Errorf("corrupt %s: %w", path, err))
	}
	return first
}
