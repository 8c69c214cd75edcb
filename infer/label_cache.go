package infer

import (
	"fmt"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/models"
)

// EmbedLabels encodes a bi-encoder's label strings once (labels encoder,
// labels_projection, masked mean; tokenized as data.Collator tokenizes
// them for a batch) into a cache that UseLabelEmbeddings, or a file
// written with LabelEmbeddings.Save, feeds back to later predictions.
// Duplicate labels are kept once; an empty list is an error. Labels are
// encoded chunk labels at a time (0: all at once).
func (p *Pipeline) EmbedLabels(labels []string, chunk int) (*models.LabelEmbeddings, error) {
	if !p.arch.BiEncoder() {
		return nil, fmt.Errorf("embed labels: %v has no labels encoder (label embeddings are for %s)", p.arch, data.ArchitecturesThat(data.Architecture.BiEncoder))
	}
	labels, err := data.DedupLabels(labels)
	if err != nil {
		return nil, fmt.Errorf("embed labels: %w", err)
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("embed labels: empty label list")
	}
	if chunk <= 0 {
		chunk = len(labels)
	}
	var out *models.LabelEmbeddings
	for s := 0; s < len(labels); s += chunk {
		part := labels[s:min(s+chunk, len(labels))]
		ids, mask, err := data.EncodeLabels(p.LabelsTokenizer, "labels tokenizer", part) // as the collator's labels_input_ids
		if err != nil {
			return nil, fmt.Errorf("embed labels: %w", err)
		}
		le, err := p.Model.NewLabelEmbeddings(part, ids, mask)
		if err != nil {
			return nil, fmt.Errorf("embed labels %d-%d: %w", s, s+len(part)-1, err)
		}
		if out == nil {
			out = le
			out.Labels = append([]string(nil), labels...)
			out.Embeddings.Shape[0] = len(labels)
			out.Embeddings.F = append(make([]float32, 0, len(labels)*le.Embeddings.Shape[1]), le.Embeddings.F...)
		} else {
			out.Embeddings.F = append(out.Embeddings.F, le.Embeddings.F...)
		}
	}
	return out, nil
}

// UseLabelEmbeddings makes later predictions take their label embeddings
// from le instead of running the labels encoder on every batch; le must
// come from this model (same labels-encoder fingerprint). Predict then
// accepts any subset of le.Labels, and an empty label list means all of
// them. nil goes back to encoding labels per batch.
func (p *Pipeline) UseLabelEmbeddings(le *models.LabelEmbeddings) error {
	if le == nil {
		p.LabelEmbeddings = nil
		return nil
	}
	if !p.arch.BiEncoder() {
		return fmt.Errorf("label embeddings: %v has no labels encoder (they are for %s)", p.arch, data.ArchitecturesThat(data.Architecture.BiEncoder))
	}
	if err := le.Check(p.Model); err != nil {
		return err
	}
	p.LabelEmbeddings = le
	return nil
}

// forward runs the model on a batch whose classes are labels, with the
// cached label embeddings when set.
func (p *Pipeline) forward(b *data.Batch, labels []string) (*models.Output, error) {
	if p.LabelEmbeddings == nil {
		return p.Model.Forward(b)
	}
	rows, err := p.LabelEmbeddings.Rows(labels)
	if err != nil {
		return nil, err
	}
	return p.Model.ForwardWithLabelEmbeddings(b, rows)
}
