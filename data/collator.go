package data

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/gliner-go/gliner/data/tokenizer"
)

// TruncationPolicy says what the collator does with a text longer than
// max_len words or model_max_length sub-tokens.
type TruncationPolicy int

const (
	// TruncateError (the default) returns an error naming the example:
	// split long texts into windows before collating.
	TruncateError TruncationPolicy = iota
	// TruncateCompat cuts as the reference does (to max_len words, then
	// to model_max_length sub-tokens keeping the special tokens) and
	// records each cut in Batch.Stats.
	TruncateCompat
)

// CollatorConfig holds the collator's settings under the reference's
// config names.
type CollatorConfig struct {
	// Architecture selects prompt, tensors and label layout.
	Architecture Architecture `json:"-"`
	// MaxWidth is K, the longest span in words.
	MaxWidth int `json:"max_width"`
	// MaxTypes caps the classes per example in training (per batch ×B
	// for bi-encoders); 0 means no cap.
	MaxTypes int `json:"max_types"`
	// MaxLen is the most text words per example.
	MaxLen int `json:"max_len"`
	// MaxNegTypeRatio bounds the per-example negative-type multiplier r.
	MaxNegTypeRatio int `json:"max_neg_type_ratio"`
	// EntToken, SepToken and RelToken are the prompt markers.
	EntToken string `json:"ent_token"`
	SepToken string `json:"sep_token"`
	RelToken string `json:"rel_token"`
	// ModelMaxLength is the tokenizer's sub-token limit (the reference
	// tokenizes with truncation=True at tokenizer_config.json's
	// model_max_length); 0 means no limit.
	ModelMaxLength int `json:"model_max_length"`
	// RepresentSpans makes token models also emit span targets in
	// training (span_idx, span_mask, span_labels) with NegSpansRatio
	// random negative spans per gold span.
	RepresentSpans bool    `json:"represent_spans"`
	NegSpansRatio  float64 `json:"neg_spans_ratio"`
	// Relex training augmentation (processor.py
	// RelationExtractionSpanProcessor.augment_example), applied per example
	// in sampled training batches to examples without ner_labels/rel_labels.
	AugmentDataProb     float64    `json:"augment_data_prob"`
	AugmentEntDropProb  [2]float64 `json:"augment_ent_drop_prob"`
	AugmentRelDropProb  [2]float64 `json:"augment_rel_drop_prob"`
	AugmentAddOtherProb float64    `json:"augment_add_other_prob"`
	// BlankEntityProb is the span decoder's per-batch probability of the
	// blank draw in training: the prompt becomes "<<ENT>> entity <<SEP>>"
	// and every gold span gets class 1 (the decoder still learns the true
	// label). Only "span" decoder_mode is supported.
	BlankEntityProb float64 `json:"blank_entity_prob"`
	// Truncation is the policy for over-long texts.
	Truncation TruncationPolicy `json:"-"`
}

// DefaultCollatorConfig returns the reference's defaults for arch:
// max_width 12, max_types 25, max_len 384, max_neg_type_ratio 1 and the
// <<ENT>>/<<SEP>>/<<REL>> markers.
func DefaultCollatorConfig(arch Architecture) CollatorConfig {
	cfg := CollatorConfig{
		Architecture:    arch,
		MaxWidth:        12,
		MaxTypes:        25,
		MaxLen:          384,
		MaxNegTypeRatio: 1,
		EntToken:        "<<ENT>>",
		SepToken:        "<<SEP>>",
		RelToken:        "<<REL>>",
		BlankEntityProb: blankDefault(arch),
		NegSpansRatio:   1,
	}
	if arch.Relex() {
		cfg.AugmentDataProb = 0.5
		cfg.AugmentEntDropProb = [2]float64{0, 1}
		cfg.AugmentRelDropProb = [2]float64{0, 0.3}
		cfg.AugmentAddOtherProb = 0.5
	}
	return cfg
}

func blankDefault(arch Architecture) float64 {
	if arch.Decoder() {
		return 0.1
	}
	return 0
}

// Validate checks the settings.
func (c *CollatorConfig) Validate() error {
	if !c.Architecture.Valid() {
		return fmt.Errorf("collator config: unknown architecture %d", int(c.Architecture))
	}
	if c.MaxWidth < 1 {
		return fmt.Errorf("collator config: max_width %d < 1", c.MaxWidth)
	}
	if c.MaxLen < 1 {
		return fmt.Errorf("collator config: max_len %d < 1", c.MaxLen)
	}
	if c.MaxTypes < 0 || c.MaxNegTypeRatio < 0 || c.ModelMaxLength < 0 {
		return fmt.Errorf("collator config: negative max_types %d, max_neg_type_ratio %d or model_max_length %d",
			c.MaxTypes, c.MaxNegTypeRatio, c.ModelMaxLength)
	}
	if c.Truncation != TruncateError && c.Truncation != TruncateCompat {
		return fmt.Errorf("collator config: unknown truncation policy %d", int(c.Truncation))
	}
	if !c.Architecture.BiEncoder() && (c.EntToken == "" || c.SepToken == "") {
		return fmt.Errorf("collator config: empty ent_token or sep_token")
	}
	if c.NegSpansRatio < 0 {
		return fmt.Errorf("collator config: neg_spans_ratio %v < 0", c.NegSpansRatio)
	}
	for _, p := range []float64{c.AugmentDataProb, c.AugmentAddOtherProb, c.AugmentEntDropProb[0], c.AugmentEntDropProb[1], c.AugmentRelDropProb[0], c.AugmentRelDropProb[1]} {
		if p < 0 || p > 1 {
			return fmt.Errorf("collator config: augmentation probability %v outside [0, 1]", p)
		}
	}
	if c.AugmentEntDropProb[0] > c.AugmentEntDropProb[1] || c.AugmentRelDropProb[0] > c.AugmentRelDropProb[1] {
		return fmt.Errorf("collator config: augment drop ranges %v, %v not [low, high]", c.AugmentEntDropProb, c.AugmentRelDropProb)
	}
	if c.BlankEntityProb < 0 || c.BlankEntityProb > 1 {
		return fmt.Errorf("collator config: blank_entity_prob %v outside [0, 1]", c.BlankEntityProb)
	}
	if c.Architecture.Relex() && c.RelToken == "" {
		return fmt.Errorf("collator config: relex needs rel_token")
	}
	return nil
}

// Collator turns examples into Batches exactly as the reference collator
// does. All random draws (negative types, shuffles) come from one seeded PCG
// generator whose state can be saved and restored, so a run's batches are
// reproducible and resumable. A Collator is not safe for concurrent use.
type Collator struct {
	cfg    CollatorConfig
	tok    tokenizer.Tokenizer
	auxTok tokenizer.Tokenizer
	src    *rand.PCG
	rng    *rand.Rand
}

// NewCollator returns a collator tokenizing texts with tok. auxTok is the
// second tokenizer some architectures need: the labels encoder's for
// bi-encoders, the labels decoder's for UniEncoderSpanDecoder (nil
// otherwise). The prompt markers must already be tokens of tok (see
// Tokenizer.AddSpecialTokens).
func NewCollator(cfg CollatorConfig, tok, auxTok tokenizer.Tokenizer, seed uint64) (*Collator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if tok == nil {
		return nil, fmt.Errorf("new collator: nil tokenizer")
	}
	if cfg.Architecture.BiEncoder() || cfg.Architecture.Decoder() {
		if auxTok == nil {
			return nil, fmt.Errorf("new collator: %s needs a second (labels encoder or decoder) tokenizer", cfg.Architecture)
		}
	}
	if !cfg.Architecture.BiEncoder() {
		markers := []string{cfg.EntToken, cfg.SepToken}
		if cfg.Architecture.Relex() {
			markers = append(markers, cfg.RelToken)
		}
		for _, m := range markers {
			if _, ok := tok.TokenToID(m); !ok {
				return nil, fmt.Errorf("new collator: tokenizer has no token %q (add the prompt markers with AddSpecialTokens)", m)
			}
		}
	}
	src := rand.NewPCG(seed, 0x9e3779b97f4a7c15)
	return &Collator{cfg: cfg, tok: tok, auxTok: auxTok, src: src, rng: rand.New(src)}, nil
}

// Config returns the collator's settings.
func (c *Collator) Config() CollatorConfig { return c.cfg }

// RNGState serialises the random generator's state (for checkpoints).
func (c *Collator) RNGState() ([]byte, error) { return c.src.MarshalBinary() }

// SetRNGState restores a state saved by RNGState.
func (c *Collator) SetRNGState(state []byte) error {
	if err := c.src.UnmarshalBinary(state); err != nil {
		return fmt.Errorf("collator: restore rng state: %w", err)
	}
	return nil
}

// CollateOptions choose how a batch's classes are set.
type CollateOptions struct {
	// Labels fixes the entity types instead of sampling them: one list shared
	// by every example, or one list per example. Each list is deduplicated
	// preserving order and gets ids 1..C. Nil samples the types as
	// processor.py batch_generate_class_mappings does (training).
	Labels [][]string
	// RelLabels is the same for relation types (relex).
	RelLabels [][]string
	// Targets builds Batch.Labels from the examples' gold entities.
	Targets bool
}

// Train collates a training batch: class lists are sampled (processor.py
// batch_generate_class_mappings) and the targets are built.
func (c *Collator) Train(examples []Example) (*Batch, error) {
	return c.Collate(examples, CollateOptions{Targets: true})
}

// Inference collates a batch for prediction with the caller's entity types
// shared by all examples (relTypes only for relex), without targets.
func (c *Collator) Inference(examples []Example, types []string, relTypes []string) (*Batch, error) {
	opts := CollateOptions{Labels: [][]string{types}}
	if relTypes != nil {
		opts.RelLabels = [][]string{relTypes}
	}
	return c.Collate(examples, opts)
}

// Collate builds the batch for examples under opts.
func (c *Collator) Collate(examples []Example, opts CollateOptions) (*Batch, error) {
	if len(examples) == 0 {
		return nil, fmt.Errorf("collate: empty batch")
	}
	arch := c.cfg.Architecture
	exs := make([]Example, len(examples))
	copy(exs, examples)
	for i := range exs {
		if err := c.checkExample(&exs[i], i); err != nil {
			return nil, fmt.Errorf("collate: %w", err)
		}
	}

	// Class lists.
	var ents, rels [][]string
	var err error
	blank := false
	if opts.Labels == nil {
		if ents, rels, err = c.sampleLabelSets(exs); err != nil {
			return nil, fmt.Errorf("collate: %w", err)
		}
		if arch.Decoder() && c.cfg.BlankEntityProb > 0 && c.rng.Float64() < c.cfg.BlankEntityProb {
			blank = true
			for i := range ents {
				ents[i] = []string{blankEntity}
			}
		}
	} else {
		if ents, err = expandLabels(opts.Labels, len(exs), "entity"); err != nil {
			return nil, fmt.Errorf("collate: %w", err)
		}
		if arch.Relex() {
			if rels, err = expandLabels(opts.RelLabels, len(exs), "relation"); err != nil {
				return nil, fmt.Errorf("collate: %w", err)
			}
		}
	}
	if arch.BiEncoder() {
		for i := 1; i < len(ents); i++ {
			if !slices.Equal(ents[i], ents[0]) {
				return nil, fmt.Errorf("collate: %s: bi-encoder batches share one label list, got different lists for examples 0 and %d", arch, i)
			}
		}
	}

	b := &Batch{
		Architecture: arch,
		MaxWidth:     c.cfg.MaxWidth,
		IDToClass:    ents,
		RelIDToClass: rels,
		Words:        make([][]string, len(exs)),
		Sources:      make([]string, len(exs)),
		Blank:        blank,
	}
	if opts.Targets {
		b.Entities = make([][]Entity, len(exs))
	}

	// Tokenize prompt + words.
	ids := make([][]int, len(exs))
	wordIDs := make([][]int, len(exs))
	b.PromptLengths = make([]int, len(exs))
	for i := range exs {
		ex := &exs[i]
		b.Sources[i] = collateName(ex, i)
		words := ex.Words
		if len(words) > c.cfg.MaxLen {
			if c.cfg.Truncation != TruncateCompat {
				return nil, fmt.Errorf("collate: %s: %d words exceed max_len %d (split the text into windows, or use TruncateCompat)",
					b.Sources[i], len(words), c.cfg.MaxLen)
			}
			words = words[:c.cfg.MaxLen]
			b.Stats.TruncatedWords = append(b.Stats.TruncatedWords, i)
		}
		b.Words[i] = words
		var relList [][]string
		if rels != nil {
			relList = [][]string{rels[i]}
		}
		prompt := c.prompt(ents[i], relList)
		b.PromptLengths[i] = len(prompt)
		seq := append(prompt, words...)
		id, wid, err := c.tok.EncodeWords(seq)
		if err != nil {
			return nil, fmt.Errorf("collate: %s: tokenize: %w", b.Sources[i], err)
		}
		if len(id) != len(wid) {
			return nil, fmt.Errorf("collate: %s: tokenizer returned %d ids but %d word ids", b.Sources[i], len(id), len(wid))
		}
		if m := c.cfg.ModelMaxLength; m > 0 && len(id) > m {
			if c.cfg.Truncation != TruncateCompat {
				return nil, fmt.Errorf("collate: %s: %d sub-tokens (prompt of %d words + %d text words) exceed model_max_length %d (split the text into windows, or use TruncateCompat)",
					b.Sources[i], len(id), len(prompt), len(words), m)
			}
			id, wid = truncateTokens(id, wid, m)
			b.Stats.TruncatedTokens = append(b.Stats.TruncatedTokens, i)
		}
		ids[i], wordIDs[i] = id, wid
	}

	// (B,T) tensors.
	bs := len(exs)
	t := 0
	for _, id := range ids {
		t = max(t, len(id))
	}
	pad := int64(c.tok.SpecialIDs().Pad)
	b.InputIDs = NewTensor[int64](bs, t)
	b.AttentionMask = NewTensor[int64](bs, t)
	b.TokenTypeIDs = NewTensor[int64](bs, t)
	b.WordsMask = NewTensor[int64](bs, t)
	b.TextLengths = NewTensor[int64](bs, 1)
	b.TokenLengths = make([]int, bs)
	for i := range bs {
		if len(ids[i]) < t && pad < 0 {
			return nil, fmt.Errorf("collate: %s: tokenizer has no pad token to pad %d to %d sub-tokens", b.Sources[i], len(ids[i]), t)
		}
		row := i * t
		prev := -2
		pl := b.PromptLengths[i]
		for j := range t {
			if j >= len(ids[i]) {
				b.InputIDs.Data[row+j] = pad
				continue
			}
			b.InputIDs.Data[row+j] = int64(ids[i][j])
			b.AttentionMask.Data[row+j] = 1
			w := wordIDs[i][j]
			if w >= pl && w != prev {
				b.WordsMask.Data[row+j] = int64(w - pl + 1)
			}
			prev = w
		}
		b.TokenLengths[i] = len(ids[i])
		b.TextLengths.Data[i] = int64(len(b.Words[i]))
	}

	// Words, classes.
	w := 0
	for _, ws := range b.Words {
		w = max(w, len(ws))
	}
	nc := 0
	for _, e := range ents {
		nc = max(nc, len(e))
	}
	b.NumWords, b.NumClasses = w, nc
	k := c.cfg.MaxWidth

	if !arch.TokenLevel() {
		b.SpanIdx = NewTensor[int64](bs, w*k, 2)
		b.SpanMask = NewTensor[bool](bs, w*k)
		for i := range bs {
			fillSpans(b.SpanIdx.Data[i*w*k*2:(i+1)*w*k*2], b.SpanMask.Data[i*w*k:(i+1)*w*k], len(b.Words[i]), k)
		}
	}
	if opts.Targets {
		if arch.Relex() {
			// The relex processor sorts entities by (start, end) and
			// remaps relations before building any target.
			for i := range exs {
				exs[i].Entities, exs[i].Relations = sortRelexEntities(exs[i].Entities, exs[i].Relations)
			}
		}
		c.buildTargets(b, exs)
		if (arch.TokenLevel() && arch.Decoder()) || (arch.TokenLevel() && !arch.Relex() && c.cfg.RepresentSpans) {
			// The token decoder's config forces represent_spans
			// (gliner/config.py UniEncoderTokenDecoderConfig).
			c.tokenSpanTargets(b, exs)
		}
		if arch.Relex() {
			if arch.TokenLevel() {
				keepTokenRelexEntities(b, exs)
			}
			c.buildRelexTargets(b, exs)
			if arch.TokenLevel() {
				tokenRelexSpans(b, exs)
			}
		}
	}
	if arch.BiEncoder() {
		if err := c.encodeLabels(b, ents[0]); err != nil {
			return nil, fmt.Errorf("collate: %w", err)
		}
	}
	if arch.Decoder() {
		if err := c.buildDecoderInputs(b, ents, opts.Targets); err != nil {
			return nil, fmt.Errorf("collate: %w", err)
		}
	}
	return b, nil
}

// checkExample validates words and entity indices; an empty text becomes
// ["[PAD]"] as in the reference.
func (c *Collator) checkExample(ex *Example, i int) error {
	if len(ex.Words) == 0 {
		ex.Words = []string{"[PAD]"}
	}
	for j, e := range ex.Entities {
		if e.Start < 0 || e.End < e.Start || e.End >= len(ex.Words) {
			return fmt.Errorf("%s: entity %d [%d, %d, %q] outside the %d words (indices are inclusive word indices)",
				collateName(ex, i), j, e.Start, e.End, e.Label, len(ex.Words))
		}
	}
	for j, r := range ex.Relations {
		if r.Head < 0 || r.Head >= len(ex.Entities) || r.Tail < 0 || r.Tail >= len(ex.Entities) {
			return fmt.Errorf("%s: relation %d [%d, %d, %q] refers to a missing entity (%d entities)",
				collateName(ex, i), j, r.Head, r.Tail, r.Label, len(ex.Entities))
		}
	}
	return nil
}

// prompt is the word-level prompt of processor.py
// BaseProcessor.prepare_inputs (empty for bi-encoders).
func (c *Collator) prompt(ents []string, rels [][]string) []string {
	if c.cfg.Architecture.BiEncoder() {
		return nil
	}
	p := make([]string, 0, 2*len(ents)+2)
	for _, e := range ents {
		p = append(p, c.cfg.EntToken, e)
	}
	p = append(p, c.cfg.SepToken)
	if c.cfg.Architecture.Relex() && len(rels) == 1 {
		for _, r := range rels[0] {
			p = append(p, c.cfg.RelToken, r)
		}
		p = append(p, c.cfg.SepToken)
	}
	return p
}

// truncateTokens cuts a tokenized sequence to m ids as the Hugging Face
// tokenizer's truncation does: the trailing content tokens go, the special
// tokens before and after the content stay.
func truncateTokens(ids, wids []int, m int) ([]int, []int) {
	pre := 0
	for pre < len(wids) && wids[pre] < 0 {
		pre++
	}
	post := 0
	for post < len(wids)-pre && wids[len(wids)-1-post] < 0 {
		post++
	}
	keep := max(m-pre-post, 0)
	outIDs := append(append([]int(nil), ids[:pre+keep]...), ids[len(ids)-post:]...)
	outW := append(append([]int(nil), wids[:pre+keep]...), wids[len(wids)-post:]...)
	return outIDs, outW
}

// expandLabels turns a shared list or per-example lists into one deduplicated
// list per example.
func expandLabels(ls [][]string, n int, what string) ([][]string, error) {
	switch len(ls) {
	case 1:
		d, err := DedupLabels(ls[0])
		if err != nil {
			return nil, fmt.Errorf("%s labels: %w", what, err)
		}
		out := make([][]string, n)
		for i := range out {
			out[i] = d
		}
		return out, nil
	case n:
		out := make([][]string, n)
		for i, l := range ls {
			d, err := DedupLabels(l)
			if err != nil {
				return nil, fmt.Errorf("%s labels of example %d: %w", what, i, err)
			}
			out[i] = d
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%d %s label lists for %d examples (give one shared list or one per example)", len(ls), what, n)
	}
}

// buildTargets fills Batch.Labels (processor.py
// UniEncoderSpanProcessor.create_labels,
// UniEncoderTokenProcessor.create_labels) and Entities.
func (c *Collator) buildTargets(b *Batch, exs []Example) {
	bs, w, nc, k := b.B(), b.NumWords, b.NumClasses, c.cfg.MaxWidth
	token := c.cfg.Architecture.TokenLevel()
	decoder := c.cfg.Architecture.Decoder()
	if token {
		b.Labels = NewTensor[float32](bs, w, nc, 3)
	} else {
		b.Labels = NewTensor[float32](bs, w*k, nc)
	}
	for i := range bs {
		classID := make(map[string]int, len(b.IDToClass[i]))
		for j, l := range b.IDToClass[i] {
			classID[l] = j
		}
		n := len(b.Words[i])
		b.Entities[i] = exs[i].Entities
		for _, e := range exs[i].Entities {
			if e.End >= n {
				b.Stats.EntitiesOutside++
				continue
			}
			cl, ok := classID[e.Label]
			if b.Blank {
				cl, ok = 0, true
			}
			if !ok {
				b.Stats.UnlabeledClass++
				continue
			}
			if token {
				if decoder {
					b.decoderSpans = append(b.decoderSpans, decoderSpan{i, tokenSpanKey(e.Start, e.End), e.Label})
				}
				base := i * w * nc * 3
				b.Labels.Data[base+(e.Start*nc+cl)*3] = 1
				b.Labels.Data[base+(e.End*nc+cl)*3+1] = 1
				for ww := e.Start; ww <= e.End; ww++ {
					b.Labels.Data[base+(ww*nc+cl)*3+2] = 1
				}
				continue
			}
			if e.End-e.Start >= k {
				b.Stats.TooWide++
				continue
			}
			row := b.Labels.Data[(i*w*k+SpanIndex(e.Start, e.End, k))*nc:][:nc]
			if decoder {
				// The decoder processor keeps one label per span: the first.
				taken := false
				for _, v := range row {
					taken = taken || v != 0
				}
				if taken {
					b.Stats.ExtraSpanLabels++
					continue
				}
				b.decoderSpans = append(b.decoderSpans, decoderSpan{i, SpanIndex(e.Start, e.End, k), e.Label})
			}
			row[cl] = 1
		}
	}
}

// encodeLabels tokenizes the bi-encoder's label strings, one sequence each
// with special tokens, padded to the longest.
func (c *Collator) encodeLabels(b *Batch, labels []string) error {
	ids, mask, err := EncodeLabels(c.auxTok, "labels tokenizer", labels)
	if err != nil {
		return err
	}
	b.LabelsInputIDs, b.LabelsAttentionMask = ids, mask
	return nil
}

// EncodeLabels tokenizes labels with tok, one sequence each with special
// tokens, padded to the longest: the input ids and attention mask,
// (len(labels), longest), as the collator's labels_input_ids (bi-encoders)
// and decoder_labels_ids (span decoder). what names tok in errors, which
// name the label.
func EncodeLabels(tok tokenizer.Tokenizer, what string, labels []string) (ids, mask Tensor[int64], err error) {
	rows := make([][]int, len(labels))
	tl := 0
	for i, l := range labels {
		id, _, err := tok.EncodeWords([]string{l})
		if err != nil {
			return ids, mask, fmt.Errorf("%s: label %q: %w", what, l, err)
		}
		rows[i] = id
		tl = max(tl, len(id))
	}
	pad := int64(tok.SpecialIDs().Pad)
	ids = NewTensor[int64](len(labels), tl)
	mask = NewTensor[int64](len(labels), tl)
	for i, r := range rows {
		if len(r) < tl && pad < 0 {
			return ids, mask, fmt.Errorf("%s has no pad token to pad label %q", what, labels[i])
		}
		for j := range tl {
			if j < len(r) {
				ids.Data[i*tl+j] = int64(r[j])
				mask.Data[i*tl+j] = 1
			} else {
				ids.Data[i*tl+j] = pad
			}
		}
	}
	return ids, mask, nil
}

// rngStateJSON is how the RNG state travels inside JSON checkpoints.
type rngStateJSON struct {
	PCG []byte `json:"pcg"`
}

// MarshalRNG returns the RNG state as JSON ({"pcg": base64}).
func (c *Collator) MarshalRNG() ([]byte, error) {
	s, err := c.RNGState()
	if err != nil {
		return nil, err
	}
	return json.Marshal(rngStateJSON{PCG: s})
}

// UnmarshalRNG restores a state written by MarshalRNG.
func (c *Collator) UnmarshalRNG(b []byte) error {
	var s rngStateJSON
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("collator: decode rng state: %w", err)
	}
	return c.SetRNGState(s.PCG)
}
