package infer

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/models"
	"github.com/gliner-go/gliner/models/encoder"
)

// Options are the prediction settings.
type Options struct {
	// Threshold: a span's probability must be strictly greater (0.5).
	Threshold float64
	// FlatNER forbids overlapping entities (true, the reference's
	// predict_entities default); false allows nesting.
	FlatNER bool
	// MultiLabel lets one span carry several labels.
	MultiLabel bool
	// BatchSize is the number of windows per forward pass (8).
	BatchSize int
	// WindowWords is the most words per window (0: the model's max_len;
	// more than max_len is an error).
	WindowWords int
	// Stride is the distance in words between window starts (0: half a
	// window, at least 1; at most WindowWords).
	Stride int
	// Buckets pads every batch to data.DefaultShapeBuckets so compiled
	// graphs are reused across batches (faster on many texts; outputs at
	// valid positions are unchanged, logits are returned unpadded).
	Buckets bool
	// KeepLogits returns every batch's raw logits in Result.Logits.
	KeepLogits bool
	// Progress, when set, is called after every batch with the windows
	// done and the total.
	Progress func(done, total int)
	// Relations are the relation types of a relation-extraction model
	// (UniEncoderSpanRelex needs them; other models refuse them).
	Relations []string
	// RelationThreshold: a relation's probability must be strictly
	// greater (0: Threshold, the reference's default).
	RelationThreshold float64
	// AdjacencyThreshold selects the entity pairs a relex model scores
	// (adjacency strictly greater; 0: Threshold, the reference's default).
	AdjacencyThreshold float64
	// LabelMode says what a span decoder's generated labels do (see the
	// package doc): LabelModeEnrich, LabelModeReplace, LabelModeOff, or ""
	// for the model's default. Other models refuse a mode other than ""
	// and "off". Replace keeps the class label when the generated label
	// is empty after trimming spaces.
	LabelMode string
	// MaxNewTokens bounds a generated label's length in decoder tokens
	// (0: models.DefaultMaxNewTokens).
	MaxNewTokens int
	// ConstrainLabels restricts generation to the given labels (the
	// reference's label trie): each generated label is one of them.
	ConstrainLabels bool
	// Search is the decoders' generation strategy (greedy by default;
	// beam search with NumBeams and LengthPenalty, sampling with
	// Temperature, TopK, TopP and Seed; see encoder.GPT2Generation).
	Search encoder.GPT2Generation
}

// The values of Options.LabelMode.
const (
	// LabelModeEnrich keeps the class label and adds GeneratedLabels.
	LabelModeEnrich = "enrich"
	// LabelModeReplace makes the generated label the entity's Label.
	LabelModeReplace = "replace"
	// LabelModeOff runs no generation.
	LabelModeOff = "off"
)

// DefaultOptions are the reference's predict_entities defaults: threshold
// 0.5, flat NER, single label; batches of 8.
func DefaultOptions() Options {
	return Options{Threshold: 0.5, FlatNER: true, BatchSize: 8}
}

// Entity is one predicted entity, as the reference's predict_entities
// returns it plus word indices: characters [Start, End) of the text (code
// points, End exclusive), Text = those characters, words
// StartWord..EndWord (inclusive).
type Entity struct {
	Start     int     `json:"start"`
	End       int     `json:"end"`
	Text      string  `json:"text"`
	Label     string  `json:"label"`
	Score     float64 `json:"score"`
	StartWord int     `json:"start_word"`
	EndWord   int     `json:"end_word"`
	// GeneratedLabels are the labels a span decoder generated for the
	// entity's span (UniEncoderSpanDecoder with generation on; absent for
	// other models). Empty only when the generator did not keep the span,
	// which can happen only when the entity's probability lies within
	// float32 rounding of the threshold.
	GeneratedLabels []string `json:"generated_labels,omitempty"`
}

// Relation is one predicted relation: Head and Tail index the entities
// of the same text (Result.Entities[i]), Label is the relation type.
type Relation struct {
	Head  int     `json:"head"`
	Tail  int     `json:"tail"`
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// Row says which window of which input one batch row holds.
type Row struct {
	// Doc is the input's index; FirstWord the window's first word in it;
	// Words the window's word count.
	Doc, FirstWord, Words int
}

// Logits are one batch's raw model outputs in the reference's layout:
// span models (B, W, K, C), token models (B, W, C, 3); B rows are windows,
// described by Rows.
type Logits struct {
	Shape []int
	Data  []float32
	Rows  []Row
	// Labels are the class names of the C columns (column c = class c+1).
	Labels []string
}

// Result is a prediction run's output.
type Result struct {
	// Entities[i] are input i's entities sorted by start (empty, not
	// nil, for a text without words).
	Entities [][]Entity
	// Relations[i] are input i's relations (relex models only; nil for
	// other models; empty, not nil, for a text without any).
	Relations [][]Relation
	// Logits holds every batch's logits when Options.KeepLogits is set.
	Logits []Logits
	// Windows counts the model rows run; Split the inputs that were cut
	// into several windows.
	Windows, Split int
}

// Predict finds entities of the given labels in raw texts (split into
// words with the reference's splitter).
// A relex model's relations are in Result.Relations: use PredictExamples
// (with data.ExampleFromText) to get them.
func (p *Pipeline) Predict(texts []string, labels []string, o Options) ([][]Entity, error) {
	exs := make([]data.Example, len(texts))
	for i, t := range texts {
		if !utf8.ValidString(t) {
			return nil, fmt.Errorf("predict: text %d is not valid UTF-8", i)
		}
		exs[i] = data.ExampleFromText(t)
		exs[i].Source = fmt.Sprintf("text %d", i)
	}
	r, err := p.PredictExamples(exs, labels, o)
	if err != nil {
		return nil, err
	}
	return r.Entities, nil
}

// PredictExamples predicts on examples. An example with Text and
// CharStarts/CharEnds (from data.ExampleFromText or a .txt file) gets
// character offsets into its Text; an example given as pre-split Words
// only gets offsets into its words joined by single spaces (the text the
// Entity.Text values are cut from). Gold entities are ignored.
func (p *Pipeline) PredictExamples(exs []data.Example, labels []string, o Options) (*Result, error) {
	if len(labels) == 0 && p.LabelEmbeddings != nil {
		labels = p.LabelEmbeddings.Labels
	}
	labels, err := data.DedupLabels(labels)
	if err != nil {
		return nil, fmt.Errorf("predict: labels: %w", err)
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("predict: no labels given")
	}
	rels, err := p.relationTypes(o)
	if err != nil {
		return nil, err
	}
	gen, err := p.generation(labels, o)
	if err != nil {
		return nil, err
	}
	if o.BatchSize == 0 {
		o.BatchSize = 8
	}
	maxWords := p.Model.Cfg.MaxLen
	if o.WindowWords == 0 {
		o.WindowWords = maxWords
	}
	switch {
	case o.BatchSize < 0:
		return nil, fmt.Errorf("predict: batch size %d < 1", o.BatchSize)
	case o.WindowWords < 1 || o.WindowWords > maxWords:
		return nil, fmt.Errorf("predict: window of %d words outside 1..%d (the model's max_len)", o.WindowWords, maxWords)
	case math.IsNaN(o.Threshold) || o.Threshold < 0 || o.Threshold >= 1:
		return nil, fmt.Errorf("predict: threshold %v outside [0, 1)", o.Threshold)
	case math.IsNaN(o.RelationThreshold) || o.RelationThreshold < 0 || o.RelationThreshold >= 1:
		return nil, fmt.Errorf("predict: relation threshold %v outside [0, 1)", o.RelationThreshold)
	case math.IsNaN(o.AdjacencyThreshold) || o.AdjacencyThreshold < 0 || o.AdjacencyThreshold >= 1:
		return nil, fmt.Errorf("predict: adjacency threshold %v outside [0, 1)", o.AdjacencyThreshold)
	}
	if o.RelationThreshold == 0 {
		o.RelationThreshold = o.Threshold
	}
	if o.AdjacencyThreshold == 0 {
		o.AdjacencyThreshold = o.Threshold
	}
	if o.Stride == 0 {
		o.Stride = max(1, o.WindowWords/2)
	}
	if o.Stride < 1 || o.Stride > o.WindowWords {
		return nil, fmt.Errorf("predict: stride %d outside 1..%d (the window)", o.Stride, o.WindowWords)
	}
	promptTokens := 0
	if p.maxTokens > 0 {
		ids, _, err := p.Tokenizer.EncodeWords(p.prompt(labels, rels))
		if err != nil {
			return nil, fmt.Errorf("predict: tokenize the label prompt: %w", err)
		}
		promptTokens = len(ids)
		if promptTokens >= p.maxTokens {
			return nil, fmt.Errorf("predict: the prompt of %d labels and %d relation types takes %d sub-tokens, leaving none of the model's %d for text",
				len(labels), len(rels), promptTokens, p.maxTokens)
		}
	}

	res := &Result{Entities: make([][]Entity, len(exs))}
	if rels != nil {
		res.Relations = make([][]Relation, len(exs))
	}
	var rows []Row
	var wins []data.Example
	for i := range exs {
		ex := &exs[i]
		res.Entities[i] = []Entity{}
		if rels != nil {
			res.Relations[i] = []Relation{}
		}
		if len(ex.Words) == 0 {
			continue
		}
		spans, err := p.windows(ex, promptTokens, o.WindowWords, o.Stride)
		if err != nil {
			return nil, fmt.Errorf("predict: %s: %w", exampleName(ex, i), err)
		}
		if len(spans) > 1 {
			res.Split++
		}
		for _, s := range spans {
			rows = append(rows, Row{Doc: i, FirstWord: s[0], Words: s[1] - s[0]})
			w := data.Example{Words: ex.Words[s[0]:s[1]:s[1]], Source: exampleName(ex, i)}
			if len(spans) > 1 {
				w.Source += fmt.Sprintf(" window words %d-%d", s[0], s[1]-1)
			}
			wins = append(wins, w)
		}
	}
	res.Windows = len(rows)

	dopts := decode.Options{Threshold: o.Threshold, FlatNER: o.FlatNER, MultiLabel: o.MultiLabel}
	found := make([][]models.GenSpan, len(exs))
	foundRels := make([][]spanRelation, len(exs))
	windowsOf := make([]int, len(exs))
	for start := 0; start < len(rows); start += o.BatchSize {
		end := min(start+o.BatchSize, len(rows))
		lg, spans, rrels, err := p.runBatch(wins[start:end], labels, rels, gen, dopts, o)
		if err != nil {
			return nil, fmt.Errorf("predict: batch of windows %d-%d: %w", start, end-1, err)
		}
		for j, r := range rows[start:end] {
			windowsOf[r.Doc]++
			shift := func(s models.GenSpan) models.GenSpan {
				s.Start += r.FirstWord
				s.End += r.FirstWord
				return s
			}
			for _, s := range spans[j] {
				found[r.Doc] = append(found[r.Doc], shift(s))
			}
			if rrels == nil {
				continue
			}
			for _, x := range rrels[j] {
				if x.Head < 0 || x.Head >= len(spans[j]) || x.Tail < 0 || x.Tail >= len(spans[j]) {
					return nil, fmt.Errorf("predict: %s: relation [%d, %d, %q] refers to a missing entity (%d entities)",
						wins[start+j].Source, x.Head, x.Tail, x.Label, len(spans[j]))
				}
				foundRels[r.Doc] = append(foundRels[r.Doc], spanRelation{
					head: shift(spans[j][x.Head]).Span, tail: shift(spans[j][x.Tail]).Span, label: x.Label, score: x.Score})
			}
		}
		if o.Progress != nil {
			o.Progress(end, len(rows))
		}
		if o.KeepLogits {
			lg.Rows = append([]Row(nil), rows[start:end]...)
			lg.Labels = labels
			res.Logits = append(res.Logits, lg)
		}
	}
	for i := range exs {
		spans := found[i]
		if windowsOf[i] > 1 {
			spans = mergeWindows(spans, labels, o.FlatNER, o.MultiLabel)
		}
		ents, err := toEntities(&exs[i], spans, gen != nil && gen.mode == models.LabelsReplace)
		if err != nil {
			return nil, fmt.Errorf("predict: %s: %w", exampleName(&exs[i], i), err)
		}
		res.Entities[i] = ents
		if rels != nil {
			plain := make([]decode.Span, len(spans))
			for j, s := range spans {
				plain[j] = s.Span
			}
			res.Relations[i] = indexRelations(plain, foundRels[i])
		}
	}
	return res, nil
}

// relationTypes checks the relation types of o against the model: the
// deduplicated list for a relex model (never empty), nil for the others.
func (p *Pipeline) relationTypes(o Options) ([]string, error) {
	if !p.arch.Relex() {
		if len(o.Relations) > 0 {
			return nil, fmt.Errorf("predict: relation types given, but a %v model does not extract relations (only %s do)", p.arch, data.ArchitecturesThat(data.Architecture.Relex))
		}
		return nil, nil
	}
	rels, err := data.DedupLabels(o.Relations)
	if err != nil {
		return nil, fmt.Errorf("predict: relation types: %w", err)
	}
	if len(rels) == 0 {
		return nil, fmt.Errorf("predict: a %v model needs the relation types to extract (Options.Relations, gliner predict --relations)", p.arch)
	}
	return rels, nil
}

// genSetup is a span decoder's label generation for one prediction run.
type genSetup struct {
	mode models.LabelMode
	opts models.GenerateOptions
}

// generation checks the label-generation options against the model: nil
// when no labels are generated (not a span decoder, or LabelModeOff).
func (p *Pipeline) generation(labels []string, o Options) (*genSetup, error) {
	if !p.arch.Decoder() {
		switch {
		case o.LabelMode != "" && o.LabelMode != LabelModeOff:
			return nil, fmt.Errorf("predict: label mode %q given, but a %v model generates no labels (only %s do)", o.LabelMode, p.arch, data.ArchitecturesThat(data.Architecture.Decoder))
		case o.ConstrainLabels:
			return nil, fmt.Errorf("predict: constrained label generation asked, but a %v model generates no labels (only %s do)", p.arch, data.ArchitecturesThat(data.Architecture.Decoder))
		case o.MaxNewTokens != 0:
			return nil, fmt.Errorf("predict: max new tokens %d given, but a %v model generates no labels (only %s do)", o.MaxNewTokens, p.arch, data.ArchitecturesThat(data.Architecture.Decoder))
		}
		return nil, nil
	}
	if o.MaxNewTokens < 0 {
		return nil, fmt.Errorf("predict: max new tokens %d < 0", o.MaxNewTokens)
	}
	var mode models.LabelMode
	switch o.LabelMode {
	case LabelModeOff:
		return nil, nil
	case "":
		mode = p.Model.DefaultLabelMode()
	default:
		var err error
		if mode, err = models.ParseLabelMode(o.LabelMode); err != nil {
			return nil, fmt.Errorf("predict: %w (or %q)", err, LabelModeOff)
		}
	}
	g := &genSetup{mode: mode, opts: models.GenerateOptions{Threshold: o.Threshold, MaxNewTokens: o.MaxNewTokens, Tokenizer: p.decTok, Search: o.Search}}
	if o.ConstrainLabels {
		allowed, err := p.Model.LabelsConstraint(p.LabelsTokenizer, labels)
		if err != nil {
			return nil, fmt.Errorf("predict: %w", err)
		}
		g.opts.Allowed = allowed
	}
	return g, nil
}

// spanRelation is a window's relation with its entities in the text's
// word indices.
type spanRelation struct {
	head, tail decode.Span
	label      string
	score      float32
}

// indexRelations maps relations to indices into ents (the text's final
// entities, matched by words and label): a relation whose entity is not
// there (dropped when windows were merged) is skipped; one relation per
// (head, tail, type) is kept, with its highest score, at its first place.
func indexRelations(ents []decode.Span, rels []spanRelation) []Relation {
	type key struct {
		s, e int
		l    string
	}
	at := make(map[key]int, len(ents))
	for i, e := range ents {
		k := key{e.Start, e.End, e.Label}
		if _, ok := at[k]; !ok {
			at[k] = i
		}
	}
	out := []Relation{}
	seen := map[Relation]int{}
	for _, r := range rels {
		h, okh := at[key{r.head.Start, r.head.End, r.head.Label}]
		t, okt := at[key{r.tail.Start, r.tail.End, r.tail.Label}]
		if !okh || !okt {
			continue
		}
		k := Relation{Head: h, Tail: t, Label: r.label}
		if j, ok := seen[k]; ok {
			out[j].Score = max(out[j].Score, float64(r.score))
			continue
		}
		seen[k] = len(out)
		k.Score = float64(r.score)
		out = append(out, k)
	}
	return out
}

func exampleName(ex *data.Example, i int) string {
	if ex.Source != "" {
		return ex.Source
	}
	return fmt.Sprintf("example %d", i)
}

// prompt is the word-level label prompt of span and token uni-encoders
// (none for bi-encoders), with the relation prompt of relex models.
func (p *Pipeline) prompt(labels, rels []string) []string {
	if p.arch.BiEncoder() {
		return nil
	}
	cfg := p.Model.Cfg
	out := make([]string, 0, 2*len(labels)+2*len(rels)+2)
	for _, l := range labels {
		out = append(out, cfg.EntToken, l)
	}
	out = append(out, cfg.SepToken)
	if len(rels) > 0 {
		rt := p.collator.Config().RelToken
		for _, r := range rels {
			out = append(out, rt, r)
		}
		out = append(out, cfg.SepToken)
	}
	return out
}

// windows returns the [start, end) word ranges of ex's windows.
func (p *Pipeline) windows(ex *data.Example, promptTokens, maxWords, stride int) ([][2]int, error) {
	n := len(ex.Words)
	if p.maxTokens == 0 {
		var out [][2]int
		for _, s := range data.WindowStarts(n, maxWords, stride) {
			out = append(out, [2]int{s, min(s+maxWords, n)})
		}
		return out, nil
	}
	_, wordIDs, err := p.Tokenizer.EncodeWords(ex.Words)
	if err != nil {
		return nil, fmt.Errorf("tokenize: %w", err)
	}
	counts := make([]int, n)
	for _, w := range wordIDs {
		if w >= 0 && w < n {
			counts[w]++
		}
	}
	budget := p.maxTokens - promptTokens
	var out [][2]int
	for s := 0; ; {
		e, used := s, 0
		for e < n && e-s < maxWords && used+counts[e] <= budget {
			used += counts[e]
			e++
		}
		if e == s {
			return nil, fmt.Errorf("word %d %q has %d sub-tokens: with the label prompt (%d) it exceeds the model's %d",
				s, ex.Words[s], counts[s], promptTokens, p.maxTokens)
		}
		out = append(out, [2]int{s, e})
		if e == n {
			return out, nil
		}
		s += min(stride, e-s)
	}
}

// runBatch collates, runs and decodes one batch of windows: entities per
// window (with their generated labels when gen is set) and, for relex
// models (rels set), relations indexing them.
func (p *Pipeline) runBatch(wins []data.Example, labels, rels []string, gen *genSetup, o decode.Options, po Options) (Logits, [][]models.GenSpan, [][]decode.Relation, error) {
	b, err := p.collator.Inference(wins, labels, rels)
	if err != nil {
		return Logits{}, nil, nil, err
	}
	w0, c0 := b.W(), b.C()
	if po.Buckets && p.Model.PadsInferenceBatches() {
		t, w, c, err := data.DefaultShapeBuckets.Round(b.T(), b.W(), b.C())
		if err != nil {
			return Logits{}, nil, nil, err
		}
		if p.maxTokens > 0 && t > p.maxTokens {
			t = b.T()
		}
		pad := int64(p.Tokenizer.SpecialIDs().Pad)
		if pad < 0 {
			pad = 0
		}
		if err := b.PadTo(t, w, c, pad); err != nil {
			return Logits{}, nil, nil, err
		}
	}
	var out *models.Output
	if rels != nil {
		out, err = p.Model.ForwardRelex(b, po.Threshold, po.AdjacencyThreshold)
	} else {
		out, err = p.forward(b, labels)
	}
	if err != nil {
		return Logits{}, nil, nil, err
	}
	lg := out.Logits
	B := len(wins)
	token := p.arch.TokenLevel()
	var want []int
	if token {
		want = []int{B, b.W(), b.C(), 3}
	} else {
		want = []int{B, b.W(), p.Model.Cfg.MaxWidth, b.C()}
	}
	if fmt.Sprint(lg.Shape) != fmt.Sprint(want) {
		return Logits{}, nil, nil, fmt.Errorf("model returned logits of shape %v, want %v", lg.Shape, want)
	}
	// The model's decoding, as in training evaluation: each text over its
	// own words with the batch's class names (the window's labels).
	spans, err := p.Model.Decode(out, b, o)
	if err != nil {
		return Logits{}, nil, nil, err
	}
	var rr [][]decode.Relation
	if rels != nil {
		if rr, err = p.Model.DecodeRelations(out, b, spans, po.RelationThreshold); err != nil {
			return Logits{}, nil, nil, err
		}
	}
	var g *models.GeneratedLabels
	if gen != nil {
		if g, err = p.Model.GenerateLabels(b, out, gen.opts); err != nil {
			return Logits{}, nil, nil, err
		}
	}
	gs := make([][]models.GenSpan, B)
	for i, row := range spans {
		gs[i] = make([]models.GenSpan, len(row))
		for j, s := range row {
			gs[i][j].Span = s
			if g == nil {
				continue
			}
			if l, ok := g.Label(i, s.Start, s.End, want[2]); ok {
				gs[i][j].Generated = []string{l}
			} else {
				gs[i][j].Generated = []string{}
			}
		}
	}
	// Logits without bucket padding, in the reference's shape.
	var res Logits
	if token {
		res = Logits{Shape: []int{B, w0, c0, 3}}
		res.Data = slice4(lg.F, want, res.Shape)
	} else {
		res = Logits{Shape: []int{B, w0, want[2], c0}}
		res.Data = slice4(lg.F, want, res.Shape)
	}
	return res, gs, rr, nil
}

// slice4 copies the leading sub-block of shape to of a row-major 4-D
// tensor of shape from.
func slice4(x []float32, from, to []int) []float32 {
	out := make([]float32, 0, to[0]*to[1]*to[2]*to[3])
	for a := range to[0] {
		for b := range to[1] {
			for c := range to[2] {
				off := ((a*from[1]+b)*from[2] + c) * from[3]
				out = append(out, x[off:off+to[3]]...)
			}
		}
	}
	return out
}

// mergeWindows merges the entities a text's windows found: one entity per
// (start, end, label) with its highest score (and that window's generated
// labels), then the reference's greedy selection again over the union
// (candidates in (start, end, label index) order before the stable score
// sort).
func mergeWindows(spans []models.GenSpan, labels []string, flat, multi bool) []models.GenSpan {
	type key struct {
		s, e int
		l    string
	}
	best := map[key]models.GenSpan{}
	for _, s := range spans {
		k := key{s.Start, s.End, s.Label}
		if b, ok := best[k]; !ok || s.Score > b.Score {
			best[k] = s
		}
	}
	idx := make(map[string]int, len(labels))
	for i, l := range labels {
		idx[l] = i
	}
	cands := make([]decode.Span, 0, len(best))
	for _, s := range best {
		cands = append(cands, s.Span)
	}
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.Start != b.Start {
			return a.Start < b.Start
		}
		if a.End != b.End {
			return a.End < b.End
		}
		return idx[a.Label] < idx[b.Label]
	})
	kept := decode.Greedy(cands, flat, multi)
	out := make([]models.GenSpan, len(kept))
	for i, s := range kept {
		out[i] = models.GenSpan{Span: s, Generated: best[key{s.Start, s.End, s.Label}].Generated}
	}
	return out
}

// toEntities maps word spans to characters of ex's text; replace makes a
// span's generated label (spaces trimmed) its label.
func toEntities(ex *data.Example, spans []models.GenSpan, replace bool) ([]Entity, error) {
	text, starts, ends := ex.Text, ex.CharStarts, ex.CharEnds
	n := len(ex.Words)
	if len(starts) != n || len(ends) != n {
		text, starts, ends = data.JoinWords(ex.Words)
	}
	runes := []rune(text)
	out := make([]Entity, 0, len(spans))
	for _, s := range spans {
		if s.Start < 0 || s.End >= n || s.End < s.Start {
			return nil, fmt.Errorf("entity words %d-%d outside the %d words", s.Start, s.End, n)
		}
		cs, ce := starts[s.Start], ends[s.End]
		if cs < 0 || ce > len(runes) || ce < cs {
			return nil, fmt.Errorf("entity characters [%d, %d) outside the text's %d characters", cs, ce, len(runes))
		}
		e := Entity{Start: cs, End: ce, Text: string(runes[cs:ce]), Label: s.Label,
			Score: float64(s.Score), StartWord: s.Start, EndWord: s.End, GeneratedLabels: s.Generated}
		if replace && len(s.Generated) > 0 {
			// The BPE label carries the tokenizer's prefix space; an empty
			// generated label leaves the class label.
			if l := strings.TrimSpace(s.Generated[0]); l != "" {
				e.Label = l
			}
		}
		out = append(out, e)
	}
	return out, nil
}
