package infer

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/models"
)

// Predicting with cached label embeddings (through a file) gives the
// logits and entities of encoding the labels per batch, with buckets too,
// and an empty label list means every cached label.
func TestCachedLabelEmbeddingsPredictTheSame(t *testing.T) {
	for _, name := range []string{"bi_span_deberta", "bi_token_deberta"} {
		t.Run(name, func(t *testing.T) {
			p, exs, labels, exp := loadFixture(t, name)
			le, err := p.EmbedLabels(labels, 0)
			if err != nil {
				t.Fatal(err)
			}
			one, err := p.EmbedLabels(labels, 1)
			if err != nil {
				t.Fatal(err)
			}
			for i := range le.Embeddings.F {
				if d := math.Abs(float64(le.Embeddings.F[i] - one.Embeddings.F[i])); d > 1e-6 {
					t.Fatalf("chunked embedding [%d] differs by %g", i, d)
				}
			}
			path := filepath.Join(t.TempDir(), "labels.safetensors")
			if err := le.Save(path, p.Model.Arch.String()); err != nil {
				t.Fatal(err)
			}
			back, err := models.LoadLabelEmbeddings(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, buckets := range []bool{false, true} {
				o := DefaultOptions()
				o.KeepLogits, o.Buckets = true, buckets
				p.LabelEmbeddings = nil
				a, err := p.PredictExamples(exs, labels, o)
				if err != nil {
					t.Fatal(err)
				}
				if err := p.UseLabelEmbeddings(back); err != nil {
					t.Fatal(err)
				}
				c, err := p.PredictExamples(exs, nil, o)
				if err != nil {
					t.Fatal(err)
				}
				la, lc := a.Logits[0], c.Logits[0]
				if fmtShape(la.Shape) != fmtShape(lc.Shape) {
					t.Fatalf("shape %v vs %v", lc.Shape, la.Shape)
				}
				for i := range la.Data {
					if d := math.Abs(float64(la.Data[i] - lc.Data[i])); d > 1e-6 {
						t.Fatalf("buckets %v: logits[%d] cached %v, encoded %v", buckets, i, lc.Data[i], la.Data[i])
					}
				}
				if !buckets {
					if !testutil.AssertCloseJSON(t, "cached logits", lc.Data, exp.Logits, testutil.Forward) {
						t.FailNow()
					}
				}
				if mustJSON(t, a.Entities) != mustJSON(t, c.Entities) {
					t.Errorf("buckets %v: entities differ with cached labels", buckets)
				}
			}
			// A subset of the cached labels; an unknown one is an error.
			if _, err := p.PredictExamples(exs, labels[:1], DefaultOptions()); err != nil {
				t.Errorf("subset: %v", err)
			}
			if _, err := p.PredictExamples(exs, []string{"not cached"}, DefaultOptions()); err == nil || !strings.Contains(err.Error(), `"not cached"`) {
				t.Errorf("unknown label: %v", err)
			}
		})
	}
}

func TestLabelEmbeddingsErrors(t *testing.T) {
	span, _, labels, _ := loadFixture(t, "bi_span_deberta")
	tok, _, _, _ := loadFixture(t, "bi_token_deberta")
	if _, err := span.EmbedLabels(nil, 0); err == nil || !strings.Contains(err.Error(), "empty label list") {
		t.Errorf("empty list: %v", err)
	}
	le, err := span.EmbedLabels(labels, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.UseLabelEmbeddings(le); err == nil || !strings.Contains(err.Error(), "another model") {
		t.Errorf("embeddings of another model: %v", err)
	}
	uni, err := Load(testutil.Fixture(t, "uni_span_bert"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := uni.EmbedLabels(labels, 0); err == nil || !strings.Contains(err.Error(), "no labels encoder") {
		t.Errorf("uni-encoder: %v", err)
	}
	if err := uni.UseLabelEmbeddings(le); err == nil || !strings.Contains(err.Error(), "no labels encoder") {
		t.Errorf("uni-encoder: %v", err)
	}
}

// BenchmarkLabelEmbeddings predicts 16 texts against 200 entity types with
// the labels encoded on every batch versus cached once (bi_span_deberta).
func BenchmarkLabelEmbeddings(b *testing.B) {
	dir := testutil.Fixture(b, "bi_span_deberta")
	p, err := LoadWith(dir, LoadOptions{LabelsTokenizerDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	words := []string{"person", "city", "company", "river", "date", "event", "product", "law", "disease", "team"}
	labels := make([]string, 200)
	for i := range labels {
		labels[i] = fmt.Sprintf("%s %s %d", words[i%10], words[(i/10)%10], i)
	}
	base := []string{"Alice Brown joined Microsoft in London yesterday.", "Berlin is the capital of Germany.",
		"The summit in Paris ended on Friday with a statement from the United Nations."}
	texts := make([]string, 16)
	for i := range texts {
		texts[i] = base[i%len(base)]
	}
	o := DefaultOptions()
	le, err := p.EmbedLabels(labels, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encoded_per_batch", func(b *testing.B) {
		p.LabelEmbeddings = nil
		for b.Loop() {
			if _, err := p.Predict(texts, labels, o); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		if err := p.UseLabelEmbeddings(le); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := p.Predict(texts, labels, o); err != nil {
				b.Fatal(err)
			}
		}
	})
}
