// Package testutil holds helpers shared by the project's tests: locating the
// golden fixtures produced by the reference implementation and decoding their
// JSON tensors.
package testutil

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot returns the directory holding go.mod, walking up from the working
// directory of the test.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// SharedDir returns ../shared next to the repository root (the checkout's
// sibling that holds the fixtures). GLINER_SHARED overrides it. A missing
// folder fails the test: goldens are never skipped.
func SharedDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("GLINER_SHARED")
	if dir == "" {
		dir = filepath.Join(RepoRoot(tb), "..", "shared")
	}
	if _, err := os.Stat(filepath.Join(dir, "fixtures")); err != nil {
		tb.Fatalf("golden fixtures not found at %s (set GLINER_SHARED): %v", dir, err)
	}
	return dir
}

// FixturesDir returns the fixtures folder, ../shared/fixtures.
func FixturesDir(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(SharedDir(tb), "fixtures")
}

// Fixture returns the path of one fixture folder such as "uni_span_bert".
func Fixture(tb testing.TB, name string) string {
	tb.Helper()
	p := filepath.Join(FixturesDir(tb), name)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("fixture %s: %v", name, err)
	}
	return p
}

// ModelFixtures lists every model fixture folder name.
var ModelFixtures = []string{
	"uni_span_bert", "uni_span_deberta", "uni_token_bert", "uni_token_deberta",
	"bi_span_deberta", "bi_token_deberta", "uni_span_relex_deberta", "uni_span_decoder_deberta",
}

// JSONTensor is the fixtures' tensor encoding: {"shape", "dtype", "data"}
// with data as nested lists.
type JSONTensor struct {
	Shape []int           `json:"shape"`
	DType string          `json:"dtype"`
	Data  json.RawMessage `json:"data"`
}

// Floats flattens the tensor's data in row-major order as float64
// (bools become 0/1).
func (t *JSONTensor) Floats() ([]float64, error) {
	var v any
	if err := json.Unmarshal(t.Data, &v); err != nil {
		return nil, err
	}
	out := make([]float64, 0, t.Size())
	var walk func(any) error
	walk = func(x any) error {
		switch x := x.(type) {
		case []any:
			for _, e := range x {
				if err := walk(e); err != nil {
					return err
				}
			}
		case float64:
			out = append(out, x)
		case bool:
			if x {
				out = append(out, 1)
			} else {
				out = append(out, 0)
			}
		case nil:
			return fmt.Errorf("null in tensor data")
		default:
			return fmt.Errorf("unexpected %T in tensor data", x)
		}
		return nil
	}
	if err := walk(v); err != nil {
		return nil, err
	}
	if len(out) != t.Size() {
		return nil, fmt.Errorf("tensor data has %d values, shape %v wants %d", len(out), t.Shape, t.Size())
	}
	return out, nil
}

// Float32s is Floats converted to float32.
func (t *JSONTensor) Float32s() ([]float32, error) {
	f, err := t.Floats()
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(f))
	for i, v := range f {
		out[i] = float32(v)
	}
	return out, nil
}

// Int64s is Floats converted to int64.
func (t *JSONTensor) Int64s() ([]int64, error) {
	f, err := t.Floats()
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(f))
	for i, v := range f {
		out[i] = int64(v)
	}
	return out, nil
}

// Size is the product of the shape.
func (t *JSONTensor) Size() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// ReadJSON decodes a JSON file into v, failing the test on error.
func ReadJSON(tb testing.TB, path string, v any) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read %s: %v", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("decode %s: %v", path, err)
	}
}
