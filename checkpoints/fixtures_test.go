package checkpoints

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/gliner-go/gliner/internal/testutil"
)

// TestFixturesBinMatchesSafetensors reads both weight files of every model
// fixture and requires the same names, shapes and bit-identical values.
func TestFixturesBinMatchesSafetensors(t *testing.T) {
	for _, fx := range testutil.ModelFixtures {
		t.Run(fx, func(t *testing.T) {
			dir := testutil.Fixture(t, fx)
			st, err := ReadState(filepath.Join(dir, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			pt, err := ReadState(filepath.Join(dir, "pytorch_model.bin"))
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Names) < 20 {
				t.Fatalf("only %d tensors in %s", len(st.Names), st.Path)
			}
			if err := CheckState(st.Shapes(), pt.Shapes(), LoadOptions{}); err != nil {
				t.Fatalf("names/shapes differ between the two files: %v", err)
			}
			if len(st.Names) != len(pt.Names) {
				t.Fatalf("%d vs %d names", len(st.Names), len(pt.Names))
			}
			for i, n := range st.Names {
				if pt.Names[i] != n {
					t.Fatalf("name %d: %q vs %q", i, n, pt.Names[i])
				}
				a, b := st.Tensors[n], pt.Tensors[n]
				if a.DType != F32 || b.DType != F32 {
					t.Fatalf("%s: dtypes %s / %s, want F32", n, a.DType, b.DType)
				}
				if len(a.Data) != len(b.Data) || len(a.Data) == 0 {
					t.Fatalf("%s: %d vs %d values", n, len(a.Data), len(b.Data))
				}
				for j := range a.Data {
					if math.Float32bits(a.Data[j]) != math.Float32bits(b.Data[j]) {
						t.Fatalf("%s[%d]: %v (safetensors) vs %v (bin)", n, j, a.Data[j], b.Data[j])
					}
				}
			}
		})
	}
}

// TestFixtureKnownValues pins a few shapes and values of uni_span_bert
// against the raw bytes of the file (decoded independently here).
func TestFixtureKnownValues(t *testing.T) {
	dir := testutil.Fixture(t, "uni_span_bert")
	f, err := OpenSafetensors(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if md := f.Metadata(); len(md) != 1 || md["format"] != "pt" {
		t.Fatalf("metadata %v, want {format: pt}", md)
	}
	info, ok := f.Info("token_rep_layer.bert_layer.model.embeddings.word_embeddings.weight")
	if !ok {
		t.Fatal("word embeddings missing")
	}
	if info.DType != F32 || len(info.Shape) != 2 || info.Shape[0] != 323 || info.Shape[1] != 32 {
		t.Fatalf("word embeddings info %+v, want F32 [323 32]", info)
	}
	info, _ = f.Info("prompt_rep_layer.0.weight")
	if info.Shape[0] != 128 || info.Shape[1] != 32 {
		t.Fatalf("prompt_rep_layer.0.weight shape %v", info.Shape)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Float32("prompt_rep_layer.0.weight")
	if err != nil {
		t.Fatal(err)
	}
	// Header says data_offsets [512, 16896]; header length 7744.
	base := 8 + 7744 + 512
	for _, j := range []int{0, 1, 77, 4095} {
		b := raw[base+4*j : base+4*j+4]
		want := math.Float32frombits(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
		if got[j] != want {
			t.Fatalf("element %d: %v, want %v", j, got[j], want)
		}
	}
}

// TestWriteReproducesFixture re-writes a fixture's state and requires the
// bytes to equal the file the Python library wrote.
func TestWriteReproducesFixture(t *testing.T) {
	for _, fx := range []string{"uni_span_bert", "uni_span_decoder_deberta"} {
		dir := testutil.Fixture(t, fx)
		src := filepath.Join(dir, "model.safetensors")
		st, err := ReadState(src)
		if err != nil {
			t.Fatal(err)
		}
		var ts []Tensor
		for i := len(st.Names) - 1; i >= 0; i-- { // reverse order: the writer sorts
			n := st.Names[i]
			ts = append(ts, Tensor{Name: n, Shape: st.Tensors[n].Shape, Data: st.Tensors[n].Data})
		}
		out := filepath.Join(t.TempDir(), "model.safetensors")
		if err := WriteSafetensors(out, ts, nil); err != nil {
			t.Fatal(err)
		}
		a, _ := os.ReadFile(src)
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			n := 0
			for n < len(a) && n < len(b) && a[n] == b[n] {
				n++
			}
			t.Fatalf("%s: written file differs from the reference's at byte %d (sizes %d, %d)", fx, n, len(a), len(b))
		}
	}
}

// TestUnalignedAndConvert parses a fixture placed at an odd address (the
// element-wise decoding path) and converts the .bin to safetensors through
// State.FloatTensors, comparing the bytes with the reference's file.
func TestUnalignedAndConvert(t *testing.T) {
	dir := testutil.Fixture(t, "uni_token_bert")
	raw, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(raw)+1)
	copy(buf[1:], raw)
	odd, err := ParseSafetensors("odd", buf[1:])
	if err != nil {
		t.Fatal(err)
	}
	pt, err := ReadPyTorch(filepath.Join(dir, "pytorch_model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range pt.Names {
		got, err := odd.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		want := pt.Tensors[n].Data
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s[%d]: %v vs %v", n, i, got[i], want[i])
			}
		}
	}
	ts, err := pt.FloatTensors()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "model.safetensors")
	if err := WriteSafetensors(out, ts, nil); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	if !bytes.Equal(b, raw) {
		t.Fatal("bin converted to safetensors differs from the reference's model.safetensors")
	}
}
