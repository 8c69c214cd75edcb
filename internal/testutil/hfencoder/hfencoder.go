// Package hfencoder writes small Hugging Face encoder folders for tests,
// cut out of the reference's golden GLiNER fixtures: the encoder tensors
// under a GLiNER prefix become a bare (or wrapped) encoder checkpoint with
// its config.json and the fixture's vocab.txt.
package hfencoder

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/internal/testutil"
)

// Folder describes one encoder folder to cut out of a fixture.
type Folder struct {
	Fixture string // fixture folder name, e.g. "bi_token_deberta"
	Prefix  string // the encoder's GLiNER prefix, e.g. "token_rep_layer.labels_encoder.model"
	Config  string // the fixture file holding its config ("config.json", "labels_encoder_config.json")
	Wrapper string // a key prefix as a task model saves it ("deberta.", "bert."), "" for a bare model
	// NoPooler leaves out pooler.* (a masked-LM checkpoint has none).
	NoPooler bool
}

// Write writes f into a new temporary folder and returns it with the
// written tensors by bare-model key.
func Write(tb testing.TB, f Folder) (dir string, tensors map[string][]float32) {
	tb.Helper()
	fx := testutil.Fixture(tb, f.Fixture)
	st, err := checkpoints.ReadState(filepath.Join(fx, "model.safetensors"))
	if err != nil {
		tb.Fatal(err)
	}
	dir = tb.TempDir()
	tensors = map[string][]float32{}
	var ts []checkpoints.Tensor
	for _, n := range st.Names {
		key, ok := strings.CutPrefix(n, f.Prefix+".")
		if !ok || (f.NoPooler && strings.HasPrefix(key, "pooler.")) {
			continue
		}
		x := st.Tensors[n]
		tensors[key] = x.Data
		ts = append(ts, checkpoints.Tensor{Name: f.Wrapper + key, Shape: x.Shape, Data: x.Data})
	}
	if len(ts) == 0 {
		tb.Fatalf("fixture %s has no tensor under %s", f.Fixture, f.Prefix)
	}
	if err := checkpoints.WriteSafetensors(filepath.Join(dir, "model.safetensors"), ts, map[string]string{"format": "pt"}); err != nil {
		tb.Fatal(err)
	}
	for src, dst := range map[string]string{f.Config: "config.json", "vocab.txt": "vocab.txt"} {
		b, err := os.ReadFile(filepath.Join(fx, src))
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir, tensors
}
