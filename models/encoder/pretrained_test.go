package encoder

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/internal/testutil"
)

// A Hugging Face DebertaV2ForMaskedLM-style folder (keys under "deberta.",
// plus an MLM head) made from a fixture's encoder loads into a bare
// encoder with the same values.
func TestLoadPretrainedNormalisesKeys(t *testing.T) {
	dir := testutil.Fixture(t, "uni_span_deberta")
	st, err := checkpoints.ReadState(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	var tensors []checkpoints.Tensor
	for _, n := range st.Names {
		if k, ok := strings.CutPrefix(n, textEncoderPrefix+"."); ok {
			tensors = append(tensors, checkpoints.Tensor{Name: "deberta." + k, Shape: st.Tensors[n].Shape, Data: st.Tensors[n].Data})
		}
	}
	tensors = append(tensors,
		checkpoints.Tensor{Name: "lm_predictions.lm_head.bias", Shape: []int{323}, Data: make([]float32, 323)},
		checkpoints.Tensor{Name: "deberta.embeddings.position_ids", Shape: []int{1, 64}, Data: make([]float32, 64)})
	hf := t.TempDir()
	if err := checkpoints.WriteSafetensors(filepath.Join(hf, "model.safetensors"), tensors, nil); err != nil {
		t.Fatal(err)
	}
	cfgBytes, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(hf, "config.json"), cfgBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := LoadPretrained(hf)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Ignored) != 2 {
		t.Fatalf("ignored %v, want the MLM head and position_ids", p.Ignored)
	}
	s := autograd.NewStore()
	if _, err := New(s, "enc", p.Config); err != nil {
		t.Fatal(err)
	}
	if err := s.LoadState(p.State("enc"), nil, checkpoints.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	w, _ := s.Get("enc.encoder.layer.1.attention.self.key_proj.weight")
	want := st.Tensors[textEncoderPrefix+".encoder.layer.1.attention.self.key_proj.weight"].Data
	for i := range want {
		if w.Data[i] != want[i] {
			t.Fatal("weights differ after loading")
		}
	}
}

func TestLoadPretrainedErrors(t *testing.T) {
	empty := t.TempDir()
	if _, err := LoadPretrained(empty); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Fatalf("missing config: %v", err)
	}
	if err := os.WriteFile(filepath.Join(empty, "config.json"), []byte(`{"model_type":"gpt-j"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPretrained(empty); err == nil || !strings.Contains(err.Error(), "valid: bert, deberta-v2") {
		t.Fatalf("unknown encoder type: %v", err)
	}
}

func TestResizeRows(t *testing.T) {
	w := []float32{1, 2, 3, 4, 5, 6} // 3×2
	r := rand.New(rand.NewPCG(1, 2))
	grown, err := ResizeRows(w, 3, 5, 2, 0.02, r)
	if err != nil {
		t.Fatal(err)
	}
	for i := range w {
		if grown[i] != w[i] {
			t.Fatal("kept rows changed")
		}
	}
	for _, v := range grown[6:] {
		if v == 0 || v > 0.2 || v < -0.2 {
			t.Fatalf("new row value %v not drawn from N(0, 0.02²)", v)
		}
	}
	shrunk, _ := ResizeRows(w, 3, 2, 2, 0.02, r)
	if len(shrunk) != 4 || shrunk[3] != 4 {
		t.Fatalf("shrink: %v", shrunk)
	}
	if _, err := ResizeRows(w, 4, 2, 2, 0.02, r); err == nil {
		t.Fatal("wrong size accepted")
	}
}
