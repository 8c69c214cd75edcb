package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/infer"
	"github.com/gliner-go/gliner/internal/testutil"
)

const decoderFixture = "uni_span_decoder_deberta"

type genEntity struct {
	outEntity
	Generated []string `json:"generated_labels"`
}

// readGenPredictions reads predict's output for a span decoder: every
// entity must carry generated_labels (one label).
func readGenPredictions(t *testing.T, path string) [][]genEntity {
	t.Helper()
	out := readEntities[genEntity](t, path)
	for i, ents := range out {
		for _, e := range ents {
			if len(e.Generated) != 1 {
				t.Fatalf("output line %d: entity %+v without one generated label", i+1, e)
			}
		}
	}
	return out
}

// gliner predict on the span-decoder fixture, enrich and replace: the
// reference's entities (threshold 0.5, flat), each with the label its
// decoder generated — the same labels the pipeline generates in process
// (infer's tests compare those with the reference's) — and, under replace,
// that label (trimmed) as the entity's label; --logits writes the entity
// logits as for span models.
func TestPredictSpanDecoderLabelModes(t *testing.T) {
	f := readFixture(t, decoderFixture)
	tmp := t.TempDir()
	in := f.examplesJSONL(t, tmp)
	want := f.decoded["thr=0.500000,flat_ner=True"].Entities
	p, err := infer.Load(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	p.Model.Loss.ReferenceCompat = true
	exs := make([]data.Example, len(f.words))
	for i, w := range f.words {
		exs[i] = data.Example{Words: w}
	}
	o := infer.DefaultOptions()
	o.MaxNewTokens, o.LabelMode = 8, infer.LabelModeEnrich
	inProcess, err := p.PredictExamples(exs, f.labels, o)
	if err != nil {
		t.Fatal(err)
	}
	run := func(mode string) [][]genEntity {
		t.Helper()
		out := filepath.Join(tmp, mode+".jsonl")
		lg := filepath.Join(tmp, mode+".safetensors")
		code, stdout, stderr := runCLI(t, "predict", "--model", f.dir, "--input", in, "--labels", strings.Join(f.labels, ","),
			"--output", out, "--logits", lg, "--label-mode", mode, "--max-new-tokens", "8", "--reference-compat")
		if code != 0 {
			t.Fatalf("%s: code %d, stdout %q, stderr %q", mode, code, stdout, stderr)
		}
		sf, err := checkpoints.OpenSafetensors(lg)
		if err != nil {
			t.Fatal(err)
		}
		defer sf.Close()
		checkLogitsTensor(t, mode, sf, f.logits)
		return readGenPredictions(t, out)
	}
	enrich, replace := run("enrich"), run("replace")
	n := 0
	for i := range want {
		if len(enrich[i]) != len(want[i]) || len(replace[i]) != len(want[i]) {
			t.Fatalf("line %d: %d/%d entities (enrich/replace), want %d", i+1, len(enrich[i]), len(replace[i]), len(want[i]))
		}
		for j, w := range want[i] {
			e, r, ip := enrich[i][j], replace[i][j], inProcess.Entities[i][j]
			if e.StartWord != w.Start || e.EndWord != w.End || e.Label != w.EntityType || !testutil.CloseScalar(e.Score, w.Score, testutil.Prob) {
				t.Errorf("enrich line %d entity %d: %+v, want %+v", i+1, j, e, w)
			}
			if e.Generated[0] != ip.GeneratedLabels[0] {
				t.Errorf("enrich line %d entity %d: generated %q, in process %q", i+1, j, e.Generated[0], ip.GeneratedLabels[0])
			}
			if r.StartWord != e.StartWord || r.EndWord != e.EndWord || r.Score != e.Score || r.Generated[0] != e.Generated[0] ||
				r.Label != strings.TrimSpace(e.Generated[0]) || r.Label == w.EntityType {
				t.Errorf("replace line %d entity %d: %+v, want enrich's %+v labelled %q", i+1, j, r, e, strings.TrimSpace(e.Generated[0]))
			}
			n++
		}
	}
	if n != 5 {
		t.Errorf("%d entities compared, want 5", n)
	}
	// Constrained: replace relabels with given labels only.
	out := filepath.Join(tmp, "constrained.jsonl")
	if code, _, stderr := runCLI(t, "predict", "--model", f.dir, "--input", in, "--labels", strings.Join(f.labels, ","),
		"--output", out, "--label-mode", "replace", "--constrain-labels"); code != 0 {
		t.Fatalf("constrained: %s", stderr)
	}
	for i, ents := range readGenPredictions(t, out) {
		for _, e := range ents {
			if !strings.Contains(","+strings.Join(f.labels, ",")+",", ","+e.Label+",") || strings.TrimSpace(e.Generated[0]) != e.Label {
				t.Errorf("constrained line %d: %+v not relabelled with one of %v", i+1, e, f.labels)
			}
		}
	}
}

// Bad input: a decoder tokenizer whose vocabulary does not match the
// checkpoint (error names its folder), an unknown label mode, generation
// flags on a model without a decoder; no output is written.
func TestPredictSpanDecoderBadInput(t *testing.T) {
	f := readFixture(t, decoderFixture)
	span := readFixture(t, "uni_span_bert")
	tmp := t.TempDir()
	in := writeFile(t, tmp, "in.txt", "berlin is the capital of germany .\n")
	bad := filepath.Join(tmp, "bad_decoder_tokenizer")
	testutil.CopyWithExtraVocab(t, filepath.Join(f.dir, "decoder_tokenizer"), bad, "zzzextra", 0) // 271 ids for the decoder's 270 rows
	labels := strings.Join(f.labels, ",")
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"vocabulary": {[]string{"--model", f.dir, "--decoder-tokenizer", bad, "--labels", labels}, bad + ": vocabulary of"},
		"mode":       {[]string{"--model", f.dir, "--label-mode", "rename", "--labels", labels}, `unknown generated-label mode "rename"`},
		"span mode":  {[]string{"--model", span.dir, "--label-mode", "replace", "--labels", labels}, "--label-mode is for span-decoder models"},
		"span max":   {[]string{"--model", span.dir, "--max-new-tokens", "4", "--labels", labels}, "--max-new-tokens is for span-decoder models"},
	} {
		out := filepath.Join(tmp, strings.ReplaceAll(name, " ", "_")+".jsonl")
		code, stdout, stderr := runCLI(t, append([]string{"predict", "--input", in, "--output", out}, c.args...)...)
		if code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: code %d, stderr %q, want %q (stdout %q)", name, code, stderr, c.want, stdout)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s: output written", name)
		}
	}
}

// Generation strategies from the command line: beam search and seeded
// sampling give one generated label per entity; the same seed gives the
// same output; bad strategy flags are refused.
func TestPredictDecoderSearchFlags(t *testing.T) {
	f := readFixture(t, decoderFixture)
	tmp := t.TempDir()
	in := f.examplesJSONL(t, tmp)
	run := func(name string, extra ...string) (int, string) {
		t.Helper()
		out := filepath.Join(tmp, name+".jsonl")
		args := append([]string{"predict", "--model", f.dir, "--input", in, "--labels", strings.Join(f.labels, ","), "--output", out}, extra...)
		code, _, stderr := runCLI(t, args...)
		if code != 0 {
			return code, stderr
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		readGenPredictions(t, out)
		return 0, string(b)
	}
	if code, msg := run("beam", "--num-beams", "3", "--length-penalty", "0.6"); code != 0 {
		t.Fatalf("beam search: %s", msg)
	}
	_, a := run("s1", "--sample", "--temperature", "2", "--seed", "5")
	_, b := run("s2", "--sample", "--temperature", "2", "--seed", "5")
	if a != b || a == "" {
		t.Errorf("the same seed gave different outputs:\n%s\n%s", a, b)
	}
	for _, bad := range [][]string{{"--num-beams", "0"}, {"--sample", "--num-beams", "2"}, {"--sample", "--top-p", "0"}} {
		if code, msg := run("bad", bad...); code == 0 || !strings.Contains(msg, bad[len(bad)-2]) {
			t.Errorf("%v: code %d, %q", bad, code, msg)
		}
	}
}
