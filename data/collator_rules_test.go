package data

import (
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/internal/testutil"
)

func handCollator(t *testing.T, arch Architecture, seed uint64, edit func(*CollatorConfig)) *Collator {
	t.Helper()
	tok := fixtureTokenizer(t, filepath.Join(testutil.Fixture(t, "uni_span_bert"), "tokenizer"))
	cfg := DefaultCollatorConfig(arch)
	if edit != nil {
		edit(&cfg)
	}
	if arch.Relex() {
		tok.AddSpecialTokens(cfg.RelToken)
	}
	var lt = tok
	if !arch.BiEncoder() {
		lt = nil
	}
	c, err := NewCollator(cfg, tok, lt, seed)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// handBatch has 6 examples over 9 gold types.
func handBatch() []Example {
	types := []string{"person", "organization", "location", "date", "event", "product", "law", "money", "language"}
	var exs []Example
	for i := range 6 {
		ex := Example{Words: strings.Fields("alice brown joined microsoft in london yesterday ."), Source: fmt.Sprintf("hand:%d", i)}
		for j := range 3 {
			ex.Entities = append(ex.Entities, Entity{Start: j, End: j, Label: types[(i+2*j)%len(types)]})
		}
		exs = append(exs, ex)
	}
	return exs
}

func goldSet(ex Example) map[string]bool {
	m := map[string]bool{}
	for _, e := range ex.Entities {
		m[e.Label] = true
	}
	return m
}

// TestCollateExactSmall checks a hand-computed batch: a two-sub-token word,
// spans and span and token targets.
func TestCollateExactSmall(t *testing.T) {
	ex := []Example{{Words: []string{"alice", "works at", "brown"}, Entities: []Entity{{0, 1, "person"}, {0, 2, "person"}}}}
	c := handCollator(t, UniEncoderSpan, 1, func(c *CollatorConfig) { c.MaxWidth = 2 })
	b, err := c.Collate(ex, CollateOptions{Labels: [][]string{{"person"}}, Targets: true})
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("input_ids", b.InputIDs.Data, []int64{2, 321, 149, 322, 67, 124, 11, 66, 3})
	check("words_mask", b.WordsMask.Data, []int64{0, 0, 0, 0, 1, 2, 0, 3, 0})
	check("span_idx", b.SpanIdx.Data, []int64{0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3})
	check("span_mask", b.SpanMask.Data, []bool{true, true, true, true, true, false})
	check("labels", b.Labels.Data, []float32{0, 1, 0, 0, 0, 0})
	check("labels shape", b.Labels.Shape, []int{1, 6, 1})
	check("stats.TooWide", b.Stats.TooWide, 1)

	ct := handCollator(t, UniEncoderToken, 1, func(c *CollatorConfig) { c.MaxWidth = 2 })
	bt, err := ct.Collate(ex[:1], CollateOptions{Labels: [][]string{{"person"}}, Targets: true})
	if err != nil {
		t.Fatal(err)
	}
	// (1,3,1,3): entity 0..1 and 0..2: starts at 0, ends at 1 and 2, inside 0..2.
	check("token labels", bt.Labels.Data, []float32{1, 0, 1, 0, 1, 1, 0, 1, 1})
	check("token span_idx", bt.SpanIdx.Shape, []int(nil))
}

func TestCollateSameSeedSameBatches(t *testing.T) {
	run := func(seed uint64) [][][]string {
		c := handCollator(t, UniEncoderSpan, seed, func(c *CollatorConfig) { c.MaxNegTypeRatio = 3 })
		var out [][][]string
		for range 4 {
			b, err := c.Train(handBatch())
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b.IDToClass)
		}
		return out
	}
	a, b := run(7), run(7)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, different label sets:\n%v\n%v", a, b)
	}
	if reflect.DeepEqual(a, run(8)) {
		t.Fatalf("seeds 7 and 8 gave identical label sets over 4 batches")
	}
}

func TestCollateRNGStateResume(t *testing.T) {
	c := handCollator(t, UniEncoderSpan, 3, func(c *CollatorConfig) { c.MaxNegTypeRatio = 2 })
	if _, err := c.Train(handBatch()); err != nil {
		t.Fatal(err)
	}
	state, err := c.MarshalRNG()
	if err != nil {
		t.Fatal(err)
	}
	want, err := c.Train(handBatch())
	if err != nil {
		t.Fatal(err)
	}
	c2 := handCollator(t, UniEncoderSpan, 99, func(c *CollatorConfig) { c.MaxNegTypeRatio = 2 })
	if err := c2.UnmarshalRNG(state); err != nil {
		t.Fatal(err)
	}
	got, err := c2.Train(handBatch())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.IDToClass, want.IDToClass) || !reflect.DeepEqual(got.Labels.Data, want.Labels.Data) ||
		!reflect.DeepEqual(got.InputIDs.Data, want.InputIDs.Data) {
		t.Fatalf("resumed batch differs:\n%v\n%v", got.IDToClass, want.IDToClass)
	}
	if err := c2.UnmarshalRNG([]byte(`{"pcg":"AAAA"}`)); err == nil {
		t.Fatalf("bad rng state accepted")
	}
}

// TestCollateNegativeSampling: with ratio 0 an example's classes are exactly
// its gold types; with a ratio the extra types come from the batch's gold
// types, and across batches some example does receive negatives.
func TestCollateNegativeSampling(t *testing.T) {
	c0 := handCollator(t, UniEncoderSpan, 5, func(c *CollatorConfig) { c.MaxNegTypeRatio = 0 })
	b, err := c0.Train(handBatch())
	if err != nil {
		t.Fatal(err)
	}
	for i, ex := range handBatch() {
		got := map[string]bool{}
		for _, l := range b.IDToClass[i] {
			got[l] = true
		}
		if !reflect.DeepEqual(got, goldSet(ex)) {
			t.Errorf("ratio 0, example %d: classes %v, want gold %v", i, b.IDToClass[i], goldSet(ex))
		}
	}

	c := handCollator(t, UniEncoderSpan, 5, func(c *CollatorConfig) { c.MaxNegTypeRatio = 2 })
	exs := handBatch()
	union := map[string]bool{}
	for _, ex := range exs {
		for l := range goldSet(ex) {
			union[l] = true
		}
	}
	sawNeg := false
	for range 20 {
		b, err := c.Train(exs)
		if err != nil {
			t.Fatal(err)
		}
		for i, ex := range exs {
			gold := goldSet(ex)
			seen := map[string]bool{}
			for _, l := range b.IDToClass[i] {
				if !union[l] {
					t.Fatalf("example %d: class %q not among the batch's gold types", i, l)
				}
				if seen[l] {
					t.Fatalf("example %d: class %q twice", i, l)
				}
				seen[l] = true
				if !gold[l] {
					sawNeg = true
				}
			}
			for l := range gold {
				if !seen[l] {
					t.Fatalf("example %d: gold type %q missing from %v (below max_types)", i, l, b.IDToClass[i])
				}
			}
			if n := len(b.IDToClass[i]); n > len(gold)+2*len(ex.Entities) {
				t.Fatalf("example %d: %d classes exceed gold + ratio·len(ner)", i, n)
			}
		}
	}
	if !sawNeg {
		t.Fatalf("20 batches with max_neg_type_ratio 2 drew no negative type")
	}
}

func TestCollateMaxTypes(t *testing.T) {
	c := handCollator(t, UniEncoderSpan, 11, func(c *CollatorConfig) { c.MaxTypes = 2; c.MaxNegTypeRatio = 3 })
	exs := handBatch()
	for range 5 {
		b, err := c.Train(exs)
		if err != nil {
			t.Fatal(err)
		}
		if b.C() > 2 {
			t.Fatalf("C = %d > max_types 2", b.C())
		}
		lost := 0
		for i, ex := range exs {
			if len(b.IDToClass[i]) != 2 {
				t.Fatalf("example %d: %d classes, want max_types 2 (it has 3 gold types)", i, len(b.IDToClass[i]))
			}
			in := map[string]bool{}
			for _, l := range b.IDToClass[i] {
				in[l] = true
			}
			for _, e := range ex.Entities {
				if !in[e.Label] {
					lost++
				}
			}
		}
		if b.Stats.UnlabeledClass != lost || lost == 0 {
			t.Fatalf("UnlabeledClass = %d, want %d (> 0)", b.Stats.UnlabeledClass, lost)
		}
		var ones float32
		for _, v := range b.Labels.Data {
			ones += v
		}
		if int(ones) != 6*3-lost {
			t.Fatalf("labels hold %v ones, want %d", ones, 6*3-lost)
		}
	}
}

func TestCollateFixedNegativesAndLabelSets(t *testing.T) {
	c := handCollator(t, UniEncoderSpan, 2, func(c *CollatorConfig) { c.MaxNegTypeRatio = 5 })
	exs := handBatch()
	exs[0].NegativeTypes = []string{"zebra", "yacht"}
	exs[1].LabelSet = []string{"money", "person", "money", "city"}
	for range 5 {
		b, err := c.Train(exs)
		if err != nil {
			t.Fatal(err)
		}
		got := append([]string(nil), b.IDToClass[0]...)
		sort.Strings(got)
		var want []string
		for l := range goldSet(exs[0]) {
			want = append(want, l)
		}
		want = append(want, "yacht", "zebra")
		sort.Strings(want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ner_negatives: classes %v, want %v", got, want)
		}
		if !reflect.DeepEqual(b.IDToClass[1], []string{"money", "person", "city"}) {
			t.Fatalf("ner_labels: classes %v, want [money person city]", b.IDToClass[1])
		}
	}
}

func TestCollateInferenceLabels(t *testing.T) {
	c := handCollator(t, UniEncoderSpan, 1, nil)
	exs := handBatch()[:2]
	b, err := c.Inference(exs, []string{"date", "person", "date", "location"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range exs {
		if !reflect.DeepEqual(b.IDToClass[i], []string{"date", "person", "location"}) {
			t.Fatalf("example %d: %v", i, b.IDToClass[i])
		}
	}
	if b.Labels.Shape != nil || b.Entities != nil {
		t.Fatalf("inference batch has targets")
	}
	b, err = c.Collate(exs, CollateOptions{Labels: [][]string{{"a"}, {"b", "c"}}})
	if err != nil {
		t.Fatal(err)
	}
	if b.C() != 2 || b.PromptLengths[0] != 3 || b.PromptLengths[1] != 5 {
		t.Fatalf("per-example labels: C=%d prompt lengths %v", b.C(), b.PromptLengths)
	}
	for _, bad := range [][][]string{{{"a"}, {"b"}, {"c"}}, {{"a", " "}}} {
		if _, err := c.Collate(exs, CollateOptions{Labels: bad}); err == nil {
			t.Errorf("labels %q accepted", bad)
		}
	}
}

func TestCollateBiEncoderSharedMap(t *testing.T) {
	c := handCollator(t, BiEncoderSpan, 4, func(c *CollatorConfig) { c.MaxTypes = 1 })
	exs := handBatch()[:3]
	b, err := c.Train(exs)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.IDToClass[0]) != 3 { // max_types·B = 3 of the 6 gold types
		t.Fatalf("bi-encoder classes %v, want 3", b.IDToClass[0])
	}
	for i := range exs {
		if !reflect.DeepEqual(b.IDToClass[i], b.IDToClass[0]) {
			t.Fatalf("bi-encoder maps differ between examples")
		}
	}
	if b.LabelsInputIDs.Shape[0] != 3 || b.WordsMask.Data[1] != 1 {
		t.Fatalf("labels_input_ids %v, words_mask %v", b.LabelsInputIDs.Shape, b.WordsMask.Data[:4])
	}
	if _, err := c.Collate(exs, CollateOptions{Labels: [][]string{{"a"}, {"b"}, {"a"}}}); err == nil {
		t.Fatalf("bi-encoder accepted different per-example label lists")
	}
}

func TestCollateTruncationPolicy(t *testing.T) {
	long := Example{Words: strings.Fields("alice brown joined microsoft in london yesterday ."), Source: "train.jsonl:7",
		Entities: []Entity{{0, 1, "person"}, {5, 5, "location"}}}
	c := handCollator(t, UniEncoderSpan, 1, func(c *CollatorConfig) { c.MaxLen = 4 })
	_, err := c.Train([]Example{long})
	if err == nil || !strings.Contains(err.Error(), "train.jsonl:7") || !strings.Contains(err.Error(), "max_len") {
		t.Fatalf("max_len overflow: err = %v", err)
	}
	c = handCollator(t, UniEncoderSpan, 1, func(c *CollatorConfig) { c.MaxLen = 4; c.Truncation = TruncateCompat })
	b, err := c.Collate([]Example{long}, CollateOptions{Labels: [][]string{{"person", "location"}}, Targets: true})
	if err != nil {
		t.Fatal(err)
	}
	if b.TextLengths.Data[0] != 4 || !reflect.DeepEqual(b.Stats.TruncatedWords, []int{0}) || b.Stats.EntitiesOutside != 1 {
		t.Fatalf("compat: text_lengths %v stats %+v", b.TextLengths.Data, b.Stats)
	}

	// Sub-token limit: prompt 5 words + 8 text words + 2 specials = 15.
	c = handCollator(t, UniEncoderSpan, 1, func(c *CollatorConfig) { c.ModelMaxLength = 12 })
	if _, err := c.Inference([]Example{long}, []string{"person", "location"}, nil); err == nil ||
		!strings.Contains(err.Error(), "model_max_length") {
		t.Fatalf("model_max_length overflow: err = %v", err)
	}
	c = handCollator(t, UniEncoderSpan, 1, func(c *CollatorConfig) { c.ModelMaxLength = 12; c.Truncation = TruncateCompat })
	b, err = c.Inference([]Example{long}, []string{"person", "location"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{2, 321, 149, 321, 151, 322, 67, 66, 131, 102, 9, 3}
	if !reflect.DeepEqual(b.InputIDs.Data, want) || b.TextLengths.Data[0] != 8 || b.WordsMask.Data[10] != 5 {
		t.Fatalf("compat token cut: ids %v (want %v), text_lengths %v, words_mask %v", b.InputIDs.Data, want, b.TextLengths.Data, b.WordsMask.Data)
	}
}

func TestCollateBadInput(t *testing.T) {
	c := handCollator(t, UniEncoderSpan, 1, nil)
	bad := Example{Words: []string{"a", "b"}, Entities: []Entity{{1, 2, "x"}}, Source: "dev.jsonl:3"}
	if _, err := c.Train([]Example{bad}); err == nil || !strings.Contains(err.Error(), "dev.jsonl:3") {
		t.Fatalf("entity past the text: err = %v", err)
	}
	if _, err := c.Train(nil); err == nil {
		t.Fatalf("empty batch accepted")
	}
	// An empty text becomes ["[PAD]"], as in the reference.
	b, err := c.Inference([]Example{{}}, []string{"x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.TextLengths.Data[0] != 1 || b.Words[0][0] != "[PAD]" {
		t.Fatalf("empty text: %v %v", b.TextLengths.Data, b.Words)
	}
	cfg := DefaultCollatorConfig(UniEncoderSpan)
	cfg.EntToken = "<<NOPE>>"
	if _, err := NewCollator(cfg, fixtureTokenizer(t, filepath.Join(testutil.Fixture(t, "uni_span_bert"), "tokenizer")), nil, 1); err == nil {
		t.Fatalf("missing marker token accepted")
	}
	if _, err := ParseArchitecture("gliner_uni_encoder_spam"); err == nil {
		t.Fatalf("bad architecture parsed")
	}
	for a := UniEncoderSpan; a <= UniEncoderSpanRelex; a++ {
		if got, err := ParseArchitecture(a.String()); err != nil || got != a {
			t.Fatalf("round trip %v: %v %v", a, got, err)
		}
	}
}

// TestRelexSortsEntities: entities are sorted by (start, end) and relations
// remapped and sorted before the targets are built.
func TestRelexSortsEntities(t *testing.T) {
	c := handCollator(t, UniEncoderSpanRelex, 1, nil)
	ex := Example{
		Words:     strings.Fields("alice brown joined microsoft in london"),
		Entities:  []Entity{{5, 5, "location"}, {3, 3, "organization"}, {0, 1, "person"}},
		Relations: []Relation{{2, 1, "works at"}, {1, 0, "located in"}},
	}
	b, err := c.Collate([]Example{ex}, CollateOptions{
		Labels:    [][]string{{"person", "organization", "location"}},
		RelLabels: [][]string{{"works at", "located in"}},
		Targets:   true,
	})
	if err != nil {
		t.Fatal(err)
	}
	wantEnts := []Entity{{0, 1, "person"}, {3, 3, "organization"}, {5, 5, "location"}}
	if !reflect.DeepEqual(b.Entities[0], wantEnts) {
		t.Fatalf("entities %v, want %v", b.Entities[0], wantEnts)
	}
	// Gold pairs (0,1) works at and (1,2) located in, after remapping.
	adj := b.AdjMatrix.Data
	if adj[0*3+1] != 1 || adj[1*3+2] != 1 || adj[1*3+0] != 1 || adj[2*3+1] != 1 {
		t.Fatalf("adj %v lacks gold or reversed pairs", adj)
	}
	p := b.RelMatrix.Shape[1]
	row := 0
	var got [][2]int
	for h := range 3 {
		for tl := range 3 {
			if adj[h*3+tl] == 0 {
				continue
			}
			for r := range 2 {
				if b.RelMatrix.Data[row*2+r] == 1 {
					got = append(got, [2]int{h*3 + tl, r})
				}
			}
			row++
		}
	}
	if row != p || !reflect.DeepEqual(got, [][2]int{{1, 0}, {5, 1}}) {
		t.Fatalf("rel rows (pair, type) %v over %d pairs (P=%d)", got, row, p)
	}
	// The prompt has both marker kinds: 2C+2R+2 words.
	if b.PromptLengths[0] != 2*3+2*2+2 {
		t.Fatalf("relex prompt length %d", b.PromptLengths[0])
	}
}

func decoderCollator(t *testing.T, seed uint64, edit func(*CollatorConfig)) *Collator {
	t.Helper()
	dir := testutil.Fixture(t, "uni_span_decoder_deberta")
	cfg := DefaultCollatorConfig(UniEncoderSpanDecoder)
	cfg.MaxWidth = 4
	if edit != nil {
		edit(&cfg)
	}
	c, err := NewCollator(cfg, fixtureTokenizer(t, filepath.Join(dir, "tokenizer")),
		fixtureTokenizer(t, filepath.Join(dir, "decoder_tokenizer")), seed)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDecoderBlankAndFirstLabel: with blank_entity_prob 1 every batch has
// the one class "entity" while the decoder labels keep the true strings;
// a span with two labels keeps only its first.
func TestDecoderBlankAndFirstLabel(t *testing.T) {
	ex := Example{Words: strings.Fields("alice brown joined microsoft"),
		Entities: []Entity{{3, 3, "organization"}, {0, 1, "person"}, {0, 1, "date"}}}
	c := decoderCollator(t, 1, func(c *CollatorConfig) { c.BlankEntityProb = 1 })
	b, err := c.Train([]Example{ex})
	if err != nil {
		t.Fatal(err)
	}
	if !b.Blank || !reflect.DeepEqual(b.IDToClass[0], []string{"entity"}) || b.PromptLengths[0] != 3 {
		t.Fatalf("blank draw: blank %v classes %v prompt %d", b.Blank, b.IDToClass[0], b.PromptLengths[0])
	}
	if b.Labels.Data[SpanIndex(0, 1, 4)] != 1 || b.Labels.Data[SpanIndex(3, 3, 4)] != 1 || b.Stats.ExtraSpanLabels != 1 {
		t.Fatalf("blank labels %v stats %+v", b.Labels.Data, b.Stats)
	}
	// Rows in flat span order: (0,1) person, then (3,3) organization.
	// " person" = [220 260]; " organization" = [220 266 267 72 89 262 263]; pad 269.
	want := []int64{220, 260, 269, 269, 269, 269, 269, 220, 266, 267, 72, 89, 262, 263}
	if !reflect.DeepEqual(b.DecoderLabelsIDs.Data, want) || !reflect.DeepEqual(b.DecoderLabels.Data, want) {
		t.Fatalf("decoder labels %v, want %v", b.DecoderLabelsIDs.Data, want)
	}

	c = decoderCollator(t, 1, func(c *CollatorConfig) { c.BlankEntityProb = 0; c.MaxNegTypeRatio = 0 })
	b, err = c.Train([]Example{ex})
	if err != nil {
		t.Fatal(err)
	}
	if b.Blank || len(b.IDToClass[0]) != 3 {
		t.Fatalf("no blank: classes %v", b.IDToClass[0])
	}
	n := SpanIndex(0, 1, 4) * 3
	var ones float32
	for _, v := range b.Labels.Data[n : n+3] {
		ones += v
	}
	if ones != 1 || b.Stats.ExtraSpanLabels != 1 || b.DecoderLabelsIDs.Shape[0] != 2 {
		t.Fatalf("span (0,1) has %v labels; stats %+v; decoder labels %v", ones, b.Stats, b.DecoderLabelsIDs.Shape)
	}

	// No positive span: the decoder learns "other".
	b, err = c.Train([]Example{{Words: []string{"alice"}}})
	if err != nil {
		t.Fatal(err)
	}
	if b.DecoderLabelsIDs.Shape[0] != 1 || b.DecoderLabelsIDs.Data[0] != 220 {
		t.Fatalf("empty batch decoder labels %v %v", b.DecoderLabelsIDs.Shape, b.DecoderLabelsIDs.Data)
	}
}

func TestRelexAugmentation(t *testing.T) {
	ex := Example{
		Words:     strings.Fields("alice brown joined microsoft in london"),
		Entities:  []Entity{{0, 1, "person"}, {3, 3, "organization"}, {5, 5, "location"}},
		Relations: []Relation{{0, 1, "works at"}},
	}
	orig := fmt.Sprint(ex)
	set := func(ent, rel [2]float64, other float64) func(*CollatorConfig) {
		return func(c *CollatorConfig) {
			c.MaxNegTypeRatio = 3
			c.AugmentDataProb, c.AugmentEntDropProb, c.AugmentRelDropProb, c.AugmentAddOtherProb = 1, ent, rel, other
		}
	}
	// Every entity type dropped, relation kept, add_other: the relation's
	// endpoints become "other", the third entity goes.
	c := handCollator(t, UniEncoderSpanRelex, 1, set([2]float64{1, 1}, [2]float64{0, 0}, 1))
	b, err := c.Train([]Example{ex, ex})
	if err != nil {
		t.Fatal(err)
	}
	want := []Entity{{0, 1, "other"}, {3, 3, "other"}}
	if !reflect.DeepEqual(b.Entities[0], want) || !reflect.DeepEqual(b.IDToClass[0], []string{"other"}) ||
		!reflect.DeepEqual(b.RelIDToClass[0], []string{"works at"}) {
		t.Fatalf("add_other: entities %v classes %v rel classes %v", b.Entities[0], b.IDToClass[0], b.RelIDToClass[0])
	}
	if b.AdjMatrix.Data[1] != 1 || b.RelMatrix.Data[0] != 1 {
		t.Fatalf("add_other: adj %v rel %v", b.AdjMatrix.Data, b.RelMatrix.Data)
	}
	// Without add_other everything goes.
	c = handCollator(t, UniEncoderSpanRelex, 1, set([2]float64{1, 1}, [2]float64{0, 0}, 0))
	if b, err = c.Train([]Example{ex}); err != nil {
		t.Fatal(err)
	}
	if len(b.Entities[0]) != 0 || len(b.IDToClass[0]) != 0 || len(b.RelIDToClass[0]) != 0 {
		t.Fatalf("no add_other: entities %v classes %v rel %v", b.Entities[0], b.IDToClass[0], b.RelIDToClass[0])
	}
	// Relation types dropped, entities kept.
	c = handCollator(t, UniEncoderSpanRelex, 1, set([2]float64{0, 0}, [2]float64{1, 1}, 1))
	if b, err = c.Train([]Example{ex}); err != nil {
		t.Fatal(err)
	}
	if len(b.Entities[0]) != 3 || len(b.RelIDToClass[0]) != 0 || b.C() != 3 {
		t.Fatalf("relations dropped: entities %v classes %v rel %v", b.Entities[0], b.IDToClass[0], b.RelIDToClass[0])
	}
	if fmt.Sprint(ex) != orig {
		t.Fatalf("augmentation changed the caller's example: %v", ex)
	}
	// Fixed labels (inference or fixtures) never augment.
	b, err = c.Collate([]Example{ex}, CollateOptions{Labels: [][]string{{"person"}}, RelLabels: [][]string{{"works at"}}, Targets: true})
	if err != nil || len(b.Entities[0]) != 3 {
		t.Fatalf("fixed labels augmented: %v %v", b.Entities, err)
	}
}

func TestTokenRepresentSpans(t *testing.T) {
	ex := Example{Words: strings.Fields("alice brown joined microsoft in london yesterday ."),
		Entities: []Entity{{0, 1, "person"}, {3, 3, "organization"}, {7, 7, "date"}}}
	run := func(seed uint64, ratio float64) *Batch {
		c := handCollator(t, UniEncoderToken, seed, func(c *CollatorConfig) {
			c.RepresentSpans, c.NegSpansRatio, c.MaxWidth = true, ratio, 3
		})
		b, err := c.Collate([]Example{ex}, CollateOptions{Labels: [][]string{{"organization", "person"}}, Targets: true})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := run(1, 1)
	// Gold rows first (date is not a class): (0,1) person, (3,3) organization.
	if !reflect.DeepEqual(b.SpanIdx.Data[:4], []int64{0, 1, 3, 3}) || !reflect.DeepEqual(b.SpanLabels.Data[:4], []float32{0, 1, 1, 0}) {
		t.Fatalf("gold span rows %v labels %v", b.SpanIdx.Data[:4], b.SpanLabels.Data[:4])
	}
	for seed := uint64(1); seed <= 20; seed++ {
		b := run(seed, 1.5) // int(2·1.5) = 3 negatives
		if b.SpanIdx.Shape[1] != 5 {
			t.Fatalf("seed %d: %d spans, want 2 gold + 3 negatives", seed, b.SpanIdx.Shape[1])
		}
		for j := 2; j < 5; j++ {
			s, e := b.SpanIdx.Data[2*j], b.SpanIdx.Data[2*j+1]
			if s < 0 || e < s || e-s >= 3 || e > 7 || s <= 1 || (s <= 3 && e >= 3) || !b.SpanMask.Data[j] {
				t.Fatalf("seed %d: negative span (%d,%d) overlaps gold or leaves the text", seed, s, e)
			}
			if b.SpanLabels.Data[2*j] != 0 || b.SpanLabels.Data[2*j+1] != 0 {
				t.Fatalf("seed %d: negative span has a label", seed)
			}
		}
	}
	if !reflect.DeepEqual(run(5, 1.5).SpanIdx.Data, run(5, 1.5).SpanIdx.Data) {
		t.Fatalf("same seed, different negative spans")
	}
}
