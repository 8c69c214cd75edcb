package models

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/internal/testutil"
)

// poisonedFolder is the uni_span_bert fixture with tensor name's element
// at holding v (NaN or ±Inf) in its model.safetensors.
func poisonedFolder(t *testing.T, name string, at int, v float32) string {
	t.Helper()
	src := testutil.Fixture(t, "uni_span_bert")
	dir := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() == "model.safetensors" || e.Name() == "pytorch_model.bin" {
			continue
		}
		if err := os.Symlink(filepath.Join(src, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	st, err := checkpoints.ReadState(filepath.Join(src, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	var ts []checkpoints.Tensor
	found := false
	for _, n := range st.Names {
		x := st.Tensors[n]
		d := append([]float32(nil), x.Data...)
		if n == name {
			d[at] = v
			found = true
		}
		ts = append(ts, checkpoints.Tensor{Name: n, Shape: x.Shape, Data: d})
	}
	if !found {
		t.Fatalf("no tensor %q", name)
	}
	if err := checkpoints.WriteSafetensors(filepath.Join(dir, "model.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A model whose weights hold NaN or Inf loaded and predicted nothing (exit
// 0, issue 12 C1): Load refuses it, naming the file and the tensor.
func TestLoadRefusesNonFiniteWeights(t *testing.T) {
	const name = "span_rep_layer.span_rep_layer.out_project.0.weight"
	for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		dir := poisonedFolder(t, name, 7, v)
		_, err := Load(dir)
		if err == nil {
			t.Fatalf("%v: loaded", v)
		}
		nan, inf := 0, 1
		if v != v {
			nan, inf = 1, 0
		}
		want := filepath.Join(dir, "model.safetensors") + `: tensor "` + name + `" `
		if msg := err.Error(); !strings.Contains(msg, want) ||
			!strings.Contains(msg, fmt.Sprintf("holds %d NaN and %d infinite values (the first at flat index 7, %v)", nan, inf, v)) ||
			!strings.Contains(msg, "weights must be finite") {
			t.Errorf("%v: %v", v, err)
		}
	}
	// The unpoisoned copy loads (the check is not what failed).
	if _, err := Load(poisonedFolder(t, name, 7, 0.5)); err != nil {
		t.Fatal(err)
	}
}
