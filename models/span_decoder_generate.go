package models

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/models/encoder"
)

// LabelMode says what generated labels do to decoded entities.
type LabelMode int

// The label modes.
const (
	// LabelsEnrich keeps the class name and attaches the generated labels
	// (the reference's decoder_mode "span").
	LabelsEnrich LabelMode = iota
	// LabelsReplace makes the first generated label the entity's label
	// (the reference's intent for decoder_mode "prompt").
	LabelsReplace
)

func (l LabelMode) String() string {
	if l == LabelsReplace {
		return "replace"
	}
	return "enrich"
}

// ParseLabelMode parses "enrich" or "replace".
func ParseLabelMode(s string) (LabelMode, error) {
	switch s {
	case "enrich":
		return LabelsEnrich, nil
	case "replace":
		return LabelsReplace, nil
	}
	return 0, fmt.Errorf("unknown generated-label mode %q (valid: enrich, replace)", s)
}

// DefaultLabelMode is the mode of the model's decoder_mode: replace for
// "prompt", enrich for "span".
func (m *Model) DefaultLabelMode() LabelMode {
	if m.DecoderMode() == DecoderPrompt {
		return LabelsReplace
	}
	return LabelsEnrich
}

// GenerateOptions configure GenerateLabels.
type GenerateOptions struct {
	// Threshold selects the spans to name: max over classes of σ(logit)
	// strictly above it (the reference uses the decoding threshold).
	Threshold float64
	// MaxNewTokens bounds each label's length in tokens; 0 means the
	// reference's GLiNER.predict default, DefaultMaxNewTokens.
	MaxNewTokens int
	// Tokenizer, when set, decodes the generated ids into Text (the
	// model folder's decoder_tokenizer/, see LoadDecoderTokenizer).
	Tokenizer DecoderTokenizer
	// Allowed optionally constrains generation (a labels trie): the
	// tokens kept span row may produce next; an empty list allows only EOS.
	Allowed func(row int, generated []int64) []int64
	// Observe, when set, sees each unfinished row's processed scores
	// before the greedy choice.
	Observe func(step, row int, scores []float32)
	// Search is the decoding strategy (greedy by default; beam search,
	// sampling with a seed, the key/value cache): the strategy fields of
	// encoder.GPT2Generation (its MaxNewTokens, EOS, Pad, Allowed and
	// Observe are set from the fields above and the model).
	Search encoder.GPT2Generation
}

// generation is o's decoder settings for a model whose end token is eos.
func (o GenerateOptions) generation(maxNew int, eos int64) encoder.GPT2Generation {
	g := o.Search
	g.MaxNewTokens, g.EOS, g.Pad, g.Allowed, g.Observe = maxNew, int(eos), int(eos), o.Allowed, o.Observe
	return g
}

// DefaultMaxNewTokens is the reference's GLiNER.generate_labels default.
const DefaultMaxNewTokens = 15

// GeneratedLabels are the labels generated for one batch's kept spans.
type GeneratedLabels struct {
	// S is W·K; SpanIdx (B,S) is the reference's decoder_span_idx: per
	// example the kept flat span indices (s·K + width), −1 after.
	S       int
	SpanIdx []int64
	// IDs are the generated ids of each kept span, batch-major in flat
	// order (EOS and the padding after it included), Text their decoding
	// (special tokens skipped; empty without a tokenizer).
	IDs  [][]int64
	Text []string
	// Prefix is the decoder prefix (M,Tp,D) generation started from.
	Prefix autograd.Value
	// Spans (B,S,2), UniEncoderTokenDecoder only: the word bounds of the
	// span rows SpanIdx indexes (row positions, not flat span indices);
	// Slots are those rows with their representations and scores.
	Spans []int64
	Slots *TokenSlots
}

// Label returns the generated label of example b's span (start, end),
// if that span was kept.
func (g *GeneratedLabels) Label(b, start, end, maxWidth int) (string, bool) {
	flat := int64(start*maxWidth + end - start)
	r := 0
	for bi := 0; bi <= b && bi*g.S < len(g.SpanIdx); bi++ {
		for s := 0; s < g.S; s++ {
			x := g.SpanIdx[bi*g.S+s]
			if x < 0 {
				break
			}
			match := x == flat
			if g.Spans != nil {
				// Token decoder rows: the first kept row with these bounds
				// (rows repeating a span carry the same vector and prefix).
				i := (bi*g.S + int(x)) * 2
				match = g.Spans[i] == int64(start) && g.Spans[i+1] == int64(end)
			}
			if bi == b && match {
				if r < len(g.Text) {
					return g.Text[r], true
				}
				return "", true
			}
			r++
		}
	}
	return "", false
}

// GenerateLabels names the spans a forward pass keeps
// (gliner/modeling/base.py UniEncoderSpanDecoderModel.generate_labels): for
// each span whose best class probability exceeds o.Threshold, the decoder
// continues its prefix greedily (the reference's NumericalStabilityProcessor
// applied) for up to o.MaxNewTokens tokens. out is Forward's output on b (its
// span_rep intermediate is used). Under Loss.ReferenceCompat the prefix is
// laid out and attended as the reference does (see span_decoder.go);
// otherwise its padding is masked.
func (m *Model) GenerateLabels(b *data.Batch, out *Output, o GenerateOptions) (*GeneratedLabels, error) {
	d := m.decoder()
	if d == nil {
		return nil, fmt.Errorf("generate labels: %v has no labels decoder", m.Arch)
	}
	if m.Arch.TokenLevel() {
		return m.generateTokenLabels(b, out, o)
	}
	ls := out.Logits.Shape
	if len(ls) != 4 {
		return nil, fmt.Errorf("generate labels: logits have shape %v, want (B,W,K,C)", ls)
	}
	B, W, K, C := ls[0], ls[1], ls[2], ls[3]
	S, H := W*K, m.Cfg.HiddenSize
	rep, ok := out.Intermediates["span_rep"]
	if !ok || len(rep.F) != B*S*H {
		return nil, fmt.Errorf("generate labels: forward output has no span_rep (B=%d,W=%d,K=%d,H=%d)", B, W, K, H)
	}
	if len(b.SpanMask.Data) != B*S {
		return nil, fmt.Errorf("generate labels: span_mask %v, want (%d,%d)", b.SpanMask.Shape, B, S)
	}
	compat := m.Loss.ReferenceCompat
	thr := o.Threshold
	keep := func(bi, n int) bool {
		if !b.SpanMask.Data[bi*S+n] {
			return false
		}
		nc := C
		if !compat && bi < len(b.IDToClass) && len(b.IDToClass[bi]) > 0 {
			nc = min(C, len(b.IDToClass[bi]))
		}
		best := float32(math.Inf(-1))
		for _, v := range out.Logits.F[(bi*S+n)*C : (bi*S+n)*C+nc] {
			best = max(best, v)
		}
		return 1/(1+math.Exp(-float64(best))) > thr
	}
	kept, rows, spanIdx := keptSpans(keep, B, S)
	g := &GeneratedLabels{S: S, SpanIdx: spanIdx}
	if len(rows) == 0 {
		return g, nil
	}
	slots, mask, tp, err := d.prefixes(b, kept, K, S, compat)
	if err != nil {
		return nil, fmt.Errorf("generate labels: %w", err)
	}
	vecs := make([]float32, 0, len(rows)*H)
	for _, r := range rows {
		vecs = append(vecs, rep.F[int(r)*H:int(r+1)*H]...)
	}
	if vecs, err = d.project(m.Store, vecs, len(rows), H); err != nil {
		return nil, fmt.Errorf("generate labels: %w", err)
	}
	Dd := d.Cfg.NEmbd
	wte, _ := m.Store.Get(d.gpt.WTE())
	M := len(rows)
	prefix := prefixEmbeddings(slots, wte.Data, vecs, M, tp, Dd)
	g.Prefix = autograd.Value{Shape: []int{M, tp, Dd}, F: prefix}
	var pm []int64
	if !compat {
		pm = mask
	}
	maxNew := o.MaxNewTokens
	if maxNew == 0 {
		maxNew = DefaultMaxNewTokens
	}
	g.IDs, err = d.gpt.Generate(m.Store, prefix, M, tp, pm, o.generation(maxNew, d.eos))
	if err != nil {
		return nil, fmt.Errorf("generate labels: %w", err)
	}
	if o.Tokenizer != nil {
		for _, ids := range g.IDs {
			g.Text = append(g.Text, DecodeLabel(o.Tokenizer, ids))
		}
	}
	return g, nil
}

// project applies _enc2dec_proj (when the model has it) to n span vectors.
func (d *spanDecoder) project(s *autograd.Store, vecs []float32, n, h int) ([]float32, error) {
	if d.proj == nil {
		return vecs, nil
	}
	g := autograd.NewGraph(s, false)
	x := g.Input("spans", n, h)
	y := d.proj.Forward(g, x)
	mach, err := autograd.Compile(g, nil, y)
	if err != nil {
		return nil, err
	}
	if err := mach.SetFloats("spans", vecs, n, h); err != nil {
		return nil, err
	}
	if err := mach.Run(); err != nil {
		return nil, err
	}
	v, err := mach.Value(y)
	if err != nil {
		return nil, err
	}
	return append([]float32(nil), v.F...), nil
}

// GenSpan is a decoded entity with the labels generated for its span.
type GenSpan struct {
	decode.Span
	// Generated holds the span's generated label (nil when the decoder
	// did not name it).
	Generated []string
}

// DecodeWithLabels decodes a forward output as Decode does and attaches
// the generated labels: LabelsEnrich keeps the class names, LabelsReplace
// puts the generated label, trimmed of spaces, in Label (entities whose
// span has none keep their class name).
func (m *Model) DecodeWithLabels(out *Output, b *data.Batch, gen *GeneratedLabels, o decode.Options, mode LabelMode) ([][]GenSpan, error) {
	ents, err := m.Decode(out, b, o)
	if err != nil {
		return nil, err
	}
	res := make([][]GenSpan, len(ents))
	for i, row := range ents {
		res[i] = make([]GenSpan, 0, len(row))
		for _, e := range row {
			gs := GenSpan{Span: e}
			if gen != nil {
				if l, ok := gen.Label(i, e.Start, e.End, m.Cfg.MaxWidth); ok {
					gs.Generated = []string{l}
					if mode == LabelsReplace {
						// The BPE label carries the tokenizer's prefix space.
						gs.Label = strings.TrimSpace(l)
					}
				}
			}
			res[i] = append(res[i], gs)
		}
	}
	return res, nil
}

// DecoderTokenizer is what label decoding needs of the decoder's
// tokenizer (data/tokenizer's BPE).
type DecoderTokenizer interface {
	Decode(ids []int) string
	SpecialIDs() tokenizer.Special
}

// DecodeLabel turns generated ids into text as the reference's
// batch_decode(skip_special_tokens=True) does: special tokens dropped,
// bytes decoded as UTF-8 with errors="replace", tokenization spaces
// cleaned up.
func DecodeLabel(tok DecoderTokenizer, ids []int64) string {
	sp := tok.SpecialIDs()
	var keep []int
	for _, id := range ids {
		if int(id) == sp.Pad || int(id) == sp.SEP || int(id) == sp.CLS || int(id) == sp.UNK {
			continue
		}
		keep = append(keep, int(id))
	}
	s := utf8Replace([]byte(tok.Decode(keep)))
	for _, p := range [][2]string{{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}} {
		s = strings.ReplaceAll(s, p[0], p[1])
	}
	return s
}

// utf8Replace decodes b replacing each maximal ill-formed subpart by
// U+FFFD, as Python's bytes.decode("utf-8", "replace").
func utf8Replace(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			sb.WriteRune(r)
			i += size
			continue
		}
		c := b[i]
		need, lo, hi := 0, byte(0x80), byte(0xBF)
		switch {
		case c >= 0xC2 && c <= 0xDF:
			need = 1
		case c == 0xE0:
			need, lo = 2, 0xA0
		case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
			need = 2
		case c == 0xED:
			need, hi = 2, 0x9F
		case c == 0xF0:
			need, lo = 3, 0x90
		case c >= 0xF1 && c <= 0xF3:
			need = 3
		case c == 0xF4:
			need, hi = 3, 0x8F
		}
		j := i + 1
		for k := 0; k < need && j < len(b); k++ {
			if b[j] < lo || b[j] > hi {
				break
			}
			lo, hi = 0x80, 0xBF
			j++
		}
		sb.WriteRune(utf8.RuneError)
		i = j
	}
	return sb.String()
}

// LabelsConstraint restricts generation to the given labels (the
// reference's gen_constraints labels trie): each label is tokenized by the
// decoder tokenizer as the training labels are, followed by its end token;
// at each step a row may only continue one of the labels it is a prefix
// of, and once a label is complete only the end token is allowed. Use it as
// GenerateOptions.Allowed.
func (m *Model) LabelsConstraint(tok tokenizer.Tokenizer, labels []string) (func(row int, generated []int64) []int64, error) {
	d := m.decoder()
	if d == nil {
		return nil, fmt.Errorf("labels constraint: %v has no labels decoder", m.Arch)
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("labels constraint: no labels")
	}
	type node struct {
		next  map[int64]*node
		order []int64
	}
	root := &node{next: map[int64]*node{}}
	sp := tok.SpecialIDs()
	for _, l := range labels {
		ids, _, err := tok.EncodeWords([]string{l})
		if err != nil {
			return nil, fmt.Errorf("labels constraint: label %q: %w", l, err)
		}
		cur := root
		seq := make([]int64, 0, len(ids)+1)
		if len(ids) > 0 && sp.CLS >= 0 && ids[0] == sp.CLS {
			ids = ids[1:] // a leading bos, as the reference drops it
		}
		for _, id := range ids {
			seq = append(seq, int64(id))
		}
		if len(seq) == 0 {
			return nil, fmt.Errorf("labels constraint: label %q has no tokens", l)
		}
		seq = append(seq, d.eos)
		for _, id := range seq {
			if id < 0 || id >= int64(d.Cfg.VocabSize) {
				return nil, fmt.Errorf("labels constraint: label %q: token %d outside the decoder vocabulary of %d", l, id, d.Cfg.VocabSize)
			}
			nx, ok := cur.next[id]
			if !ok {
				nx = &node{next: map[int64]*node{}}
				cur.next[id] = nx
				cur.order = append(cur.order, id)
			}
			cur = nx
		}
	}
	return func(_ int, generated []int64) []int64 {
		cur := root
		for _, id := range generated {
			if cur = cur.next[id]; cur == nil {
				return nil
			}
		}
		return cur.order
	}, nil
}

// prefixEmbeddings lays out the decoder prefix of each row, tp slots a row:
// slot s >= 0 is the embedding of token s (wte, vocabulary x Dd), SlotSpan
// the row's projected span vector (vecs, rows x Dd), and SlotZero stays zero.
// It returns rows x tp x Dd values, row-major.
func prefixEmbeddings(slots []int64, wte, vecs []float32, rows, tp, Dd int) []float32 {
	prefix := make([]float32, rows*tp*Dd)
	for i, s := range slots {
		dst := prefix[i*Dd : (i+1)*Dd]
		switch {
		case s >= 0:
			copy(dst, wte[int(s)*Dd:int(s+1)*Dd])
		case s == SlotSpan:
			r := i / tp
			copy(dst, vecs[r*Dd:(r+1)*Dd])
		}
	}
	return prefix
}
