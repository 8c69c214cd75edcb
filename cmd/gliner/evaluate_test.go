package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/internal/testutil"
)

const relexFixture = "uni_span_relex_deberta"

// relexFiles are the relex fixture's relation types, gold relations and
// the reference's decoded relations ([head, type, tail, score]).
type relexFiles struct {
	types   []string
	gold    [][][3]any
	decoded map[string][][][4]any
}

func readRelex(t *testing.T, f *fixtureFiles) *relexFiles {
	t.Helper()
	var b struct {
		RelationTypes []string   `json:"relation_types"`
		Relations     [][][3]any `json:"relations"`
	}
	testutil.ReadJSON(t, filepath.Join(f.dir, "batch.json"), &b)
	var e struct {
		Decoded map[string]struct {
			Relations [][][4]any `json:"relations"`
		} `json:"decoded"`
	}
	testutil.ReadJSON(t, filepath.Join(f.dir, "expected.json"), &e)
	r := &relexFiles{types: b.RelationTypes, gold: b.Relations, decoded: map[string][][][4]any{}}
	for k, v := range e.Decoded {
		r.decoded[k] = v.Relations
	}
	if len(r.types) == 0 || len(r.gold) != len(f.words) {
		t.Fatalf("relex fixture: %d relation types, %d gold relation lists for %d examples", len(r.types), len(r.gold), len(f.words))
	}
	return r
}

type outRelation struct {
	Head, Tail int
	Label      string
	Score      float64
}

func readRelexPredictions(t *testing.T, path string) ([][]outEntity, [][]outRelation) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ents [][]outEntity
	var rels [][]outRelation
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var rec struct {
			Entities  []outEntity   `json:"entities"`
			Relations []outRelation `json:"relations"`
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			t.Fatalf("output line %q: %v", line, err)
		}
		if rec.Entities == nil || rec.Relations == nil {
			t.Fatalf("output line %q: entities or relations is not a list", line)
		}
		ents = append(ents, rec.Entities)
		rels = append(rels, rec.Relations)
	}
	return ents, rels
}

// predict --relations on the relex fixture gives the reference's entities
// and relations (head/tail = indices into the line's entities), at the
// reference's predict defaults (threshold 0.5, flat NER: no relation) and
// nested (36 and 5 relations).
func TestPredictRelationsMatchReference(t *testing.T) {
	f := readFixture(t, relexFixture)
	rx := readRelex(t, f)
	tmp := t.TempDir()
	in := f.examplesJSONL(t, tmp)
	compared := 0
	for _, flat := range []bool{true, false} {
		setting := fmt.Sprintf("thr=0.500000,flat_ner=%s", map[bool]string{true: "True", false: "False"}[flat])
		out := filepath.Join(tmp, fmt.Sprintf("out_%v.jsonl", flat))
		code, stdout, stderr := runCLI(t, "predict", "--model", f.dir, "--input", in, "--labels", strings.Join(f.labels, ","),
			"--relations", strings.Join(rx.types, ","), "--output", out, fmt.Sprintf("--flat-ner=%v", flat))
		if code != 0 {
			t.Fatalf("%s: code %d, stdout %q, stderr %q", setting, code, stdout, stderr)
		}
		ents, rels := readRelexPredictions(t, out)
		wantEnts, wantRels := f.decoded[setting].Entities, rx.decoded[setting]
		if len(ents) != len(wantEnts) || len(rels) != len(wantRels) {
			t.Fatalf("%s: %d lines, want %d", setting, len(ents), len(wantEnts))
		}
		n := 0
		for i := range wantEnts {
			if len(ents[i]) != len(wantEnts[i]) {
				t.Errorf("%s line %d: entities %v, want %v", setting, i, ents[i], wantEnts[i])
				continue
			}
			for j, w := range wantEnts[i] {
				g := ents[i][j]
				if g.StartWord != w.Start || g.EndWord != w.End || g.Label != w.EntityType || !testutil.CloseScalar(g.Score, w.Score, testutil.Prob) {
					t.Errorf("%s line %d entity %d: %+v, want %+v", setting, i, j, g, w)
				}
			}
			if len(rels[i]) != len(wantRels[i]) {
				t.Errorf("%s line %d: relations %v, want %v", setting, i, rels[i], wantRels[i])
				continue
			}
			for j, w := range wantRels[i] {
				g := rels[i][j]
				if g.Head != int(w[0].(float64)) || g.Label != w[1].(string) || g.Tail != int(w[2].(float64)) || !testutil.CloseScalar(g.Score, w[3].(float64), testutil.Prob) {
					t.Errorf("%s line %d relation %d: %+v, want %v", setting, i, j, g, w)
				}
				n++
			}
		}
		if !strings.Contains(stderr, fmt.Sprintf("%d relations", n)) {
			t.Errorf("%s: summary %q does not count %d relations", setting, stderr, n)
		}
		compared += n
	}
	if compared != 41 {
		t.Errorf("%d relations compared, want 41", compared)
	}
}

func TestPredictRelationsBadInput(t *testing.T) {
	relex := readFixture(t, relexFixture)
	span := readFixture(t, "uni_span_bert")
	tmp := t.TempDir()
	in := writeFile(t, tmp, "in.txt", "Alice works at Microsoft.\n")
	for name, c := range map[string]struct {
		args []string
		want []string
	}{
		"relex without --relations": {[]string{"--model", relex.dir, "--labels", "person"},
			[]string{relex.dir, "relation-extraction model", "give them with --relations"}},
		"--relations on a span model": {[]string{"--model", span.dir, "--labels", "person", "--relations", "works at"},
			[]string{"--relations is for relation-extraction models", span.dir, "gliner_uni_encoder_span model"}},
		"relation threshold": {[]string{"--model", relex.dir, "--labels", "person", "--relations", "works at", "--relation-threshold", "1.5"},
			[]string{"relation threshold 1.5 outside [0, 1)"}},
	} {
		out := filepath.Join(tmp, strings.ReplaceAll(name, " ", "_")+".jsonl")
		code, stdout, stderr := runCLI(t, append([]string{"predict", "--input", in, "--output", out}, c.args...)...)
		if code != 1 {
			t.Errorf("%s: code %d, stdout %q, stderr %q", name, code, stdout, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: stderr %q does not say %q", name, stderr, w)
			}
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s: output written", name)
		}
	}
}

// evaluate on a relex model with data carrying relations prints the entity
// table and the relation table; both are computed here from the
// reference's decoded output (nested, threshold 0.5).
func TestEvaluateRelations(t *testing.T) {
	f := readFixture(t, relexFixture)
	rx := readRelex(t, f)
	tmp := t.TempDir()
	const setting = "thr=0.500000,flat_ner=False"
	// Gold: text 0 as annotated; text 1 with the reference's predicted
	// entities and its first three predicted relations, so some match.
	pred := f.decoded[setting].Entities
	predRels := rx.decoded[setting]
	type rec struct {
		Words     []string `json:"tokenized_text"`
		NER       [][3]any `json:"ner"`
		Relations [][3]any `json:"relations"`
	}
	recs := []rec{{f.words[0], f.gold[0], rx.gold[0]}, {Words: f.words[1]}}
	for _, e := range pred[1] {
		recs[1].NER = append(recs[1].NER, [3]any{e.Start, e.End, e.EntityType})
	}
	if len(predRels[1]) < 3 {
		t.Fatalf("reference predicts %d relations in text 1, the test needs 3", len(predRels[1]))
	}
	for _, r := range predRels[1][:3] {
		recs[1].Relations = append(recs[1].Relations, [3]any{r[0], r[2], r[1]})
	}
	var lines []string
	for _, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	in := writeFile(t, tmp, "dev.jsonl", strings.Join(lines, "\n")+"\n")

	em := decode.NewMetrics()
	rm := decode.NewRelationMetrics(rx.types)
	for i := range recs {
		var p, g []decode.Span
		for _, e := range pred[i] {
			p = append(p, decode.Span{Start: e.Start, End: e.End, Label: e.EntityType})
		}
		for _, e := range recs[i].NER {
			g = append(g, decode.Span{Start: num(e[0]), End: num(e[1]), Label: e[2].(string)})
		}
		em.Add(p, g)
		var pr, gr []decode.Relation
		for _, r := range predRels[i] {
			pr = append(pr, decode.Relation{Head: num(r[0]), Tail: num(r[2]), Label: r[1].(string)})
		}
		for _, r := range recs[i].Relations {
			gr = append(gr, decode.Relation{Head: num(r[0]), Tail: num(r[1]), Label: r[2].(string)})
		}
		if err := rm.Add(fmt.Sprint(i), p, pr, g, gr); err != nil {
			t.Fatal(err)
		}
	}
	if m := rm.Micro(); m.TP != 3 || m.Predicted != 41 || m.Gold != 5 {
		t.Fatalf("reference relation scores %+v: not the test's premise", m)
	}
	labels := strings.Join(f.labels, ",")
	code, stdout, stderr := runCLI(t, "evaluate", "--model", f.dir, "--data", in, "--labels", labels, "--relations", strings.Join(rx.types, ","), "--flat-ner=false")
	if code != 0 {
		t.Fatalf("code %d: %s", code, stderr)
	}
	want := in + ": 2 documents, labels " + labels + ", threshold 0.5, flat_ner false\n" + em.Table() +
		"\nrelations (strict: both entity spans and the type), types works at,located in,visited, relation threshold 0.5\n" + rm.Table()
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}

	// Without --relations: the data's relation types, sorted.
	code, stdout, stderr = runCLI(t, "evaluate", "--model", f.dir, "--data", in, "--labels", labels, "--flat-ner=false")
	if code != 0 || !strings.Contains(stdout, "types located in,visited,works at, relation threshold 0.5\n") {
		t.Errorf("default relation types: code %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	// Bad input: no relation types anywhere; a gold relation type outside
	// --relations; a gold relation pointing at a missing entity.
	noRels := writeFile(t, tmp, "norels.jsonl", `{"tokenized_text": ["alice", "works"], "ner": [[0, 0, "person"]]}`+"\n")
	badType := writeFile(t, tmp, "badtype.jsonl", `{"tokenized_text": ["alice", "works"], "ner": [[0, 0, "person"]], "relations": [[0, 0, "born in"]]}`+"\n")
	for name, c := range map[string]struct {
		args []string
		want []string
	}{
		"no relation types":     {[]string{"--data", noRels}, []string{"relation-extraction model", "--relations"}},
		"unknown gold type":     {[]string{"--data", badType, "--relations", "works at"}, []string{"badtype.jsonl", `"born in"`, "not in the relation types"}},
		"relations, span model": {[]string{"--data", in, "--relations", "works at", "--model", readFixture(t, "uni_span_bert").dir}, []string{"--relations is for relation-extraction models"}},
	} {
		args := append([]string{"evaluate", "--model", f.dir, "--labels", labels}, c.args...)
		code, stdout, stderr := runCLI(t, args...)
		if code != 1 {
			t.Errorf("%s: code %d, stdout %q", name, code, stdout)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: stderr %q does not say %q", name, stderr, w)
			}
		}
	}
}

func num(v any) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case int:
		return x
	}
	panic(fmt.Sprintf("not a number: %v", v))
}

// Labels that do not occur in the data: all absent is an error, some
// absent a warning.
func TestEvaluateLabelsAbsentFromData(t *testing.T) {
	model := testutil.Fixture(t, "uni_span_bert")
	dev := filepath.Join(testutil.RepoRoot(t), "testdata/sample/dev.jsonl")
	code, _, stderr := runCLI(t, "evaluate", "--model", model, "--data", dev, "--labels", "nothing_here,nor_this")
	if code == 0 || !strings.Contains(stderr, "none of the labels") || !strings.Contains(stderr, "dev.jsonl") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runCLI(t, "evaluate", "--model", model, "--data", dev, "--labels", "person,nothing_here")
	if code != 0 || !strings.Contains(stderr, `warning: labels ["nothing_here"] do not occur`) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
