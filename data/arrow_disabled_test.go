//go:build !arrow

package data

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestArrowFormatsNeedTheTag(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.parquet", "b.arrow"} {
		err := WriteFile(filepath.Join(dir, name), FormatAuto, roundTripExamples())
		if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "-tags arrow") {
			t.Errorf("%s: got %v", name, err)
		}
	}
}
