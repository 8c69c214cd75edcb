package finetune

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/models"
)

// copyFile copies src to dst.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// referenceBiFolder lays a bi-encoder fixture out as the reference's
// save_pretrained writes it: gliner_config.json (class_token_index and
// vocab_size -1, labels_encoder "labels_encoder"), model.safetensors and
// the text tokenizer (323 ids, 320 embedding rows) at the top, no
// labels_tokenizer/. withLabels adds the labels encoder's folder
// labels_encoder/ (its config.json and the fixture's 320-id vocab.txt)
// beside them, where config.labels_encoder names it.
func referenceBiFolder(t *testing.T, fixture string, withLabels bool) (dir, labels string) {
	t.Helper()
	src := testutil.Fixture(t, fixture)
	root := t.TempDir()
	dir = filepath.Join(root, "model")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"gliner_config.json", "model.safetensors"} {
		copyFile(t, filepath.Join(src, f), filepath.Join(dir, f))
	}
	for _, f := range []string{"added_tokens.json", "special_tokens_map.json", "tokenizer_config.json", "vocab.txt"} {
		copyFile(t, filepath.Join(src, "tokenizer", f), filepath.Join(dir, f))
	}
	labels = filepath.Join(root, "labels")
	if withLabels {
		labels = filepath.Join(dir, "labels_encoder")
	}
	if err := os.MkdirAll(labels, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(src, "labels_encoder_config.json"), filepath.Join(labels, "config.json"))
	copyFile(t, filepath.Join(src, "vocab.txt"), filepath.Join(labels, "vocab.txt"))
	return dir, labels
}

// A reference bi-encoder folder (class_token_index and vocab_size -1, a
// text tokenizer with GLiNER's three tokens past the 320 embedding rows, no
// labels_tokenizer/) is a model.prev_path: the weights are the folder's,
// the labels tokenizer comes from config.labels_encoder's folder beside it
// (or the recipe's model.bi_encoder.labels_encoder), a few steps train and
// the exported folder reloads, also as a prev_path.
func TestPrevPathReferenceBiEncoder(t *testing.T) {
	for _, c := range []struct {
		fixture string
		want    models.Architecture
		spanMod string
	}{
		{"bi_token_deberta", models.BiEncoderToken, "token_level"},
		{"bi_span_deberta", models.BiEncoderSpan, "markerV0"},
	} {
		for _, viaRecipe := range []bool{false, true} {
			name := c.fixture + "/config.labels_encoder"
			if viaRecipe {
				name = c.fixture + "/recipe labels_encoder"
			}
			t.Run(name, func(t *testing.T) {
				dir, labels := referenceBiFolder(t, c.fixture, !viaRecipe)
				ref, err := models.Load(dir)
				if err != nil {
					t.Fatal(err)
				}
				if ref.Cfg.ClassTokenIndex != -1 || ref.Cfg.VocabSize != -1 || ref.EncCfg.VocabSize != 320 {
					t.Fatalf("fixture: class_token_index %d vocab_size %d, encoder vocab %d", ref.Cfg.ClassTokenIndex, ref.Cfg.VocabSize, ref.EncCfg.VocabSize)
				}
				r := tinyRecipeFor(t, filepath.Join(t.TempDir(), "run"))
				r.Model.PrevPath, r.Model.EncoderConfig = dir, nil
				if viaRecipe {
					r.Model.BiEncoder = &BiEncoderSection{LabelsEncoder: labels}
				}
				r.Model.MaxLen = 12
				r.Training.NumSteps, r.Training.EvalEvery = 4, 2
				r.Training.LREncoder, r.Training.LROthers = 1e-5, 1e-4
				if err := r.Validate(); err != nil {
					t.Fatal(err)
				}
				b, err := BuildModel(r, nil)
				if err != nil {
					t.Fatal(err)
				}
				if b.Model.Arch != c.want || b.Source != FromGLiNER || b.Model.Cfg.SpanMode != c.spanMod {
					t.Fatalf("built %v from %v (span_mode %s), want %v", b.Model.Arch, b.Source, b.Model.Cfg.SpanMode, c.want)
				}
				if b.Tokenizer.VocabSize() != 323 || b.LabelsTokenizer == nil || b.LabelsTokenizer.VocabSize() != 320 {
					t.Fatalf("text tokenizer %d ids, labels tokenizer %v", b.Tokenizer.VocabSize(), b.LabelsTokenizer)
				}
				params := b.Model.Store.Params()
				if len(params) != len(ref.Store.Params()) {
					t.Fatalf("%d parameters, the folder has %d", len(params), len(ref.Store.Params()))
				}
				for _, p := range params {
					q, ok := ref.Store.Get(p.Name)
					if !ok || len(q.Data) != len(p.Data) {
						t.Fatalf("%s: not in the folder's model or another size", p.Name)
					}
					for i := range p.Data {
						if p.Data[i] != q.Data[i] {
							t.Fatalf("%s[%d] = %v, the folder has %v", p.Name, i, p.Data[i], q.Data[i])
						}
					}
				}

				res, err := Run(context.Background(), r, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if res.Source != FromGLiNER || res.Train.Steps != 4 {
					t.Fatalf("source %v, %+v", res.Source, res.Train)
				}
				m, err := models.Load(res.FinalDir)
				if err != nil {
					t.Fatal(err)
				}
				if m.Arch != c.want {
					t.Fatalf("exported %v, want %v", m.Arch, c.want)
				}
				var changed bool
				for _, p := range m.Store.Params() {
					q, _ := ref.Store.Get(p.Name)
					for i := range p.Data {
						changed = changed || p.Data[i] != q.Data[i]
					}
				}
				if !changed {
					t.Fatal("four training steps changed no weight")
				}
				a, _ := os.ReadFile(filepath.Join(labels, "vocab.txt"))
				lv, err := os.ReadFile(filepath.Join(res.FinalDir, models.LabelsTokenizerDir, "vocab.txt"))
				if err != nil || string(a) != string(lv) {
					t.Fatalf("labels_tokenizer/vocab.txt is not the labels folder's (%v)", err)
				}
				r2 := tinyRecipeFor(t, filepath.Join(t.TempDir(), "again"))
				r2.Model.PrevPath, r2.Model.EncoderConfig = res.FinalDir, nil
				b2, err := BuildModel(r2, nil)
				if err != nil {
					t.Fatalf("the export is no prev_path: %v", err)
				}
				if b2.Model.Arch != c.want || b2.LabelsTokenizer.VocabSize() != 320 {
					t.Fatalf("reloaded export %v, labels tokenizer %d ids", b2.Model.Arch, b2.LabelsTokenizer.VocabSize())
				}
			})
		}
	}
}

// A reference bi-encoder folder whose labels tokenizer is nowhere (no
// labels_tokenizer/, no config.labels_encoder folder, no recipe
// labels_encoder) is refused naming what to set; so is one whose text
// tokenizer has an id past the embedding other than GLiNER's tokens.
func TestPrevPathReferenceBiEncoderBadInput(t *testing.T) {
	dir, _ := referenceBiFolder(t, "bi_token_deberta", false)
	r := tinyRecipeFor(t, filepath.Join(t.TempDir(), "run"))
	r.Model.PrevPath, r.Model.EncoderConfig = dir, nil
	_, err := BuildModel(r, nil)
	if err == nil || !strings.Contains(err.Error(), "set model.bi_encoder.labels_encoder") || !strings.Contains(err.Error(), filepath.Join(dir, "labels_encoder")) {
		t.Fatalf("missing labels tokenizer: %v", err)
	}
	r.Model.BiEncoder = &BiEncoderSection{LabelsEncoder: filepath.Join(dir, "nowhere")}
	if _, err := BuildModel(r, nil); err == nil || !strings.Contains(err.Error(), "model.bi_encoder.labels_encoder") || !strings.Contains(err.Error(), "not a folder") {
		t.Fatalf("recipe labels_encoder not a folder: %v", err)
	}

	dir2, labels := referenceBiFolder(t, "bi_token_deberta", true)
	tok, err := tokenizer.Load(dir2)
	if err != nil {
		t.Fatal(err)
	}
	tok.AddSpecialTokens("[XTRA]")
	if err := tok.Save(dir2); err != nil {
		t.Fatal(err)
	}
	r.Model.PrevPath, r.Model.BiEncoder = dir2, &BiEncoderSection{LabelsEncoder: labels}
	if _, err := BuildModel(r, nil); err == nil || !strings.Contains(err.Error(), `text tokenizer id 323 (["[XTRA]"])`) || !strings.Contains(err.Error(), "320 rows") {
		t.Fatalf("extra text token past the embedding: %v", err)
	}
}
