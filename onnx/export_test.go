package onnx

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/models"
	pb "github.com/gliner-go/gliner/onnx/onnxpb"
)

// TestExportFolder checks the folder Export writes: model.onnx that
// decodes, the reference's gliner_config.json (byte-identical to the
// fixture's, which the reference wrote) and the tokenizer files; a second
// export into the non-empty folder is refused without overwrite.
func TestExportFolder(t *testing.T) {
	dir := testutil.Fixture(t, "uni_span_deberta")
	m, err := models.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "onnx")
	if err := Export(m, tok, nil, out, Options{}, false); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(out, FileName))
	if err != nil {
		t.Fatal(err)
	}
	var mp pb.ModelProto
	if err := proto.Unmarshal(raw, &mp); err != nil {
		t.Fatalf("model.onnx: %v", err)
	}
	if len(mp.Graph.Initializer) == 0 || mp.Graph.Output[0].Name != "logits" {
		t.Fatalf("model.onnx: %d initializers, outputs %v", len(mp.Graph.Initializer), mp.Graph.Output)
	}
	got, err := os.ReadFile(filepath.Join(out, "gliner_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(dir, "gliner_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("gliner_config.json differs from the reference's")
	}
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("tokenizer file: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "model.safetensors")); err == nil {
		t.Errorf("an ONNX export folder holds model.safetensors")
	}
	err = Export(m, tok, nil, out, Options{}, false)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("second export without overwrite: %v, want a refusal", err)
	}
	if err := Export(m, tok, nil, out, Options{}, true); err != nil {
		t.Errorf("overwrite: %v", err)
	}
}

// TestExportRefusals: architectures and options the export does not
// cover are errors naming what is supported.
func TestExportRefusals(t *testing.T) {
	for _, c := range []struct {
		fixture string
		o       Options
		want    string
	}{
		{"uni_span_decoder_deberta", Options{}, "labels decoder is not exported"},
		{"uni_token_decoder_deberta", Options{}, "pass --encoder-only"},
		{"uni_span_deberta", Options{EncoderOnly: true}, "--encoder-only applies to the decoder architectures"},
		{"uni_span_deberta", Options{LabelEmbeddings: true}, "bi-encoders only"},
		{"uni_span_relex_deberta", Options{LabelEmbeddings: true}, "bi-encoders only"},
	} {
		m, err := models.Load(testutil.Fixture(t, c.fixture))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Build(m, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %+v: %v, want an error containing %q", c.fixture, c.o, err, c.want)
		}
	}
}
