package data

import "fmt"

// Tensor is a dense row-major tensor as a flat Go slice plus its shape:
// element (i, j, k) of a (I, J, K) tensor is Data[(i*J+j)*K+k].
type Tensor[T int64 | float32 | bool] struct {
	Shape []int
	Data  []T
}

// NewTensor returns a zero tensor of the given shape.
func NewTensor[T int64 | float32 | bool](shape ...int) Tensor[T] {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return Tensor[T]{Shape: append([]int(nil), shape...), Data: make([]T, n)}
}

// Len is the number of elements (the product of the shape).
func (t Tensor[T]) Len() int { return len(t.Data) }

// Batch holds exactly the tensors the reference GLiNER collator returns
// (processor.py create_batch_dict) as flat slices with shapes, plus the
// per-batch class maps and the raw words and entities needed to decode
// predictions.
//
// Dimensions: B examples, T sub-tokens (padded), W words (the longest text,
// text_lengths' max), K = max_width, C = the most classes of any example.
// Tensors an architecture does not use have a nil Shape and Data.
type Batch struct {
	// Architecture the batch was collated for.
	Architecture Architecture
	// MaxWidth is K.
	MaxWidth int
	// NumWords is W and NumClasses is C (see W and C).
	NumWords, NumClasses int

	// InputIDs, AttentionMask, TokenTypeIDs (all zero) and WordsMask are
	// (B,T) int64. WordsMask holds, per sub-token, the 1-based index of
	// the text word whose first sub-token it is, else 0.
	InputIDs      Tensor[int64]
	AttentionMask Tensor[int64]
	TokenTypeIDs  Tensor[int64]
	WordsMask     Tensor[int64]
	// TextLengths is (B,1) int64: the number of text words kept.
	TextLengths Tensor[int64]

	// SpanIdx (B,W·K,2) int64 and SpanMask (B,W·K) bool: span s·K+k
	// covers words s..s+k; spans running past the text end are masked
	// (span models only). Token models with represent_spans instead hold
	// their training spans here, (B,Nsp,2) and (B,Nsp), with SpanLabels
	// (B,Nsp,C) one-hot (gold spans first, then sampled negatives).
	SpanIdx    Tensor[int64]
	SpanMask   Tensor[bool]
	SpanLabels Tensor[float32]

	// Labels are the training targets (nil Shape without targets): span
	// models (B,W·K,C), token models (B,W,C,3) with the last axis
	// [start, end, inside]. Column c is class id c+1.
	Labels Tensor[float32]

	// LabelsInputIDs and LabelsAttentionMask are the bi-encoder's
	// separately tokenized label strings, (C,Tl) int64, row c = class c+1.
	LabelsInputIDs      Tensor[int64]
	LabelsAttentionMask Tensor[int64]

	// Decoder tensors (UniEncoderSpanDecoder, decoder_mode "span"):
	// DecoderInputIDs, DecoderAttentionMask and DecoderWordsMask are
	// (B,Td) over the prompt and text tokenized by the decoder's
	// tokenizer; DecoderWordsMask marks every sub-token of text word w
	// with w+1. DecoderLabelsIDs, DecoderLabelsMask and DecoderLabels
	// (a copy of the ids: padding is not -100, as in the reference) are
	// (M,Tlab): the gold label string of each positive span, batch-major
	// in flat span order (training only).
	DecoderInputIDs      Tensor[int64]
	DecoderAttentionMask Tensor[int64]
	DecoderWordsMask     Tensor[int64]
	DecoderLabelsIDs     Tensor[int64]
	DecoderLabelsMask    Tensor[int64]
	DecoderLabels        Tensor[int64]
	// Blank reports the span decoder's blank draw (one class "entity").
	Blank bool

	// Relex targets: AdjMatrix (B,E,E) marks every sampled entity pair
	// (gold and negative), RelMatrix (B,P,R) the gold relation types of
	// each pair in sorted pair order. Entities are indexed in (start, end)
	// order (Entities holds them so sorted for relex).
	AdjMatrix Tensor[float32]
	RelMatrix Tensor[float32]

	// IDToClass[b][i] is the class name of id i+1 for example b (the
	// reference's id_to_classes, whose ids start at 1).
	IDToClass [][]string
	// RelIDToClass is the same for relation types (relex only).
	RelIDToClass [][]string

	// Words are the text words of each example after any truncation
	// (the reference's "tokens"); Entities their gold entities (nil at
	// inference).
	Words    [][]string
	Entities [][]Entity
	// TokenLengths are the attention_mask sums ("token_lengths");
	// PromptLengths the number of prompt words before the text.
	TokenLengths  []int
	PromptLengths []int

	// Sources name each example (Example.Source, or "example i").
	Sources []string

	decoderSpans []decoderSpan

	// Stats counts what the collator had to leave out, so nothing is lost
	// silently.
	Stats CollateStats
}

// CollateStats counts the gold annotations a batch could not represent and
// the truncations made under TruncateCompat.
type CollateStats struct {
	// TooWide counts gold entities longer than max_width words (span
	// models cannot represent them; the reference drops them too).
	TooWide int
	// UnlabeledClass counts gold entities whose type is not in the
	// example's class map (e.g. cut by max_types or a fixed label set).
	UnlabeledClass int
	// TruncatedWords lists the examples cut to max_len words and
	// TruncatedTokens those cut to the tokenizer's model_max_length
	// (TruncateCompat only; the default policy returns an error instead).
	TruncatedWords  []int
	TruncatedTokens []int
	// EntitiesOutside counts gold entities lost to truncation.
	EntitiesOutside int
	// ExtraSpanLabels counts further labels of an already labelled span
	// (the span decoder keeps only the first label per span).
	ExtraSpanLabels int
	// UnlabeledRelClass counts gold relations whose type is not in the
	// example's relation class map.
	UnlabeledRelClass int
}

// B is the batch size.
func (b *Batch) B() int { return len(b.Words) }

// T is the padded number of sub-tokens.
func (b *Batch) T() int { return dim(b.InputIDs.Shape, 1) }

// W is the padded number of words (text_lengths' max unless PadTo grew it).
func (b *Batch) W() int { return b.NumWords }

// C is the number of class columns: the largest class map, unless PadTo
// grew it.
func (b *Batch) C() int { return b.NumClasses }

func dim(shape []int, i int) int {
	if i < len(shape) {
		return shape[i]
	}
	return 0
}

// PadTo pads the batch in place to T sub-tokens, W words and C classes (each
// at least the current size; see ShapeBuckets), so that one compiled graph
// can serve every batch of the bucket. New positions are masked: input ids
// take pad, attention_mask and words_mask 0, new spans are (0,0) with
// span_mask false, new label cells 0, new bi-encoder label rows are padding
// with an all-zero attention mask, new SpanLabels columns 0. Valid
// positions keep their values, so a model's outputs at valid positions are
// unchanged. Only T, W and C are padded: the decoder tensors (Td, M), the
// relex targets (E, P, R) and a token model's represent_spans rows (Nsp)
// keep their sizes.
func (b *Batch) PadTo(t, w, c int, pad int64) error {
	bs, t0, w0, c0 := b.B(), b.T(), b.W(), b.C()
	if t < t0 || w < w0 || c < c0 {
		return fmt.Errorf("pad batch (T=%d W=%d C=%d) to (%d,%d,%d): target smaller than batch", t0, w0, c0, t, w, c)
	}
	k := b.MaxWidth
	padRows := func(x Tensor[int64], fill int64) Tensor[int64] {
		out := NewTensor[int64](bs, t)
		for i := range bs {
			row := out.Data[i*t : (i+1)*t]
			copy(row, x.Data[i*t0:(i+1)*t0])
			for j := t0; j < t; j++ {
				row[j] = fill
			}
		}
		return out
	}
	b.InputIDs = padRows(b.InputIDs, pad)
	b.AttentionMask = padRows(b.AttentionMask, 0)
	b.TokenTypeIDs = padRows(b.TokenTypeIDs, 0)
	b.WordsMask = padRows(b.WordsMask, 0)

	if b.SpanLabels.Shape != nil && c > c0 {
		nsp := dim(b.SpanLabels.Shape, 1)
		lab := NewTensor[float32](bs, nsp, c)
		for n := range bs * nsp {
			copy(lab.Data[n*c:], b.SpanLabels.Data[n*c0:(n+1)*c0])
		}
		b.SpanLabels = lab
	}
	if b.SpanIdx.Shape != nil && !b.Architecture.TokenLevel() {
		idx := NewTensor[int64](bs, w*k, 2)
		mask := NewTensor[bool](bs, w*k)
		for i := range bs {
			copy(idx.Data[i*w*k*2:], b.SpanIdx.Data[i*w0*k*2:(i+1)*w0*k*2])
			copy(mask.Data[i*w*k:], b.SpanMask.Data[i*w0*k:(i+1)*w0*k])
		}
		b.SpanIdx, b.SpanMask = idx, mask
	}
	if b.Labels.Shape != nil {
		if b.Architecture.TokenLevel() {
			lab := NewTensor[float32](bs, w, c, 3)
			for i := range bs {
				for ww := range w0 {
					src := b.Labels.Data[((i*w0+ww)*c0)*3 : ((i*w0+ww)*c0+c0)*3]
					copy(lab.Data[((i*w+ww)*c)*3:], src)
				}
			}
			b.Labels = lab
		} else {
			lab := NewTensor[float32](bs, w*k, c)
			for i := range bs {
				for s := range w0 * k {
					src := b.Labels.Data[(i*w0*k+s)*c0 : (i*w0*k+s+1)*c0]
					copy(lab.Data[(i*w*k+s)*c:], src)
				}
			}
			b.Labels = lab
		}
	}
	if b.LabelsInputIDs.Shape != nil && c > c0 {
		tl := dim(b.LabelsInputIDs.Shape, 1)
		ids := NewTensor[int64](c, tl)
		am := NewTensor[int64](c, tl)
		copy(ids.Data, b.LabelsInputIDs.Data)
		copy(am.Data, b.LabelsAttentionMask.Data)
		for j := c0 * tl; j < c*tl; j++ {
			ids.Data[j] = pad
		}
		b.LabelsInputIDs, b.LabelsAttentionMask = ids, am
	}
	b.NumWords, b.NumClasses = w, c
	return nil
}

// ShapeBuckets rounds a batch's (T, W, C) up to a fixed set of sizes so that
// graphs built per shape can be reused. Each list must be ascending; a size
// beyond the last entry is rounded up to a multiple of the last entry.
type ShapeBuckets struct {
	T, W, C []int
}

// DefaultShapeBuckets are powers of two from 16 tokens / 8 words / 4 classes.
var DefaultShapeBuckets = ShapeBuckets{
	T: []int{16, 32, 64, 128, 256, 384, 512},
	W: []int{8, 16, 32, 64, 128, 192, 256, 384, 512},
	C: []int{4, 8, 16, 25, 32, 64, 100},
}

// Round returns the bucket sizes holding (t, w, c).
func (s ShapeBuckets) Round(t, w, c int) (int, int, int, error) {
	rt, err := roundUp(s.T, t)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("bucket T: %w", err)
	}
	rw, err := roundUp(s.W, w)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("bucket W: %w", err)
	}
	rc, err := roundUp(s.C, c)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("bucket C: %w", err)
	}
	return rt, rw, rc, nil
}

// Pad rounds the batch's shape up with Round and pads it with PadTo.
func (s ShapeBuckets) Pad(b *Batch, pad int64) error {
	t, w, c, err := s.Round(b.T(), b.W(), b.C())
	if err != nil {
		return err
	}
	return b.PadTo(t, w, c, pad)
}

func roundUp(sizes []int, n int) (int, error) {
	if n < 0 {
		return 0, fmt.Errorf("negative size %d", n)
	}
	if len(sizes) == 0 {
		return n, nil
	}
	prev := 0
	for _, s := range sizes {
		if s <= prev {
			return 0, fmt.Errorf("bucket sizes %v not ascending and positive", sizes)
		}
		prev = s
	}
	for _, s := range sizes {
		if n <= s {
			return s, nil
		}
	}
	last := sizes[len(sizes)-1]
	return (n + last - 1) / last * last, nil
}
