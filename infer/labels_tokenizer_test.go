package infer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/models"
)

// A labels-encoder folder that does not match the checkpoint is refused:
// a vocabulary with ids past the labels encoder's embedding rows, or a
// config.json of another hidden size / vocabulary. The matching folder
// given with --labels-tokenizer, or kept as <model>/labels_tokenizer by
// export, loads.
func TestLabelsTokenizerMustMatchTheLabelsEncoder(t *testing.T) {
	dir := testutil.Fixture(t, "bi_span_deberta")
	// tokenizer/ has 323 ids (GLiNER's added tokens), the labels encoder 320 rows.
	_, err := LoadWith(dir, LoadOptions{LabelsTokenizerDir: filepath.Join(dir, "tokenizer")})
	if err == nil || !strings.Contains(err.Error(), "vocabulary of 323 ids") || !strings.Contains(err.Error(), "320 rows") ||
		!strings.Contains(err.Error(), filepath.Join(dir, "tokenizer")) {
		t.Errorf("too large a vocabulary: %v", err)
	}
	vocab, err := os.ReadFile(filepath.Join(dir, "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "vocab.txt"), vocab, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "config.json"), []byte(`{"model_type":"bert","hidden_size":64,"vocab_size":320}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadWith(dir, LoadOptions{LabelsTokenizerDir: other})
	if err == nil || !strings.Contains(err.Error(), "hidden_size 64") || !strings.Contains(err.Error(), "another labels encoder") ||
		!strings.Contains(err.Error(), filepath.Join(other, "config.json")) {
		t.Errorf("config of another hidden size: %v", err)
	}
	if err := os.WriteFile(filepath.Join(other, "config.json"), []byte(`{"model_type":"bert","hidden_size":32,"vocab_size":320}`), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := LoadWith(dir, LoadOptions{LabelsTokenizerDir: other})
	if err != nil {
		t.Fatalf("matching labels-encoder folder: %v", err)
	}
	// Export keeps it in labels_tokenizer/; Load finds it there.
	out := filepath.Join(t.TempDir(), "export")
	if err := models.ExportWith(p.Model, p.Tokenizer, out, models.ExportOptions{AuxTokenizer: p.LabelsTokenizer}); err != nil {
		t.Fatal(err)
	}
	q, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if q.LabelsTokenizer.VocabSize() != 320 {
		t.Errorf("exported labels tokenizer has %d ids, want 320", q.LabelsTokenizer.VocabSize())
	}
}
