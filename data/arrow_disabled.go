//go:build !arrow

package data

import "fmt"

// Arrow IPC and Parquet need modules go.mod does not yet require; they are
// built with -tags arrow (see arrow.go).

func openParquetReader(path string) (Reader, error) { return nil, noArrow(path) }
func openArrowReader(path string) (Reader, error)   { return nil, noArrow(path) }
func createParquetWriter(path string) (Writer, error) {
	return nil, noArrow(path)
}
func createArrowWriter(path string) (Writer, error) { return nil, noArrow(path) }

func noArrow(path string) error {
	return fmt.Errorf("%s: this binary was built without Arrow/Parquet support (build with -tags arrow)", path)
}
