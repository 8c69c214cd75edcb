package infer

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/models"
)

// TestExportedFolderGivesIdenticalLogits exports each span fixture with
// models.Export and checks the exported folder (tokenizer at the top level,
// the reference's layout) loads with Load and gives bit-identical logits and
// the same entities.
func TestExportedFolderGivesIdenticalLogits(t *testing.T) {
	for _, name := range modelFixtures {
		t.Run(name, func(t *testing.T) {
			p, exs, labels, _ := loadFixture(t, name)
			out := filepath.Join(t.TempDir(), "export")
			if err := models.ExportWith(p.Model, p.Tokenizer, out, models.ExportOptions{AuxTokenizer: p.LabelsTokenizer}); err != nil {
				t.Fatal(err)
			}
			if TokenizerDir(out) != out {
				t.Fatalf("exported tokenizer not at the top level")
			}
			q, err := Load(out)
			if err != nil {
				t.Fatal(err)
			}
			o := DefaultOptions()
			o.KeepLogits = true
			a, err := p.PredictExamples(exs, labels, o)
			if err != nil {
				t.Fatal(err)
			}
			b, err := q.PredictExamples(exs, labels, o)
			if err != nil {
				t.Fatal(err)
			}
			la, lb := a.Logits[0], b.Logits[0]
			if fmtShape(la.Shape) != fmtShape(lb.Shape) {
				t.Fatalf("shape %v vs %v", lb.Shape, la.Shape)
			}
			for i := range la.Data {
				if math.Float32bits(la.Data[i]) != math.Float32bits(lb.Data[i]) {
					t.Fatalf("logits[%d]: exported %v, original %v", i, lb.Data[i], la.Data[i])
				}
			}
			if mustJSON(t, a.Entities) != mustJSON(t, b.Entities) {
				t.Errorf("entities differ after export")
			}
		})
	}
}

func TestLoadErrorsNameTheFolderAndTheMissingFile(t *testing.T) {
	src := testutil.Fixture(t, "uni_span_bert")
	copyDir := func(t *testing.T, skip string) string {
		dst := t.TempDir()
		for _, f := range []string{"gliner_config.json", "model.safetensors", "tokenizer/vocab.txt", "tokenizer/tokenizer_config.json",
			"tokenizer/special_tokens_map.json", "tokenizer/added_tokens.json"} {
			if strings.Contains(","+skip+",", ","+f+",") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(src, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, f)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dst, f), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dst
	}
	if _, err := Load(copyDir(t, "")); err != nil {
		t.Fatalf("complete copy: %v", err)
	}
	for skip, want := range map[string]string{
		"gliner_config.json": "missing gliner_config.json",
		"model.safetensors":  "neither model.safetensors nor pytorch_model.bin",
		"tokenizer/added_tokens.json,tokenizer/tokenizer_config.json,tokenizer/special_tokens_map.json": `no "<<ENT>>" token`,
	} {
		dir := copyDir(t, skip)
		_, err := Load(dir)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), dir) {
			t.Errorf("without %s: err = %v, want %q naming %s", skip, err, want, dir)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "nope")); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing folder: %v", err)
	}
	// A bi-encoder needs its labels tokenizer.
	bi := testutil.Fixture(t, "bi_span_deberta")
	if _, err := Load(bi); err == nil || !strings.Contains(err.Error(), "labels_tokenizer folder") || !strings.Contains(err.Error(), bi) {
		t.Errorf("bi-encoder without labels tokenizer: %v", err)
	}
	// --tokenizer override: the base vocabulary (no GLiNER tokens) is refused.
	if _, err := LoadWith(src, LoadOptions{TokenizerDir: src}); err == nil || !strings.Contains(err.Error(), "<<ENT>>") {
		t.Errorf("override with the base vocabulary: %v", err)
	}
	if p, err := LoadWith(src, LoadOptions{TokenizerDir: filepath.Join(src, "tokenizer")}); err != nil || p.Dir != src {
		t.Errorf("override: %v", err)
	}
}
