package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/internal/testutil"
)

// The two newer architectures through the command line: predict,
// evaluate and export on the reference's UniEncoderTokenDecoder and
// UniEncoderTokenRelex fixtures.

const (
	tokenDecoderFixture = "uni_token_decoder_deberta"
	tokenRelexFixture   = "uni_token_relex_deberta"
)

// tokenRun is one decoding entry of the token decoder or token relex
// fixture (fixtures README, "The token decoder and token relex fixtures").
type tokenRun struct {
	Entities           [][]refEntity                  `json:"entities"`
	EntitiesTokenLevel [][]refEntity                  `json:"entities_token_level"`
	Relations          [][][4]any                     `json:"relations"`
	ForwardOutputs     map[string]testutil.JSONTensor `json:"forward_outputs"`
	GenLabelsGreedy    []string                       `json:"gen_labels_greedy"`
}

// readTokenRuns reads a token fixture's decoding entries and its
// probabilities (B, W, C, 3).
func readTokenRuns(t *testing.T, f *fixtureFiles) (map[string]tokenRun, testutil.JSONTensor) {
	t.Helper()
	var e struct {
		Probs   testutil.JSONTensor `json:"probs"`
		Decoded map[string]tokenRun `json:"decoded"`
	}
	testutil.ReadJSON(t, filepath.Join(f.dir, "expected.json"), &e)
	if len(e.Probs.Shape) != 4 || len(e.Decoded) == 0 {
		t.Fatalf("%s: probs %v, %d decoding entries", f.dir, e.Probs.Shape, len(e.Decoded))
	}
	return e.Decoded, e.Probs
}

// wantTokenEntities is what predict must give for each text: for a text
// as long as the batch's padded width, the reference's decoded entities
// (ref); for a shorter text, the token decoding of the reference's
// probabilities over the text's own words (gliner-go decodes inside each
// text: docs/reference_differences.md row 10), with decode.Tokens, which
// the decode package's goldens check against the reference.
func wantTokenEntities(t *testing.T, f *fixtureFiles, ref [][]refEntity, probs testutil.JSONTensor, o decode.Options) [][]decode.Span {
	t.Helper()
	p, err := probs.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	W, C := probs.Shape[1], probs.Shape[2]
	out := make([][]decode.Span, len(f.words))
	for i, words := range f.words {
		if len(words) == W {
			for _, e := range ref[i] {
				out[i] = append(out[i], decode.Span{Start: e.Start, End: e.End, Label: e.EntityType, Score: float32(e.Score)})
			}
			continue
		}
		if out[i], err = decode.Tokens(p[i*W*C*3:(i+1)*W*C*3], W, C, len(words), f.labels, o); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// sameEntities compares predict's entities of one line with want and
// returns how many were compared.
func sameEntities(t *testing.T, what string, got []outEntity, want []decode.Span) int {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d entities %v, want %d %v", what, len(got), got, len(want), want)
		return 0
	}
	for j, w := range want {
		g := got[j]
		if g.StartWord != w.Start || g.EndWord != w.End || g.Label != w.Label || !testutil.CloseScalar(g.Score, float64(w.Score), testutil.Prob) {
			t.Errorf("%s entity %d: %+v, want %+v", what, j, g, w)
		}
	}
	return len(want)
}

// refGeneratedLabel is the label the reference's decoder generated
// (greedy) for the span (start, end) of text b: the first row given to
// the decoder (decoder_span_idx) with these bounds (span_idx); false when
// no such row reached the decoder.
func refGeneratedLabel(t *testing.T, run tokenRun, b, start, end int) (string, bool) {
	t.Helper()
	si, di := run.ForwardOutputs["span_idx"], run.ForwardOutputs["decoder_span_idx"]
	spans, err := si.Int64s()
	if err != nil {
		t.Fatal(err)
	}
	sel, err := di.Int64s()
	if err != nil {
		t.Fatal(err)
	}
	S := di.Shape[1]
	r := 0
	for bi := 0; bi*S < len(sel); bi++ {
		for k := 0; k < S; k++ {
			n := sel[bi*S+k]
			if n < 0 {
				break
			}
			i := (bi*S + int(n)) * 2
			if bi == b && spans[i] == int64(start) && spans[i+1] == int64(end) {
				return run.GenLabelsGreedy[r], true
			}
			r++
		}
	}
	return "", false
}

// predict on the token decoder fixture under --reference-compat (the
// reference's prefix layout and its fixed 0.5 decoder keep threshold),
// greedy, at max_new_tokens 8 as the fixture: the entities are the
// reference's token-level decoding (its entities_token_level: gliner-go
// decodes the token logits, as UniEncoderToken and as training's
// evaluation; docs/reference_differences.md), each carrying the label the
// reference's decoder generated for the same span (gen_labels_greedy) or
// no generated_labels when that span did not reach the decoder; --logits writes the
// reference's token logits.
func TestPredictTokenDecoderMatchesReference(t *testing.T) {
	f := readFixture(t, tokenDecoderFixture)
	runs, probs := readTokenRuns(t, f)
	tmp := t.TempDir()
	in := f.examplesJSONL(t, tmp)
	ents, labels, empty := 0, 0, 0
	for _, thr := range []float64{0.5, 0.45} {
		for _, flat := range []bool{true, false} {
			key := fmt.Sprintf("thr=%f,flat_ner=%s", thr, map[bool]string{true: "True", false: "False"}[flat])
			run, ok := runs[key]
			if !ok {
				t.Fatalf("fixture has no entry %s", key)
			}
			out, lg := filepath.Join(tmp, key+".jsonl"), filepath.Join(tmp, key+".safetensors")
			code, stdout, stderr := runCLI(t, "predict", "--model", f.dir, "--input", in, "--labels", strings.Join(f.labels, ","),
				"--output", out, "--logits", lg, "--threshold", fmt.Sprint(thr), fmt.Sprintf("--flat-ner=%v", flat),
				"--max-new-tokens", "8", "--reference-compat")
			if code != 0 {
				t.Fatalf("%s: code %d, stdout %q, stderr %q", key, code, stdout, stderr)
			}
			sf, err := checkpoints.OpenSafetensors(lg)
			if err != nil {
				t.Fatal(err)
			}
			checkLogitsTensor(t, key, sf, f.logits)
			sf.Close()
			got := readGenPredictionsAny(t, out)
			want := wantTokenEntities(t, f, run.EntitiesTokenLevel, probs, decode.Options{Threshold: thr, FlatNER: flat})
			for i := range want {
				plain := make([]outEntity, len(got[i]))
				for j, g := range got[i] {
					plain[j] = g.outEntity
				}
				ents += sameEntities(t, fmt.Sprintf("%s line %d", key, i+1), plain, want[i])
				for j, g := range got[i] {
					l, ok := refGeneratedLabel(t, run, i, g.StartWord, g.EndWord)
					switch {
					case !ok && len(g.Generated) != 0:
						t.Errorf("%s line %d entity %d: generated %q for a span the reference's decoder did not get", key, i+1, j, g.Generated)
					case !ok:
						empty++
					case len(g.Generated) != 1 || g.Generated[0] != l:
						t.Errorf("%s line %d entity %d: generated %q, reference %q", key, i+1, j, g.Generated, l)
					default:
						labels++
					}
				}
			}
		}
	}
	t.Logf("%d entities, %d generated labels compared (%d entities without a decoder row)", ents, labels, empty)
	if ents < 40 || labels < 20 {
		t.Errorf("%d entities and %d generated labels compared: too weak a test", ents, labels)
	}
}

// readGenPredictionsAny reads predict's output for a token decoder: an
// entity carries at most one generated label (none when its span reached
// no decoder row).
func readGenPredictionsAny(t *testing.T, path string) [][]genEntity {
	t.Helper()
	out := readEntities[genEntity](t, path)
	for i, ents := range out {
		for _, e := range ents {
			if len(e.Generated) > 1 {
				t.Fatalf("output line %d: entity %+v with %d generated labels", i+1, e, len(e.Generated))
			}
		}
	}
	return out
}

// predict --relations on the token relex fixture at threshold 0.45 (at
// 0.5 the reference finds nothing), flat and nested: the first text fills
// the batch's width, so its entities and relations (head/tail indices into
// the line's entities) are the reference's exactly; the second, shorter
// text is decoded inside its words (see wantTokenEntities), and every
// relation between two entities both the reference and gliner-go found is
// the reference's (type, score) and vice versa.
func TestPredictTokenRelexMatchesReference(t *testing.T) {
	f := readFixture(t, tokenRelexFixture)
	rx := readRelex(t, f)
	runs, probs := readTokenRuns(t, f)
	tmp := t.TempDir()
	in := f.examplesJSONL(t, tmp)
	nEnts, nRels := 0, 0
	for _, flat := range []bool{true, false} {
		key := fmt.Sprintf("thr=0.450000,flat_ner=%s", map[bool]string{true: "True", false: "False"}[flat])
		run := runs[key]
		out := filepath.Join(tmp, key+".jsonl")
		code, stdout, stderr := runCLI(t, "predict", "--model", f.dir, "--input", in, "--labels", strings.Join(f.labels, ","),
			"--relations", strings.Join(rx.types, ","), "--threshold", "0.45", fmt.Sprintf("--flat-ner=%v", flat), "--output", out)
		if code != 0 {
			t.Fatalf("%s: code %d, stdout %q, stderr %q", key, code, stdout, stderr)
		}
		ents, rels := readRelexPredictions(t, out)
		want := wantTokenEntities(t, f, run.Entities, probs, decode.Options{Threshold: 0.45, FlatNER: flat})
		for i := range want {
			nEnts += sameEntities(t, fmt.Sprintf("%s line %d", key, i+1), ents[i], want[i])
		}
		// Text 1: relations by index.
		if len(rels[0]) != len(run.Relations[0]) {
			t.Fatalf("%s line 1: %d relations, reference %d", key, len(rels[0]), len(run.Relations[0]))
		}
		for j, w := range run.Relations[0] {
			g := rels[0][j]
			if g.Head != num(w[0]) || g.Label != w[1].(string) || g.Tail != num(w[2]) || !testutil.CloseScalar(g.Score, w[3].(float64), testutil.Prob) {
				t.Errorf("%s line 1 relation %d: %+v, reference %v", key, j, g, w)
			}
			nRels++
		}
		// Text 2: relations between entities both found, by their spans.
		type rel struct {
			h, t  [2]int
			label string
		}
		span := func(e refEntity) [2]int { return [2]int{e.Start, e.End} }
		refSpans, gotSpans := map[[2]int]bool{}, map[[2]int]bool{}
		for _, e := range run.Entities[1] {
			refSpans[span(e)] = true
		}
		for _, e := range ents[1] {
			gotSpans[[2]int{e.StartWord, e.EndWord}] = true
		}
		refRels, gotRels := map[rel][]float64{}, map[rel][]float64{}
		for _, w := range run.Relations[1] {
			h, tl := span(run.Entities[1][num(w[0])]), span(run.Entities[1][num(w[2])])
			if gotSpans[h] && gotSpans[tl] {
				k := rel{h, tl, w[1].(string)}
				refRels[k] = append(refRels[k], w[3].(float64))
			}
		}
		for _, g := range rels[1] {
			h, tl := [2]int{ents[1][g.Head].StartWord, ents[1][g.Head].EndWord}, [2]int{ents[1][g.Tail].StartWord, ents[1][g.Tail].EndWord}
			if refSpans[h] && refSpans[tl] {
				k := rel{h, tl, g.Label}
				gotRels[k] = append(gotRels[k], g.Score)
			}
		}
		if len(gotRels) != len(refRels) {
			t.Errorf("%s line 2: %d relations between shared entities, reference %d", key, len(gotRels), len(refRels))
		}
		for k, ws := range refRels {
			gs := gotRels[k]
			if len(gs) == 0 || !testutil.CloseScalar(gs[0], ws[0], testutil.Prob) {
				t.Errorf("%s line 2 relation %v: scores %v, reference %v", key, k, gs, ws)
			}
			nRels++
		}
	}
	t.Logf("%d entities, %d relations compared", nEnts, nRels)
	if nEnts < 30 || nRels < 500 {
		t.Errorf("%d entities and %d relations compared: too weak a test", nEnts, nRels)
	}
}

// writeRecords writes JSONL records.
func writeRecords(t *testing.T, dir, name string, recs ...any) string {
	t.Helper()
	var lines []string
	for _, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	return writeFile(t, dir, name, strings.Join(lines, "\n")+"\n")
}

// evaluate on the token decoder and the token relex fixtures' first text
// (it fills the batch, so the reference's decoding is gliner-go's): the
// tables are computed here from the reference's decoded entities (and
// relations) against gold that holds the text's annotation plus some of
// the reference's predictions, so that both matches and misses count.
func TestEvaluateTokenArchitectures(t *testing.T) {
	tmp := t.TempDir()
	type rec struct {
		Words     []string `json:"tokenized_text"`
		NER       [][3]any `json:"ner"`
		Relations [][3]any `json:"relations,omitempty"`
	}

	// Token decoder: flat at 0.5 (evaluate's defaults), no generation.
	f := readFixture(t, tokenDecoderFixture)
	runs, _ := readTokenRuns(t, f)
	pred := runs["thr=0.500000,flat_ner=True"].EntitiesTokenLevel[0]
	r := rec{Words: f.words[0], NER: f.gold[0]}
	for _, e := range pred {
		r.NER = append(r.NER, [3]any{e.Start, e.End, e.EntityType})
	}
	in := writeRecords(t, tmp, "decoder.jsonl", r)
	m := decode.NewMetrics()
	m.Add(refSpans(pred), goldSpans(r.NER))
	if mi := m.Micro(); mi.TP == 0 || mi.Gold == mi.TP {
		t.Fatalf("reference scores %+v: not the test's premise", mi)
	}
	labels := strings.Join(f.labels, ",")
	code, stdout, stderr := runCLI(t, "evaluate", "--model", f.dir, "--data", in, "--labels", labels)
	if code != 0 {
		t.Fatalf("token decoder: code %d: %s", code, stderr)
	}
	if want := in + ": 1 documents, labels " + labels + ", threshold 0.5, flat_ner true\n" + m.Table(); stdout != want {
		t.Errorf("token decoder stdout:\n%s\nwant:\n%s", stdout, want)
	}

	// Token relex: nested at 0.45, gold relations = the reference's
	// first five predicted relations (the entities they join added to the
	// gold entities) and the text's annotated ones.
	f = readFixture(t, tokenRelexFixture)
	rx := readRelex(t, f)
	runs, _ = readTokenRuns(t, f)
	run := runs["thr=0.450000,flat_ner=False"]
	ents, rels := run.Entities[0], run.Relations[0]
	r = rec{Words: f.words[0], NER: f.gold[0]}
	for _, g := range rx.gold[0] {
		r.Relations = append(r.Relations, [3]any{g[0], g[1], g[2]})
	}
	index := func(e refEntity) int {
		for i, g := range r.NER {
			if num(g[0]) == e.Start && num(g[1]) == e.End && g[2].(string) == e.EntityType {
				return i
			}
		}
		r.NER = append(r.NER, [3]any{e.Start, e.End, e.EntityType})
		return len(r.NER) - 1
	}
	for _, w := range rels[:5] {
		r.Relations = append(r.Relations, [3]any{index(ents[num(w[0])]), index(ents[num(w[2])]), w[1]})
	}
	in = writeRecords(t, tmp, "relex.jsonl", r)
	em := decode.NewMetrics()
	rm := decode.NewRelationMetrics(rx.types)
	em.Add(refSpans(ents), goldSpans(r.NER))
	var pr, gr []decode.Relation
	for _, w := range rels {
		pr = append(pr, decode.Relation{Head: num(w[0]), Tail: num(w[2]), Label: w[1].(string)})
	}
	for _, g := range r.Relations {
		gr = append(gr, decode.Relation{Head: num(g[0]), Tail: num(g[1]), Label: g[2].(string)})
	}
	if err := rm.Add("0", refSpans(ents), pr, goldSpans(r.NER), gr); err != nil {
		t.Fatal(err)
	}
	if mi := rm.Micro(); mi.TP < 5 || mi.Predicted != len(rels) {
		t.Fatalf("reference relation scores %+v: not the test's premise", mi)
	}
	code, stdout, stderr = runCLI(t, "evaluate", "--model", f.dir, "--data", in, "--labels", labels, "--relations", strings.Join(rx.types, ","),
		"--threshold", "0.45", "--flat-ner=false")
	if code != 0 {
		t.Fatalf("token relex: code %d: %s", code, stderr)
	}
	want := in + ": 1 documents, labels " + labels + ", threshold 0.45, flat_ner false\n" + em.Table() +
		"\nrelations (strict: both entity spans and the type), types " + strings.Join(rx.types, ",") + ", relation threshold 0.45\n" + rm.Table()
	if stdout != want {
		t.Errorf("token relex stdout:\n%s\nwant:\n%s", stdout, want)
	}
}

func refSpans(es []refEntity) []decode.Span {
	out := make([]decode.Span, len(es))
	for i, e := range es {
		out[i] = decode.Span{Start: e.Start, End: e.End, Label: e.EntityType, Score: float32(e.Score)}
	}
	return out
}

func goldSpans(ner [][3]any) []decode.Span {
	out := make([]decode.Span, len(ner))
	for i, g := range ner {
		out[i] = decode.Span{Start: num(g[0]), End: num(g[1]), Label: g[2].(string)}
	}
	return out
}

// export on both fixtures writes the reference's own gliner_config.json
// and model.safetensors byte for byte (with the tokenizers; the decoder's
// in decoder_tokenizer/), and the exported folder predicts exactly as the
// original.
func TestExportTokenArchitectures(t *testing.T) {
	for _, c := range []struct {
		fixture string
		extra   []string
		sub     string
	}{
		{tokenDecoderFixture, []string{"--max-new-tokens", "8"}, "decoder_tokenizer"},
		{tokenRelexFixture, []string{"--relations", "works at,located in,visited", "--threshold", "0.45"}, ""},
	} {
		t.Run(c.fixture, func(t *testing.T) {
			f := readFixture(t, c.fixture)
			out := filepath.Join(t.TempDir(), "exported")
			code, stdout, stderr := runCLI(t, "export", "--model", f.dir, "--output", out)
			if code != 0 || !strings.Contains(stdout, "exported") {
				t.Fatalf("code %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			for _, file := range []string{"gliner_config.json", "model.safetensors"} {
				a, _ := os.ReadFile(filepath.Join(f.dir, file))
				b, err := os.ReadFile(filepath.Join(out, file))
				if err != nil || !bytes.Equal(a, b) {
					t.Errorf("%s differs from the reference's (%v)", file, err)
				}
			}
			if c.sub != "" {
				if _, err := os.Stat(filepath.Join(out, c.sub, "vocab.json")); err != nil {
					t.Errorf("exported folder lacks %s: %v", c.sub, err)
				}
			}
			in := f.examplesJSONL(t, t.TempDir())
			o1, o2 := filepath.Join(t.TempDir(), "a.jsonl"), filepath.Join(t.TempDir(), "b.jsonl")
			for _, x := range [][2]string{{f.dir, o1}, {out, o2}} {
				args := append([]string{"predict", "--model", x[0], "--input", in, "--labels", strings.Join(f.labels, ","), "--output", x[1]}, c.extra...)
				if code, _, stderr := runCLI(t, args...); code != 0 {
					t.Fatalf("predict with %s: %s", x[0], stderr)
				}
			}
			a, _ := os.ReadFile(o1)
			b, _ := os.ReadFile(o2)
			if !bytes.Equal(a, b) || !strings.Contains(string(a), `"label"`) {
				t.Errorf("exported model predicts differently or finds nothing:\n%s\n%s", b, a)
			}
		})
	}
}
