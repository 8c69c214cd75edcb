package models

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/data"
)

// Label-embedding cache (bi-encoders). A fixed schema of many entity types
// is encoded once: the labels encoder, token_rep_layer.labels_projection
// and the masked mean give one (H) vector per label — the reference's
// `labels_embeds` (its encode_labels output, before prompt_rep_layer) —
// and ForwardWithLabelEmbeddings feeds those rows to the model in place
// of labels_input_ids. The cache file is a safetensors file with one
// tensor, LabelEmbeddingsTensor (C,H) F32, and metadata: the label
// strings (JSON list), the architecture, H and the fingerprint of the
// labels encoder that made it; using it with another model is an error.

// LabelEmbeddingsTensor is the cache file's tensor name.
const LabelEmbeddingsTensor = "labels_embeds"

// LabelEmbeddings are pooled label embeddings computed once by a
// bi-encoder's label path.
type LabelEmbeddings struct {
	// Labels are the label strings, row c = Labels[c].
	Labels []string
	// Embeddings is (C,H) float32.
	Embeddings autograd.Value
	// Fingerprint identifies the labels encoder (Model.LabelsFingerprint).
	Fingerprint string
}

// LabelsFingerprint is a sha256 over the names, shapes and values of the
// parameters the cached embeddings depend on (the labels encoder and
// token_rep_layer.labels_projection), hex-encoded. Two models give the
// same fingerprint only when their label paths compute the same thing.
func (m *Model) LabelsFingerprint() (string, error) {
	if m.labelsEncoder() == nil {
		return "", fmt.Errorf("%v has no labels encoder (label embeddings are for BiEncoderSpan and BiEncoderToken)", m.Arch)
	}
	h := sha256.New()
	var buf [8]byte
	ps := append([]*autograd.Param(nil), m.Store.Params()...)
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	n := 0
	for _, p := range ps {
		if !strings.HasPrefix(p.Name, "token_rep_layer.labels_encoder.") && !strings.HasPrefix(p.Name, "token_rep_layer.labels_projection.") {
			continue
		}
		n++
		h.Write([]byte(p.Name))
		h.Write([]byte{0})
		for _, d := range p.Shape {
			binary.LittleEndian.PutUint64(buf[:], uint64(d))
			h.Write(buf[:])
		}
		b := make([]byte, 4*len(p.Data))
		for i, v := range p.Data {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		h.Write(b)
	}
	if n == 0 {
		return "", fmt.Errorf("%v: no labels encoder parameters to fingerprint", m.Arch)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// EncodeLabels runs the label path alone on tokenized labels (ids and
// mask (C,Tl), as data.Collator builds LabelsInputIDs and
// LabelsAttentionMask) and returns the pooled (C,H) embeddings.
func (m *Model) EncodeLabels(ids, mask data.Tensor[int64]) (autograd.Value, error) {
	if m.labelsEncoder() == nil {
		return autograd.Value{}, fmt.Errorf("%v has no labels encoder (label embeddings are for BiEncoderSpan and BiEncoderToken)", m.Arch)
	}
	if len(ids.Shape) != 2 || ids.Shape[0] < 1 || ids.Shape[1] < 1 || fmt.Sprint(ids.Shape) != fmt.Sprint(mask.Shape) {
		return autograd.Value{}, fmt.Errorf("encode labels: labels_input_ids %v and labels_attention_mask %v must both be (C>0, Tl>0)", ids.Shape, mask.Shape)
	}
	k := shapeKey{C: ids.Shape[0], TL: ids.Shape[1], labelsOnly: true}
	c, err := m.graph(k)
	if err != nil {
		return autograd.Value{}, fmt.Errorf("encode labels: %w", err)
	}
	if err := c.m.SetInts("labels_input_ids", ids.Data, k.C, k.TL); err != nil {
		return autograd.Value{}, fmt.Errorf("encode labels: %w", err)
	}
	if err := c.m.SetInts("labels_attention_mask", mask.Data, k.C, k.TL); err != nil {
		return autograd.Value{}, fmt.Errorf("encode labels: %w", err)
	}
	if err := c.m.Run(); err != nil {
		return autograd.Value{}, err
	}
	v, err := c.m.Value(c.logits)
	if err != nil {
		return autograd.Value{}, err
	}
	return copyValue(v), nil
}

// NewLabelEmbeddings encodes tokenized labels (see EncodeLabels) and
// stamps the result with the model's fingerprint. labels name the rows.
func (m *Model) NewLabelEmbeddings(labels []string, ids, mask data.Tensor[int64]) (*LabelEmbeddings, error) {
	if len(labels) == 0 {
		return nil, fmt.Errorf("label embeddings: empty label list")
	}
	if len(ids.Shape) != 2 || ids.Shape[0] != len(labels) {
		return nil, fmt.Errorf("label embeddings: %d labels, labels_input_ids %v", len(labels), ids.Shape)
	}
	fp, err := m.LabelsFingerprint()
	if err != nil {
		return nil, err
	}
	v, err := m.EncodeLabels(ids, mask)
	if err != nil {
		return nil, err
	}
	return &LabelEmbeddings{Labels: append([]string(nil), labels...), Embeddings: v, Fingerprint: fp}, nil
}

// Check reports whether le can be used with m: same fingerprint (the
// same labels encoder weights) and width H.
func (le *LabelEmbeddings) Check(m *Model) error {
	fp, err := m.LabelsFingerprint()
	if err != nil {
		return err
	}
	if le.Fingerprint != fp {
		return fmt.Errorf("label embeddings were computed with another model (labels encoder fingerprint %.12s…, this model's %.12s…): recompute them with `gliner labels embed` for this model",
			le.Fingerprint, fp)
	}
	if s := le.Embeddings.Shape; len(s) != 2 || s[1] != m.Cfg.HiddenSize || s[0] != len(le.Labels) {
		return fmt.Errorf("label embeddings have shape %v for %d labels, the model wants (C, %d)", s, len(le.Labels), m.Cfg.HiddenSize)
	}
	return nil
}

// Rows returns the (len(labels),H) embeddings of the named labels, in
// that order; a label not in le is an error naming it.
func (le *LabelEmbeddings) Rows(labels []string) (autograd.Value, error) {
	H := le.Embeddings.Shape[1]
	idx := make(map[string]int, len(le.Labels))
	for i, l := range le.Labels {
		if _, dup := idx[l]; !dup {
			idx[l] = i
		}
	}
	out := autograd.Value{Shape: []int{len(labels), H}, F: make([]float32, len(labels)*H)}
	for r, l := range labels {
		i, ok := idx[l]
		if !ok {
			return autograd.Value{}, fmt.Errorf("label %q is not in the label embeddings (%d labels cached)", l, len(le.Labels))
		}
		copy(out.F[r*H:(r+1)*H], le.Embeddings.F[i*H:(i+1)*H])
	}
	return out, nil
}

// Save writes le as a safetensors file with the labels and fingerprint
// in its metadata.
func (le *LabelEmbeddings) Save(path, arch string) error {
	if len(le.Labels) == 0 {
		return fmt.Errorf("label embeddings %s: empty label list", path)
	}
	lj, err := json.Marshal(le.Labels)
	if err != nil {
		return err
	}
	meta := map[string]string{
		"format":       "gliner-go-label-embeddings",
		"labels":       string(lj),
		"fingerprint":  le.Fingerprint,
		"architecture": arch,
	}
	t := checkpoints.Tensor{Name: LabelEmbeddingsTensor, Shape: le.Embeddings.Shape, Data: le.Embeddings.F}
	if err := checkpoints.WriteSafetensors(path, []checkpoints.Tensor{t}, meta); err != nil {
		return fmt.Errorf("label embeddings %s: %w", path, err)
	}
	return nil
}

// LoadLabelEmbeddings reads a file written by LabelEmbeddings.Save.
func LoadLabelEmbeddings(path string) (*LabelEmbeddings, error) {
	f, err := checkpoints.OpenSafetensors(path)
	if err != nil {
		return nil, fmt.Errorf("label embeddings: %w", err)
	}
	defer f.Close()
	meta := f.Metadata()
	if meta["format"] != "gliner-go-label-embeddings" || meta["fingerprint"] == "" {
		return nil, fmt.Errorf("label embeddings %s: not a label-embeddings file (metadata format %q, fingerprint %q; write one with `gliner labels embed`)",
			path, meta["format"], meta["fingerprint"])
	}
	le := &LabelEmbeddings{Fingerprint: meta["fingerprint"]}
	if err := json.Unmarshal([]byte(meta["labels"]), &le.Labels); err != nil {
		return nil, fmt.Errorf("label embeddings %s: metadata labels: %w", path, err)
	}
	if len(le.Labels) == 0 {
		return nil, fmt.Errorf("label embeddings %s: empty label list", path)
	}
	info, ok := f.Info(LabelEmbeddingsTensor)
	if !ok {
		return nil, fmt.Errorf("label embeddings %s: no %q tensor", path, LabelEmbeddingsTensor)
	}
	if len(info.Shape) != 2 || info.Shape[0] != len(le.Labels) {
		return nil, fmt.Errorf("label embeddings %s: tensor %s has shape %v for %d labels", path, LabelEmbeddingsTensor, info.Shape, len(le.Labels))
	}
	v, err := f.Float32(LabelEmbeddingsTensor)
	if err != nil {
		return nil, fmt.Errorf("label embeddings %s: %w", path, err)
	}
	le.Embeddings = autograd.Value{Shape: append([]int(nil), info.Shape...), F: v}
	return le, nil
}

// ForwardWithLabelEmbeddings is Forward for bi-encoders with the pooled
// label embeddings given (emb (C',H) with C' ≤ the batch's C; rows past C'
// — bucket padding — are zero): the labels encoder is not run and the
// batch's labels_input_ids are ignored.
func (m *Model) ForwardWithLabelEmbeddings(b *data.Batch, emb autograd.Value) (*Output, error) {
	if m.labelsEncoder() == nil {
		return nil, fmt.Errorf("%v has no labels encoder: label embeddings are for BiEncoderSpan and BiEncoderToken", m.Arch)
	}
	H := m.Cfg.HiddenSize
	if len(emb.Shape) != 2 || emb.Shape[1] != H || emb.Shape[0] > b.NumClasses || emb.Shape[0] < 1 || len(emb.F) != emb.Shape[0]*H {
		return nil, fmt.Errorf("label embeddings of shape %v for a batch of %d classes, want (C, %d)", emb.Shape, b.NumClasses, H)
	}
	full := autograd.Value{Shape: []int{b.NumClasses, H}, F: make([]float32, b.NumClasses*H)}
	copy(full.F, emb.F)
	c, err := m.run(b, false, &full)
	if err != nil {
		return nil, err
	}
	return m.output(c)
}
