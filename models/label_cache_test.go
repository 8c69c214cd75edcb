package models

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/checkpoints"
)

// Cached label embeddings give the logits of the full forward on both
// bi-encoder fixtures (and the reference's within 1e-4), survive a
// save/load round trip bit for bit, and are refused by a model whose
// labels encoder differs by one value.
func TestLabelEmbeddingsReplaceTheLabelsEncoder(t *testing.T) {
	for _, name := range []string{"bi_span_deberta", "bi_token_deberta"} {
		t.Run(name, func(t *testing.T) {
			m, dir, exp := loadFixtureModel(t, name)
			b := fixtureBatch(t, dir, false, m.Cfg.MaxWidth)
			full, err := m.Forward(b)
			if err != nil {
				t.Fatal(err)
			}
			labels := make([]string, b.NumClasses)
			for i := range labels {
				labels[i] = string(rune('a' + i))
			}
			le, err := m.NewLabelEmbeddings(labels, b.LabelsInputIDs, b.LabelsAttentionMask)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(le.Embeddings.F, full.Intermediates["token_rep_layer_output.1"].F); d != 0 {
				t.Errorf("cached embeddings differ from the forward's pooled labels by %g", d)
			}
			path := filepath.Join(t.TempDir(), "labels.safetensors")
			if err := le.Save(path, m.Arch.String()); err != nil {
				t.Fatal(err)
			}
			back, err := LoadLabelEmbeddings(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := back.Check(m); err != nil {
				t.Fatal(err)
			}
			if strings.Join(back.Labels, ",") != strings.Join(labels, ",") || maxDiff(back.Embeddings.F, le.Embeddings.F) != 0 {
				t.Fatalf("round trip changed the labels or embeddings")
			}
			// Drop the label ids: the cached path must not need them.
			nb := *b
			nb.LabelsInputIDs.Shape, nb.LabelsInputIDs.Data = nil, nil
			nb.LabelsAttentionMask.Shape, nb.LabelsAttentionMask.Data = nil, nil
			got, err := m.ForwardWithLabelEmbeddings(&nb, back.Embeddings)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(got.Logits.F, full.Logits.F); d != 0 {
				t.Errorf("logits with cached labels differ by %g", d)
			}
			checkClose(t, "logits with cached labels", got.Logits.F, exp.Logits)
			// A subset in another order selects rows.
			rows, err := back.Rows([]string{labels[1], labels[0]})
			if err != nil {
				t.Fatal(err)
			}
			H := m.Cfg.HiddenSize
			if maxDiff(rows.F[:H], le.Embeddings.F[H:2*H]) != 0 {
				t.Errorf("Rows did not pick the named label")
			}
			if _, err := back.Rows([]string{"nope"}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
				t.Errorf("unknown label: %v", err)
			}
			// Another model: one labels-encoder value changed.
			p, _ := m.Store.Get("token_rep_layer.labels_encoder.model.embeddings.word_embeddings.weight")
			p.Data[0] += 1e-3
			if err := back.Check(m); err == nil || !strings.Contains(err.Error(), "another model") {
				t.Errorf("embeddings from another model: %v", err)
			}
		})
	}
}

func TestLabelEmbeddingsBadInput(t *testing.T) {
	m, dir, _ := loadFixtureModel(t, "bi_span_deberta")
	b := fixtureBatch(t, dir, false, m.Cfg.MaxWidth)
	if _, err := m.NewLabelEmbeddings(nil, b.LabelsInputIDs, b.LabelsAttentionMask); err == nil || !strings.Contains(err.Error(), "empty label list") {
		t.Errorf("empty labels: %v", err)
	}
	uni, _, _ := loadFixtureModel(t, "uni_span_bert")
	if _, err := uni.LabelsFingerprint(); err == nil || !strings.Contains(err.Error(), "no labels encoder") {
		t.Errorf("uni-encoder: %v", err)
	}
	// A safetensors file that is not a label cache.
	path := filepath.Join(t.TempDir(), "x.safetensors")
	if err := checkpoints.WriteSafetensors(path, []checkpoints.Tensor{{Name: "w", Shape: []int{1}, Data: []float32{1}}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadLabelEmbeddings(path); err == nil || !strings.Contains(err.Error(), "not a label-embeddings file") || !strings.Contains(err.Error(), path) {
		t.Errorf("foreign file: %v", err)
	}
	le := &LabelEmbeddings{Fingerprint: "x"}
	if err := le.Save(filepath.Join(t.TempDir(), "e.safetensors"), "BiEncoderSpan"); err == nil || !strings.Contains(err.Error(), "empty label list") {
		t.Errorf("saving no labels: %v", err)
	}
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var w float64
	for i := range a {
		w = math.Max(w, math.Abs(float64(a[i]-b[i])))
	}
	return w
}
