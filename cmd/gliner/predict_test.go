package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/internal/testutil"
)

type refEntity struct {
	Start      int     `json:"start"`
	End        int     `json:"end"`
	EntityType string  `json:"entity_type"`
	Score      float64 `json:"score"`
}

type fixtureFiles struct {
	dir      string
	examples []json.RawMessage
	words    [][]string
	gold     [][][3]any
	labels   []string
	decoded  map[string]struct {
		Entities [][]refEntity `json:"entities"`
	}
	logits testutil.JSONTensor
}

func readFixture(t *testing.T, name string) *fixtureFiles {
	t.Helper()
	dir := testutil.Fixture(t, name)
	var b struct {
		Examples    []json.RawMessage `json:"examples"`
		EntityTypes []string          `json:"entity_types"`
	}
	testutil.ReadJSON(t, filepath.Join(dir, "batch.json"), &b)
	var e struct {
		Logits  testutil.JSONTensor `json:"logits"`
		Decoded map[string]struct {
			Entities [][]refEntity `json:"entities"`
		} `json:"decoded"`
	}
	testutil.ReadJSON(t, filepath.Join(dir, "expected.json"), &e)
	f := &fixtureFiles{dir: dir, examples: b.Examples, labels: b.EntityTypes, decoded: e.Decoded, logits: e.Logits}
	for _, raw := range b.Examples {
		var ex struct {
			Words []string `json:"tokenized_text"`
			NER   [][3]any `json:"ner"`
		}
		if err := json.Unmarshal(raw, &ex); err != nil {
			t.Fatal(err)
		}
		f.words = append(f.words, ex.Words)
		f.gold = append(f.gold, ex.NER)
	}
	return f
}

// examplesJSONL writes the fixture's examples as a GLiNER JSONL dataset.
func (f *fixtureFiles) examplesJSONL(t *testing.T, dir string) string {
	t.Helper()
	var b bytes.Buffer
	for _, raw := range f.examples {
		var c bytes.Buffer
		if err := json.Compact(&c, raw); err != nil {
			t.Fatal(err)
		}
		b.Write(c.Bytes())
		b.WriteByte('\n')
	}
	return writeFile(t, dir, "examples.jsonl", b.String())
}

type outEntity struct {
	Start, End  int
	Text, Label string
	Score       float64
	StartWord   int `json:"start_word"`
	EndWord     int `json:"end_word"`
}

func readPredictions(t *testing.T, path string) [][]outEntity {
	t.Helper()
	return readEntities[outEntity](t, path)
}

// readEntities reads predict's JSONL output strictly (no unknown field),
// each line's entities as E; every line must hold an entities list.
func readEntities[E any](t *testing.T, path string) [][]E {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]E
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var rec struct {
			Entities []E `json:"entities"`
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			t.Fatalf("output line %q: %v", line, err)
		}
		if rec.Entities == nil {
			t.Fatalf("output line %q: entities is not a list", line)
		}
		out = append(out, rec.Entities)
	}
	return out
}

// checkLogitsTensor checks the "logits" tensor of a --logits file: the
// fixture's shape, every value within testutil.Forward of the fixture's; what prefixes
// the failures.
func checkLogitsTensor(t *testing.T, what string, sf *checkpoints.SafetensorsFile, want testutil.JSONTensor) {
	t.Helper()
	info, ok := sf.Info("logits")
	if !ok || fmtInts(info.Shape) != fmtInts(want.Shape) {
		t.Fatalf("%s: logits %v (present %v), want shape %v", what, info.Shape, ok, want.Shape)
	}
	gl, err := sf.Float32("logits")
	if err != nil {
		t.Fatal(err)
	}
	if !testutil.AssertCloseJSON(t, what+": logits", gl, want, testutil.Forward) {
		t.FailNow()
	}
}

func TestPredictFixtureExamplesMatchReference(t *testing.T) {
	for _, name := range []string{"uni_span_bert", "uni_span_deberta"} {
		t.Run(name, func(t *testing.T) {
			f := readFixture(t, name)
			tmp := t.TempDir()
			in := f.examplesJSONL(t, tmp)
			out := filepath.Join(tmp, "out.jsonl")
			lg := filepath.Join(tmp, "logits.safetensors")
			code, stdout, stderr := runCLI(t, "predict", "--model", f.dir, "--input", in, "--labels", strings.Join(f.labels, ","),
				"--threshold", "0.5", "--output", out, "--logits", lg, "--batch-size", "8", "--flat-ner=true")
			if code != 0 {
				t.Fatalf("code %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			got := readPredictions(t, out)
			want := f.decoded["thr=0.500000,flat_ner=True"].Entities
			if len(got) != len(want) {
				t.Fatalf("%d output lines, want %d", len(got), len(want))
			}
			for i := range want {
				if len(got[i]) != len(want[i]) {
					t.Fatalf("line %d: %d entities, want %d", i+1, len(got[i]), len(want[i]))
				}
				for j, w := range want[i] {
					g := got[i][j]
					if g.StartWord != w.Start || g.EndWord != w.End || g.Label != w.EntityType || !testutil.CloseScalar(g.Score, w.Score, testutil.Prob) {
						t.Errorf("line %d entity %d: %+v, want %+v", i+1, j, g, w)
					}
					// Offsets into the words joined by single spaces.
					text := strings.Join(f.words[i], " ")
					if string([]rune(text)[g.Start:g.End]) != g.Text ||
						g.Text != strings.Join(f.words[i][g.StartWord:g.EndWord+1], " ") {
						t.Errorf("line %d entity %d: characters [%d,%d) %q do not match its words", i+1, j, g.Start, g.End, g.Text)
					}
				}
			}
			sf, err := checkpoints.OpenSafetensors(lg)
			if err != nil {
				t.Fatal(err)
			}
			defer sf.Close()
			if names := sf.Names(); len(names) != 1 || names[0] != "logits" {
				t.Fatalf("logits file holds %v, want [logits]", names)
			}
			checkLogitsTensor(t, name, sf, f.logits)
			md := sf.Metadata()
			if md["format"] != "pt" || md["rows"] != "[[0,0,8],[1,0,7]]" || md["labels"] != `["person","organization","location","date"]` {
				t.Errorf("logits metadata %v", md)
			}
		})
	}
}

func fmtInts(s []int) string { b, _ := json.Marshal(s); return string(b) }

func TestPredictPlainTextKeepsLines(t *testing.T) {
	f := readFixture(t, "uni_span_bert")
	tmp := t.TempDir()
	in := writeFile(t, tmp, "in.txt", "Zoë visited 東京 🙂 today.\n\n"+strings.Join(f.words[1], " ")+"\r\n")
	out := filepath.Join(tmp, "out.jsonl")
	code, _, stderr := runCLI(t, "predict", "--model", f.dir, "--input", in, "--labels", strings.Join(f.labels, ","), "--output", out)
	if code != 0 {
		t.Fatalf("code %d: %s", code, stderr)
	}
	got := readPredictions(t, out)
	if len(got) != 3 || len(got[1]) != 0 {
		t.Fatalf("output %v: want 3 lines, the blank one empty", got)
	}
	// Line 3 is the fixture's second example as text: the same entities.
	want := f.decoded["thr=0.500000,flat_ner=True"].Entities[1]
	if len(got[2]) != len(want) {
		t.Fatalf("line 3: %d entities, want %d", len(got[2]), len(want))
	}
	for j, w := range want {
		if g := got[2][j]; g.StartWord != w.Start || g.EndWord != w.End || g.Label != w.EntityType || !testutil.CloseScalar(g.Score, w.Score, testutil.Prob) {
			t.Errorf("line 3 entity %d: %+v, want %+v", j, g, w)
		}
	}
	r := []rune("Zoë visited 東京 🙂 today.")
	for _, e := range got[0] {
		if string(r[e.Start:e.End]) != e.Text {
			t.Errorf("line 1: %+v does not cut its text", e)
		}
	}
}

// TestPredictBadInputLeavesNoOutput: every failure is a clear error naming
// the problem, and no output file appears (an existing one is untouched).
func TestPredictBadInputLeavesNoOutput(t *testing.T) {
	f := readFixture(t, "uni_span_bert")
	tmp := t.TempDir()
	good := writeFile(t, tmp, "good.txt", "Berlin is big.\n")
	badUTF8 := writeFile(t, tmp, "bad.txt", "fine line\nbad \xff byte\n")
	badJSONL := writeFile(t, tmp, "bad.jsonl", `{"tokenized_text": ["a", "b"], "ner": []}`+"\n"+`{"tokenized_text": ["a"], "ner": [[0, 3, "x"]]}`+"\n")
	noWeights := t.TempDir()
	for _, file := range []string{"gliner_config.json", "tokenizer/vocab.txt", "tokenizer/tokenizer_config.json", "tokenizer/added_tokens.json", "tokenizer/special_tokens_map.json"} {
		b, err := os.ReadFile(filepath.Join(f.dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(noWeights, file)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(noWeights, file), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	labels := strings.Join(f.labels, ",")
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"missing weights": {[]string{"--model", noWeights, "--input", good, "--labels", labels}, noWeights + ": missing weights: neither model.safetensors nor pytorch_model.bin"},
		"empty labels":    {[]string{"--model", f.dir, "--input", good, "--labels", ""}, "--labels is empty"},
		"no labels":       {[]string{"--model", f.dir, "--input", good}, "--labels is empty"},
		"blank label":     {[]string{"--model", f.dir, "--input", good, "--labels", "person, "}, "labels"},
		"bad utf-8":       {[]string{"--model", f.dir, "--input", badUTF8, "--labels", labels}, "bad.txt:2: invalid UTF-8"},
		"bad record":      {[]string{"--model", f.dir, "--input", badJSONL, "--labels", labels}, "bad.jsonl:2: ner[0]"},
		"missing input":   {[]string{"--model", f.dir, "--input", filepath.Join(tmp, "nope.txt"), "--labels", labels}, "nope.txt"},
		"threshold":       {[]string{"--model", f.dir, "--input", good, "--labels", labels, "--threshold", "2"}, "threshold 2"},
	} {
		out := filepath.Join(tmp, strings.ReplaceAll(name, " ", "_")+".jsonl")
		lg := filepath.Join(tmp, strings.ReplaceAll(name, " ", "_")+".safetensors")
		code, stdout, stderr := runCLI(t, append([]string{"predict", "--output", out, "--logits", lg}, c.args...)...)
		if code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: code %d, stderr %q, want %q (stdout %q)", name, code, stderr, c.want, stdout)
		}
		for _, p := range []string{out, lg} {
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Errorf("%s: %s was written", name, filepath.Base(p))
			}
		}
	}
	// An existing output file is left untouched by a failed run.
	out := writeFile(t, tmp, "keep.jsonl", "old\n")
	if code, _, _ := runCLI(t, "predict", "--model", f.dir, "--input", badUTF8, "--labels", labels, "--output", out); code != 1 {
		t.Fatalf("bad input accepted")
	}
	if b, _ := os.ReadFile(out); string(b) != "old\n" {
		t.Errorf("existing output changed to %q", b)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 4 {
		t.Errorf("temporary files left: %d entries in %s", len(ents), tmp)
	}
}

func TestEvaluateMatchesReferenceDecodingScores(t *testing.T) {
	f := readFixture(t, "uni_span_bert")
	tmp := t.TempDir()
	in := f.examplesJSONL(t, tmp)
	// The reference's model.evaluate decodes nested (flat_ner=False) at 0.5;
	// --flat-ner=false asks for that.
	m := decode.NewMetrics()
	for i, ents := range f.decoded["thr=0.500000,flat_ner=False"].Entities {
		pred := make([]decode.Span, len(ents))
		for j, e := range ents {
			pred[j] = decode.Span{Start: e.Start, End: e.End, Label: e.EntityType}
		}
		gold := make([]decode.Span, len(f.gold[i]))
		for j, g := range f.gold[i] {
			gold[j] = decode.Span{Start: int(g[0].(float64)), End: int(g[1].(float64)), Label: g[2].(string)}
		}
		m.Add(pred, gold)
	}
	if m.Micro().Predicted == 0 || m.Micro().TP == 0 {
		t.Fatalf("reference decoding gives %+v: too weak a test", m.Micro())
	}
	code, stdout, stderr := runCLI(t, "evaluate", "--model", f.dir, "--data", in, "--labels", strings.Join(f.labels, ","), "--flat-ner=false")
	if code != 0 {
		t.Fatalf("code %d: %s", code, stderr)
	}
	want := in + ": 2 documents, labels person,organization,location,date, threshold 0.5, flat_ner false\n" + m.Table()
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}
	// Default labels: every label of the data, sorted.
	code, stdout, stderr = runCLI(t, "evaluate", "--model", f.dir, "--data", in)
	if code != 0 || !strings.HasPrefix(stdout, in+": 2 documents, labels date,location,organization,person,") || !strings.Contains(stdout, "micro") {
		t.Errorf("default labels: code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// Errors.
	noEnts := writeFile(t, tmp, "none.jsonl", `{"tokenized_text": ["a"], "ner": []}`+"\n")
	if code, _, stderr := runCLI(t, "evaluate", "--model", f.dir, "--data", noEnts); code != 1 || !strings.Contains(stderr, "has no entities: give --labels") {
		t.Errorf("no entities: code %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "evaluate", "--model", f.dir, "--data", in, "--labels", ""); code != 1 || !strings.Contains(stderr, "--labels is empty") {
		t.Errorf("empty labels: code %d, stderr %q", code, stderr)
	}
}

func TestExportCommand(t *testing.T) {
	f := readFixture(t, "uni_span_deberta")
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
	// The exported folder predicts like the original.
	in := f.examplesJSONL(t, t.TempDir())
	o1, o2 := filepath.Join(t.TempDir(), "a.jsonl"), filepath.Join(t.TempDir(), "b.jsonl")
	for _, c := range [][2]string{{f.dir, o1}, {out, o2}} {
		if code, _, stderr := runCLI(t, "predict", "--model", c[0], "--input", in, "--labels", strings.Join(f.labels, ","), "--output", c[1]); code != 0 {
			t.Fatalf("predict with %s: %s", c[0], stderr)
		}
	}
	a, _ := os.ReadFile(o1)
	b, _ := os.ReadFile(o2)
	if !bytes.Equal(a, b) || len(a) == 0 {
		t.Errorf("exported model predicts differently:\n%s\n%s", b, a)
	}
	if code, _, stderr := runCLI(t, "export", "--model", f.dir, "--output", out); code != 1 || !strings.Contains(stderr, "not empty: pass --overwrite") || strings.Contains(stderr, "Overwrite /") {
		t.Errorf("second export: code %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "export", "--model", f.dir, "--output", out, "--overwrite"); code != 0 {
		t.Errorf("--overwrite: code %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "export", "--output", out); code != 1 || !strings.Contains(stderr, "model") {
		t.Errorf("no --model: code %d, stderr %q", code, stderr)
	}
}

// TestExportFromPytorchBin converts a folder holding only pytorch_model.bin
// into the safetensors layout: the result is byte-identical to the
// reference's own model.safetensors.
func TestExportFromPytorchBin(t *testing.T) {
	f := readFixture(t, "uni_span_bert")
	src := t.TempDir()
	for _, file := range []string{"gliner_config.json", "pytorch_model.bin", "tokenizer/vocab.txt", "tokenizer/tokenizer_config.json",
		"tokenizer/added_tokens.json", "tokenizer/special_tokens_map.json"} {
		b, err := os.ReadFile(filepath.Join(f.dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(src, file)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, file), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "converted")
	if code, _, stderr := runCLI(t, "export", "--model", src, "--output", out); code != 0 {
		t.Fatalf("export: %s", stderr)
	}
	a, _ := os.ReadFile(filepath.Join(f.dir, "model.safetensors"))
	b, err := os.ReadFile(filepath.Join(out, "model.safetensors"))
	if err != nil || !bytes.Equal(a, b) {
		t.Errorf("converted model.safetensors differs from the reference's (%v)", err)
	}
}

// TestPredictLogitsPerBatch: with several batches the logits file holds
// logits.0, logits.1, ... each with its rows.
func TestPredictLogitsPerBatch(t *testing.T) {
	f := readFixture(t, "uni_span_bert")
	tmp := t.TempDir()
	in := f.examplesJSONL(t, tmp)
	out, lg := filepath.Join(tmp, "out.jsonl"), filepath.Join(tmp, "l.safetensors")
	code, _, stderr := runCLI(t, "predict", "--model", f.dir, "--input", in, "--labels", strings.Join(f.labels, ","),
		"--output", out, "--logits", lg, "--batch-size", "1")
	if code != 0 {
		t.Fatalf("code %d: %s", code, stderr)
	}
	sf, err := checkpoints.OpenSafetensors(lg)
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	if names := strings.Join(sf.Names(), ","); names != "logits.0,logits.1" {
		t.Fatalf("tensors %s, want logits.0,logits.1", names)
	}
	wl, err := f.logits.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	// Batch b alone has W = its own word count: compare with the
	// reference's rows cut to that width.
	W, K, C := f.logits.Shape[1], f.logits.Shape[2], f.logits.Shape[3]
	for b, name := range []string{"logits.0", "logits.1"} {
		info, _ := sf.Info(name)
		w := len(f.words[b])
		if fmtInts(info.Shape) != fmtInts([]int{1, w, K, C}) {
			t.Fatalf("%s shape %v, want [1 %d %d %d]", name, info.Shape, w, K, C)
		}
		got, err := sf.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		// The reference's tensor's scale, not this row's, sets the
		// absolute bound.
		tol := testutil.Forward
		tol.Floor = testutil.Scale(wl, 0)
		testutil.AssertClose(t, name, got, wl[b*W*K*C:b*W*K*C+len(got)], info.Shape, tol)
	}
	if md := sf.Metadata(); md["rows.0"] != "[[0,0,8]]" || md["rows.1"] != "[[1,0,7]]" {
		t.Errorf("metadata %v", md)
	}
}

// TestPredictRawTextRecords: JSONL records {"text", ...} get offsets into
// their own text (here with irregular spacing), not the joined words.
func TestPredictRawTextRecords(t *testing.T) {
	f := readFixture(t, "uni_span_bert")
	tmp := t.TempDir()
	text := "Berlin   is the\tcapital of  Germany ."
	in := writeFile(t, tmp, "raw.jsonl", `{"text": "Berlin   is the\tcapital of  Germany .", "entities": []}`+"\n")
	out := filepath.Join(tmp, "out.jsonl")
	if code, _, stderr := runCLI(t, "predict", "--model", f.dir, "--input", in, "--labels", strings.Join(f.labels, ","), "--output", out); code != 0 {
		t.Fatalf("predict: %s", stderr)
	}
	got := readPredictions(t, out)
	want := f.decoded["thr=0.500000,flat_ner=True"].Entities[1]
	if len(got) != 1 || len(got[0]) != len(want) {
		t.Fatalf("got %v, want %d entities", got, len(want))
	}
	r := []rune(text)
	for j, e := range got[0] {
		if e.StartWord != want[j].Start || e.EndWord != want[j].End || string(r[e.Start:e.End]) != e.Text {
			t.Errorf("entity %d: %+v (reference words %d-%d)", j, e, want[j].Start, want[j].End)
		}
	}
	// "capital of  Germany" style spans keep the original spacing.
	for _, e := range got[0] {
		if e.StartWord == 4 && e.EndWord == 5 && e.Text != "of  Germany" {
			t.Errorf("text %q, want the original spacing", e.Text)
		}
	}
}
