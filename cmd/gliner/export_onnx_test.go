package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/internal/testutil"
	pb "github.com/gliner-go/gliner/onnx/onnxpb"
)

// exportedFiles lists a folder's files (sorted).
func exportedFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

// TestExportONNXCommand: `gliner export --format onnx` writes the folder
// the reference's export_to_onnx writes (gliner/model.py,
// BaseGLiNER.export_to_onnx: model.onnx, config.to_json_file's
// gliner_config.json, the transformer tokenizer's save_pretrained files),
// with the reference's outputs for each architecture, and a tokenizer that
// encodes as the model's own.
func TestExportONNXCommand(t *testing.T) {
	want := []string{"added_tokens.json", "gliner_config.json", "model.onnx", "special_tokens_map.json",
		"tokenizer.json", "tokenizer_config.json", "vocab.txt"}
	for _, c := range []struct {
		fixture string
		args    []string
		outputs string
	}{
		{"uni_span_deberta", nil, "logits"},
		{"uni_token_bert", nil, "logits"},
		{"uni_span_relex_deberta", nil, "logits rel_idx rel_logits rel_mask"},
		{"uni_token_relex_deberta", nil, "logits rel_idx rel_logits rel_mask"},
		{"uni_span_decoder_deberta", []string{"--encoder-only"}, "logits"},
	} {
		dir := testutil.Fixture(t, c.fixture)
		out := filepath.Join(t.TempDir(), "onnx")
		args := append([]string{"export", "--model", dir, "--output", out, "--format", "onnx"}, c.args...)
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 || stdout != fmt.Sprintf("exported %s to %s\n", dir, filepath.Join(out, "model.onnx")) {
			t.Fatalf("%s: code %d, stdout %q, stderr %q", c.fixture, code, stdout, stderr)
		}
		files := exportedFiles(t, out)
		if c.fixture == "uni_span_decoder_deberta" {
			// The span decoder's decoder tokenizer is saved beside it
			// (gliner-go's loader reads it; models.ExportWith).
			files = slices.DeleteFunc(files, func(s string) bool { return s == "decoder_tokenizer" })
		}
		if fmt.Sprint(files) != fmt.Sprint(want) {
			t.Errorf("%s: files %v, want %v", c.fixture, files, want)
		}
		a, err := os.ReadFile(filepath.Join(dir, "gliner_config.json"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(out, "gliner_config.json"))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: gliner_config.json differs from the reference's (%v)", c.fixture, err)
		}
		raw, err := os.ReadFile(filepath.Join(out, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		var mp pb.ModelProto
		if err := proto.Unmarshal(raw, &mp); err != nil {
			t.Fatalf("%s: model.onnx: %v", c.fixture, err)
		}
		var outs []string
		for _, o := range mp.Graph.Output {
			outs = append(outs, o.Name)
		}
		if got := strings.Join(outs, " "); got != c.outputs || mp.OpsetImport[0].Version != 17 {
			t.Errorf("%s: outputs %q opset %d, want %q opset 17", c.fixture, got, mp.OpsetImport[0].Version, c.outputs)
		}
		// The written tokenizer (tokenizer.json first) encodes as the
		// fixture's, prompt markers included.
		orig, err := tokenizer.Load(filepath.Join(dir, "tokenizer"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := tokenizer.Load(out)
		if err != nil {
			t.Fatalf("%s: exported tokenizer: %v", c.fixture, err)
		}
		words := []string{"<<ENT>>", "person", "<<SEP>>", "Alice", "joined", "Microsoft", "in", "London"}
		i1, _, err1 := orig.EncodeWords(words)
		i2, _, err2 := got.EncodeWords(words)
		if err1 != nil || err2 != nil || fmt.Sprint(i1) != fmt.Sprint(i2) || len(i1) < len(words) {
			t.Errorf("%s: exported tokenizer encodes %v (%v), the fixture's %v (%v)", c.fixture, i2, err2, i1, err1)
		}
	}
}

// TestExportONNXRefusals: combinations the ONNX export does not cover are
// refused with an error naming the way out, and write nothing.
func TestExportONNXRefusals(t *testing.T) {
	for _, c := range []struct {
		fixture string
		args    []string
		want    string
	}{
		{"uni_span_decoder_deberta", []string{"--format", "onnx"}, "labels decoder is not exported"},
		{"uni_token_decoder_deberta", []string{"--format", "onnx"}, "pass --encoder-only"},
		{"uni_span_deberta", []string{"--format", "onnx", "--encoder-only"}, "--encoder-only applies to the decoder architectures"},
		{"uni_span_deberta", []string{"--format", "onnx", "--label-embeddings"}, "label embeddings apply to the bi-encoders only"},
		{"uni_span_relex_deberta", []string{"--format", "onnx", "--label-embeddings"}, "label embeddings apply to the bi-encoders only"},
		{"uni_span_decoder_deberta", []string{"--encoder-only"}, "--quantize need --format onnx"},
		{"uni_span_deberta", []string{"--format", "onnx", "--position-first"}, "--position-first applies to the token models"},
		{"uni_token_relex_deberta", []string{"--format", "onnx", "--position-first"}, "--position-first applies to the token models"},
		{"uni_span_deberta", []string{"--label-embeddings"}, "--label-embeddings, --encoder-only, --position-first and --quantize need --format onnx"},
		{"uni_span_deberta", []string{"--format", "onnx", "--quantize", "int4"}, `--quantize "int4" (valid: int8)`},
		{"uni_span_deberta", []string{"--format", "tflite"}, `--format "tflite" (valid: safetensors, onnx)`},
	} {
		out := filepath.Join(t.TempDir(), "onnx")
		args := append([]string{"export", "--model", testutil.Fixture(t, c.fixture), "--output", out}, c.args...)
		code, _, stderr := runCLI(t, args...)
		if code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s %v: code %d, stderr %q; want code 1 and %q", c.fixture, c.args, code, stderr, c.want)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s %v: a refused export wrote %s (%v)", c.fixture, c.args, out, err)
		}
	}
}
