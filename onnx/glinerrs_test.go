package onnx

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/infer"
	"github.com/gliner-go/gliner/internal/testutil"
)

// The gline-rs tests run the exports through onnx/js/gline_rs.mjs, a
// step-by-step port of gline-rs's pre- and post-processing (fbilhaut/gline-rs
// 6dce27e; each step names its file and function) on onnxruntime-node, and
// compare what it returns with gliner predict (infer.Pipeline). gline-rs
// itself is not built here (README, "Exporting to ONNX").

// glineRsSpan is one span of gline-rs's SpanOutput (src/text/span.rs):
// Start and End are byte offsets into the UTF-8 text.
type glineRsSpan struct {
	Sequence    int     `json:"sequence"`
	Start       int     `json:"start"`
	End         int     `json:"end"`
	Text        string  `json:"text"`
	Class       string  `json:"class"`
	Probability float64 `json:"probability"`
}

type glineRsSpans struct {
	Texts       []string        `json:"texts"`
	Spans       [][]glineRsSpan `json:"spans"`
	Candidates  [][]glineRsSpan `json:"candidates"`
	LogitsShape []int           `json:"logits_shape"`
}

// glineRsRelation is gline-rs's Relation (src/model/output/relation.rs).
type glineRsRelation struct {
	Class       string  `json:"class"`
	Subject     string  `json:"subject"`
	Object      string  `json:"object"`
	Sequence    int     `json:"sequence"`
	Start       int     `json:"start"`
	End         int     `json:"end"`
	Probability float64 `json:"probability"`
}

// glineRsSpec is one relation of gline-rs's RelationSchema
// (src/model/input/relation/schema.rs); nil lists allow every label.
type glineRsSpec struct {
	Relation string   `json:"relation"`
	Subjects []string `json:"subjects,omitempty"`
	Objects  []string `json:"objects,omitempty"`
}

type glineRsResult struct {
	Entities      glineRsSpans `json:"entities"`
	RelationInput struct {
		Prompts []string `json:"prompts"`
		Labels  []string `json:"labels"`
	} `json:"relation_input"`
	RelationSpans glineRsSpans        `json:"relation_spans"`
	Relations     [][]glineRsRelation `json:"relations"`
}

// runGlineRs runs gline_rs.mjs in mode (span, token or relex) on the
// exported folder dir with gline-rs's default Parameters
// (src/model/params.rs: threshold 0.5, flat NER, max_length 512) but the
// model's max_width.
func runGlineRs(t *testing.T, mode, dir string, texts, labels []string, threshold float64, maxWidth int, schema []glineRsSpec) glineRsResult {
	t.Helper()
	js := jsDir(t)
	tmp := t.TempDir()
	in, err := json.Marshal(map[string]any{
		"texts": texts, "entities": labels, "relations": schema,
		"params": map[string]any{"threshold": threshold, "max_width": maxWidth, "max_length": 512,
			"flat_ner": true, "dup_label": false, "multi_label": false},
	})
	if err != nil {
		t.Fatal(err)
	}
	ip, op := filepath.Join(tmp, "in.json"), filepath.Join(tmp, "out.json")
	if err := os.WriteFile(ip, in, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", filepath.Join(js, "gline_rs.mjs"), mode, dir, ip, op)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gline_rs.mjs %s: %v\n%s", mode, err, b)
	}
	var res glineRsResult
	testutil.ReadJSON(t, op, &res)
	return res
}

// glineRsWant computes from gliner predict's logits what gline-rs must
// return for texts: the spans of its first decoding step (cands, in its
// order) and its final spans (GreedySearch over SpanSort), with rune
// offsets. The texts must fit in one window.
type glineRsWant struct {
	cands, final [][]glineRsSpan
	// predict are gliner predict's own entities.
	predict [][]infer.Entity
}

// sigmoid32 is gline-rs's f32 sigmoid (src/util/math.rs).
func sigmoid32(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

func glineRsExpect(t *testing.T, p *infer.Pipeline, texts, labels []string, threshold float64) glineRsWant {
	t.Helper()
	exs := make([]data.Example, len(texts))
	for i, text := range texts {
		exs[i] = data.ExampleFromText(text)
	}
	r, err := p.PredictExamples(exs, labels, infer.Options{Threshold: threshold, FlatNER: true, BatchSize: 8, KeepLogits: true})
	if err != nil {
		t.Fatal(err)
	}
	token := p.Model.Arch.TokenLevel()
	thr := float32(threshold)
	w := glineRsWant{cands: make([][]glineRsSpan, len(texts)), final: make([][]glineRsSpan, len(texts)), predict: r.Entities}
	done := make([]bool, len(texts))
	for bi := range r.Logits {
		l := &r.Logits[bi]
		if fmt.Sprint(l.Labels) != fmt.Sprint(labels) {
			t.Fatalf("logits for labels %v, want %v", l.Labels, labels)
		}
		for ri, rw := range l.Rows {
			i := rw.Doc
			if rw.FirstWord != 0 || done[i] {
				t.Fatalf("text %d was cut into windows", i)
			}
			done[i] = true
			words := data.SplitWords(texts[i])
			runes := []rune(texts[i])
			n := len(words)
			span := func(st, ed, c int, prob float32) glineRsSpan {
				a, b := words[st].Start, words[ed].End
				return glineRsSpan{Sequence: i, Start: a, End: b, Text: string(runes[a:b]), Class: labels[c], Probability: float64(prob)}
			}
			var cands []glineRsSpan
			if token {
				// src/model/output/decoded/token.rs, generate_spans and
				// compute_span_score, on gliner-go's (B, W, C, 3) logits.
				W, C := l.Shape[1], l.Shape[2]
				at := func(wi, c, ch int) float32 { return sigmoid32(l.Data[((ri*W+wi)*C+c)*3+ch]) }
				for c := range C {
					for st := range n {
						if at(st, c, 0) < thr {
							continue
						}
						for ed := st; ed < n; ed++ {
							if at(ed, c, 1) < thr {
								continue
							}
							sum, ok := float32(0), true
							for j := st; j <= ed && ok; j++ {
								ok = at(j, c, 2) >= thr
								sum += at(j, c, 2)
							}
							if score := sum / float32(ed-st+1); ok && score >= thr {
								cands = append(cands, span(st, ed, c, score))
							}
						}
					}
				}
			} else {
				// src/model/output/decoded/span.rs, decode, on gliner-go's
				// (B, W, K, C) logits.
				W, K, C := l.Shape[1], l.Shape[2], l.Shape[3]
				for st := range n {
					for k := range K {
						for c := range C {
							if st+k >= n {
								continue
							}
							if prob := sigmoid32(l.Data[((ri*W+st)*K+k)*C+c]); prob >= thr {
								cands = append(cands, span(st, st+k, c, prob))
							}
						}
					}
				}
			}
			w.cands[i] = cands
			w.final[i] = glineRsGreedy(cands)
		}
	}
	for i, ok := range done {
		if !ok {
			t.Fatalf("no logits for text %d", i)
		}
	}
	return w
}

// glineRsGreedy is gline-rs's SpanSort then GreedySearch with flat_ner
// (src/model/output/decoded/sort.rs and greedy.rs, search and accept; Span::
// overlaps in src/text/span.rs): a sweep over the spans sorted by offsets
// that keeps the current span until one disjoint from it comes, replacing
// it by an overlapping span of higher probability. Offsets are compared
// with inclusive ends, so spans that touch overlap.
func glineRsGreedy(spans []glineRsSpan) []glineRsSpan {
	s := slices.Clone(spans)
	sort.SliceStable(s, func(a, b int) bool {
		if s[a].Start != s[b].Start {
			return s[a].Start < s[b].Start
		}
		return s[a].End < s[b].End
	})
	if len(s) == 0 {
		return nil
	}
	var out []glineRsSpan
	prev := 0
	for next := 1; next < len(s); next++ {
		if s[next].Start > s[prev].End || s[next].End < s[prev].Start {
			out = append(out, s[prev])
			prev = next
		} else if s[prev].Probability < s[next].Probability {
			prev = next
		}
	}
	return append(out, s[prev])
}

// sameSpans requires gline-rs's spans (byte offsets) of every text to be
// want's (rune offsets), in order, with probabilities within 1e-4. It
// returns the span count and the largest probability difference.
func sameSpans(t *testing.T, what string, texts []string, got, want [][]glineRsSpan) (int, float64) {
	t.Helper()
	if len(got) != len(texts) || len(want) != len(texts) {
		t.Fatalf("%s: %d and %d span lists for %d texts", what, len(got), len(want), len(texts))
	}
	n, worst := 0, 0.0
	for i, text := range texts {
		key := func(s glineRsSpan) string {
			return fmt.Sprintf("%d [%d,%d) %s %q", s.Sequence, s.Start, s.End, s.Class, s.Text)
		}
		var g, w []string
		for _, s := range got[i] {
			s.Start, s.End = utf8.RuneCountInString(text[:s.Start]), utf8.RuneCountInString(text[:s.End])
			g = append(g, key(s))
		}
		for _, s := range want[i] {
			w = append(w, key(s))
		}
		if !slices.Equal(g, w) {
			t.Errorf("%s: text %d %q:\n gline-rs: %v\n want:     %v", what, i, text, g, w)
			continue
		}
		for j := range want[i] {
			d := math.Abs(got[i][j].Probability - want[i][j].Probability)
			worst = math.Max(worst, d)
			if d > 1e-4 {
				t.Errorf("%s: text %d: %s: gline-rs probability %v, want %v", what, i, w[j], got[i][j].Probability, want[i][j].Probability)
			}
		}
		n += len(want[i])
	}
	return n, worst
}

// predictAmong requires every gliner predict entity of every text to be
// among gline-rs's candidates (byte offsets) with the same offsets, label
// and text; for span models with its probability within 1e-4 of gliner
// predict's score (a token model's gline-rs probability is the mean inside
// probability, gliner predict's score the reference's minimum of the start,
// end and inside probabilities; the candidates check compares the former).
// It also counts the texts whose gline-rs final spans are not gliner
// predict's entities. It returns the entity count, the largest probability
// difference and that count.
func predictAmong(t *testing.T, what string, texts []string, cands, final [][]glineRsSpan, predict [][]infer.Entity, token bool) (int, float64, int) {
	t.Helper()
	n, worst, differ := 0, 0.0, 0
	for i, text := range texts {
		runes := func(s glineRsSpan) (int, int) {
			return utf8.RuneCountInString(text[:s.Start]), utf8.RuneCountInString(text[:s.End])
		}
		same := len(final[i]) == len(predict[i])
		for j, e := range predict[i] {
			k := slices.IndexFunc(cands[i], func(s glineRsSpan) bool {
				a, b := runes(s)
				return a == e.Start && b == e.End && s.Class == e.Label && s.Text == e.Text
			})
			if k < 0 {
				t.Errorf("%s: text %d %q: gliner predict's %+v is not among gline-rs's spans", what, i, text, e)
				continue
			}
			if !token {
				d := math.Abs(cands[i][k].Probability - e.Score)
				worst = math.Max(worst, d)
				if d > 1e-4 {
					t.Errorf("%s: text %d: %+v: gline-rs probability %v", what, i, e, cands[i][k].Probability)
				}
			}
			if same {
				a, b := runes(final[i][j])
				same = a == e.Start && b == e.End && final[i][j].Class == e.Label
			}
			n++
		}
		if !same {
			differ++
		}
	}
	return n, worst, differ
}

var nerLabels = []string{"person", "organization", "location", "date"}

// glineRsNER exports fixture (its [CLS] and [SEP] moved to ids 1 and 2,
// which gline-rs hard-codes) with o and runs gline-rs's span or token mode
// on the corpus lines that fit in one window, all in one batch (gline-rs
// pads it), with gline-rs's default parameters (threshold 0.5, flat NER),
// and checks that its first decoding step finds exactly the spans and
// probabilities (within 1e-4) that its rules give on gliner predict's
// logits, that its final spans are its greedy sweep over those, and that
// gliner predict's entities are among its spans.
func glineRsNER(t *testing.T, fixture, mode string, o Options) {
	jsDir(t)
	m, tok := permutedFixture(t, fixture, 0, "[CLS]", "[SEP]")
	dir := filepath.Join(t.TempDir(), "model")
	if err := Export(m, tok, nil, dir, o, false); err != nil {
		t.Fatal(err)
	}
	p, err := infer.New(m, tok)
	if err != nil {
		t.Fatal(err)
	}
	texts := oneWindow(t, p, m, tok, corpusLines(t), nerLabels)
	got := runGlineRs(t, mode, dir, texts, nerLabels, 0.5, m.Cfg.MaxWidth, nil)
	want := glineRsExpect(t, p, texts, nerLabels, 0.5)
	nc, dc := sameSpans(t, mode+" candidates", texts, got.Entities.Candidates, want.cands)
	nf, df := sameSpans(t, mode+" final", texts, got.Entities.Spans, want.final)
	np, dp, differ := predictAmong(t, mode, texts, got.Entities.Candidates, got.Entities.Spans, want.predict, mode == "token")
	scores := fmt.Sprintf("scores within %.3g", dp)
	if mode == "token" {
		scores = "gline-rs scores token spans by their mean inside probability"
	}
	t.Logf("%s: %d texts in one batch (logits %v): %d candidates (max probability difference %.3g), %d final spans (%.3g); "+
		"gliner predict's %d entities all among them (%s); the final spans differ from gliner predict's on %d texts",
		mode, len(texts), got.Entities.LogitsShape, nc, dc, nf, df, np, scores, differ)
	if nc == 0 || nf == 0 || np == 0 {
		t.Fatal("no span to compare")
	}
}

// TestGlineRsSpan: gline-rs's span mode (SpanPipeline) on the
// UniEncoderSpan export.
func TestGlineRsSpan(t *testing.T) { glineRsNER(t, "uni_span_deberta", "span", Options{}) }

// TestGlineRsToken: gline-rs's token mode (TokenPipeline) on the
// UniEncoderToken export written with PositionFirst.
func TestGlineRsToken(t *testing.T) {
	glineRsNER(t, "uni_token_deberta", "token", Options{PositionFirst: true})
}

// glineRsRelations is gline-rs's relation extraction on top of the NER
// spans ner (src/model/input/relation/mod.rs, RelationInput::from_spans;
// src/model/output/relation.rs, SpanOutputToRelationOutput): the prompts
// and labels it builds, and the relations it keeps from the final spans of
// the token pipeline run on them (rel, rune offsets into the prompts).
// gline-rs iterates its schema and entities in hash order; this uses the
// schema's order and the order the entities were found (as gline_rs.mjs).
func glineRsRelations(ner [][]glineRsSpan, texts []string, schema []glineRsSpec) (prompts, labels []string, relations func(rel [][]glineRsSpan) [][]glineRsRelation) {
	type ent struct{ text, class string }
	var unique []ent
	entityLabels := map[string][]string{}
	for _, seq := range ner {
		for _, s := range seq {
			if !slices.Contains(unique, ent{s.Text, s.Class}) {
				unique = append(unique, ent{s.Text, s.Class})
			}
			if !slices.Contains(entityLabels[s.Text], s.Class) {
				entityLabels[s.Text] = append(entityLabels[s.Text], s.Class)
			}
		}
	}
	allows := func(list []string, label string) bool { return list == nil || slices.Contains(list, label) }
	for _, spec := range schema {
		for _, e := range unique {
			if allows(spec.Subjects, e.class) {
				labels = append(labels, e.text+" <> "+spec.Relation)
			}
		}
	}
	for _, text := range texts {
		prompts = append(prompts, "Extract relationships between entities from the text: \n "+text)
	}
	relations = func(rel [][]glineRsSpan) [][]glineRsRelation {
		out := make([][]glineRsRelation, len(rel))
		for i, seq := range rel {
			out[i] = []glineRsRelation{}
			for _, s := range seq {
				parts := strings.Split(s.Class, " <> ")
				r := glineRsRelation{Class: parts[1], Subject: parts[0], Object: s.Text, Sequence: s.Sequence, Start: s.Start, End: s.End, Probability: s.Probability}
				k := slices.IndexFunc(schema, func(sp glineRsSpec) bool { return sp.Relation == r.Class })
				if ls, ok := entityLabels[r.Object]; ok && slices.ContainsFunc(ls, func(l string) bool { return allows(schema[k].Objects, l) }) {
					out[i] = append(out[i], r)
				}
			}
		}
		return out
	}
	return prompts, labels, relations
}

// TestGlineRsRelex: gline-rs's relation extraction (its examples/
// relation_extraction.rs: TokenPipeline, then RelationPipeline) on the
// UniEncoderToken export written with PositionFirst. gline-rs extracts
// relations with a token model prompted with "<subject> <> <relation>"
// labels (GLiNER multitask); it does not load relex architectures'
// exports, and reads no rel_idx, rel_logits or entity_spans output. The
// test runs short texts two per batch, those whose relation prompt fits
// in one window, and checks the NER spans, the prompts and labels gline-rs
// builds, the relation pipeline's candidates and final spans against its
// rules on gliner predict's logits, and the relations it keeps.
func TestGlineRsRelex(t *testing.T) {
	// The random fixture's word start probabilities are mostly below
	// gline-rs's default 0.5 threshold; 0.45 gives entities to relate.
	const relexThreshold = 0.45
	jsDir(t)
	// gline-rs's relation prompt starts with 9 words that this fixture's
	// small vocabulary makes 37 tokens: lift its 64-token limit.
	m, tok := permutedFixture(t, "uni_token_deberta", 512, "[CLS]", "[SEP]")
	dir := filepath.Join(t.TempDir(), "model")
	if err := Export(m, tok, nil, dir, Options{PositionFirst: true}, false); err != nil {
		t.Fatal(err)
	}
	p, err := infer.New(m, tok)
	if err != nil {
		t.Fatal(err)
	}
	schema := []glineRsSpec{
		{Relation: "founded", Subjects: []string{"person"}, Objects: []string{"organization"}},
		// One subject class per relation: gline-rs writes a label per
		// (text, class) entity, so an entity text found with two allowed
		// classes would repeat a label, which gliner predict merges.
		{Relation: "located in", Subjects: []string{"organization"}},
	}
	// First sentences of the corpus lines, two per batch.
	var sentences []string
	for _, line := range corpusLines(t) {
		if i := strings.Index(line, ". "); i > 0 {
			sentences = append(sentences, line[:i+1])
		}
	}
	batches, nr, nc, ns, worst := 0, 0, 0, 0, 0.0
	for i := 0; i+1 < len(sentences) && batches < 4; i += 2 {
		texts := sentences[i : i+2]
		if len(oneWindow(t, p, m, tok, texts, nerLabels)) != 2 {
			continue
		}
		ner := glineRsExpect(t, p, texts, nerLabels, relexThreshold)
		prompts, labels, relations := glineRsRelations(ner.final, texts, schema)
		if len(labels) == 0 || len(oneWindow(t, p, m, tok, prompts, labels)) != 2 {
			continue
		}
		batches++
		got := runGlineRs(t, "relex", dir, texts, nerLabels, relexThreshold, m.Cfg.MaxWidth, schema)
		what := fmt.Sprintf("batch %d", batches)
		sameSpans(t, what+" entities", texts, got.Entities.Spans, ner.final)
		if !slices.Equal(got.RelationInput.Prompts, prompts) || !slices.Equal(got.RelationInput.Labels, labels) {
			t.Fatalf("%s: gline-rs's relation prompts %q and labels %q, want %q and %q", what, got.RelationInput.Prompts, got.RelationInput.Labels, prompts, labels)
		}
		rel := glineRsExpect(t, p, prompts, labels, relexThreshold)
		n, d := sameSpans(t, what+" relation candidates", prompts, got.RelationSpans.Candidates, rel.cands)
		nc += n
		worst = math.Max(worst, d)
		n, d = sameSpans(t, what+" relation spans", prompts, got.RelationSpans.Spans, rel.final)
		ns += n
		worst = math.Max(worst, d)
		predictAmong(t, what+" relation prompts", prompts, got.RelationSpans.Candidates, got.RelationSpans.Spans, rel.predict, true)
		want := relations(rel.final)
		if len(got.Relations) != len(want) {
			t.Fatalf("%s: %d relation lists, want %d", what, len(got.Relations), len(want))
		}
		for j := range want {
			var g, w []string
			for _, r := range got.Relations[j] {
				r.Start, r.End = utf8.RuneCountInString(prompts[j][:r.Start]), utf8.RuneCountInString(prompts[j][:r.End])
				g = append(g, fmt.Sprintf("%q %s %q [%d,%d) %.4f", r.Subject, r.Class, r.Object, r.Start, r.End, r.Probability))
			}
			for _, r := range want[j] {
				w = append(w, fmt.Sprintf("%q %s %q [%d,%d) %.4f", r.Subject, r.Class, r.Object, r.Start, r.End, r.Probability))
			}
			if !slices.Equal(g, w) {
				t.Errorf("%s text %d: gline-rs relations %v, want %v", what, j, g, w)
			}
			nr += len(want[j])
		}
	}
	t.Logf("relex: %d batches of 2 texts: %d relation candidates, %d relation spans (max probability difference %.3g), %d relations kept",
		batches, nc, ns, worst, nr)
	if batches == 0 || ns == 0 || nr == 0 {
		t.Fatal("nothing to compare")
	}
}
