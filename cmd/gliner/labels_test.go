package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/checkpoints"
)

// TestPredictLogitsTokenAndBiEncoders: --logits works for UniEncoderToken,
// BiEncoderSpan and BiEncoderToken and writes the reference's logits
// (within 1e-4) in its shape.
func TestPredictLogitsTokenAndBiEncoders(t *testing.T) {
	for _, name := range []string{"uni_token_bert", "uni_token_deberta", "bi_span_deberta", "bi_token_deberta"} {
		t.Run(name, func(t *testing.T) {
			f := readFixture(t, name)
			tmp := t.TempDir()
			in := f.examplesJSONL(t, tmp)
			out := filepath.Join(tmp, "out.jsonl")
			lg := filepath.Join(tmp, "logits.safetensors")
			args := []string{"predict", "--model", f.dir, "--input", in, "--labels", strings.Join(f.labels, ","),
				"--output", out, "--logits", lg, "--batch-size", "8"}
			if strings.HasPrefix(name, "bi_") {
				args = append(args, "--labels-tokenizer", f.dir)
			}
			code, stdout, stderr := runCLI(t, args...)
			if code != 0 {
				t.Fatalf("code %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			if got := readPredictions(t, out); len(got) != len(f.words) {
				t.Fatalf("%d output lines, want %d", len(got), len(f.words))
			}
			sf, err := checkpoints.OpenSafetensors(lg)
			if err != nil {
				t.Fatal(err)
			}
			defer sf.Close()
			checkLogitsTensor(t, name, sf, f.logits)
			if md := sf.Metadata(); !strings.Contains(md["labels"], f.labels[0]) {
				t.Errorf("logits metadata %v", md)
			}
		})
	}
}

// TestLabelsEmbedThenPredict: `gliner labels embed` then `predict
// --label-embeddings` (no --labels: all cached labels) writes the same
// entities and logits as encoding the labels per batch; labels as lines or
// a JSON list give the same file.
func TestLabelsEmbedThenPredict(t *testing.T) {
	for _, name := range []string{"bi_span_deberta", "bi_token_deberta"} {
		t.Run(name, func(t *testing.T) {
			f := readFixture(t, name)
			tmp := t.TempDir()
			in := f.examplesJSONL(t, tmp)
			lines := writeFile(t, tmp, "labels.txt", strings.Join(f.labels, "\n")+"\n\n")
			list := writeFile(t, tmp, "labels.json", `["`+strings.Join(f.labels, `", "`)+`"]`)
			emb := filepath.Join(tmp, "labels.safetensors")
			emb2 := filepath.Join(tmp, "labels2.safetensors")
			for _, c := range [][2]string{{lines, emb}, {list, emb2}} {
				code, stdout, stderr := runCLI(t, "labels", "embed", "--model", f.dir, "--labels-tokenizer", f.dir, "--labels", c[0], "--output", c[1])
				if code != 0 {
					t.Fatalf("embed %s: code %d, stdout %q, stderr %q", c[0], code, stdout, stderr)
				}
			}
			a, _ := os.ReadFile(emb)
			b, _ := os.ReadFile(emb2)
			if string(a) != string(b) || len(a) == 0 {
				t.Errorf("lines and JSON list give different files")
			}
			outs := [2]string{filepath.Join(tmp, "enc.jsonl"), filepath.Join(tmp, "cached.jsonl")}
			lgs := [2]string{filepath.Join(tmp, "enc.safetensors"), filepath.Join(tmp, "cached.safetensors")}
			base := []string{"predict", "--model", f.dir, "--labels-tokenizer", f.dir, "--input", in, "--threshold", "0.3", "--flat-ner=false"}
			if code, _, stderr := runCLI(t, append(base, "--labels", strings.Join(f.labels, ","), "--output", outs[0], "--logits", lgs[0])...); code != 0 {
				t.Fatal(stderr)
			}
			if code, _, stderr := runCLI(t, append(base, "--label-embeddings", emb, "--output", outs[1], "--logits", lgs[1])...); code != 0 {
				t.Fatal(stderr)
			}
			p0, _ := os.ReadFile(outs[0])
			p1, _ := os.ReadFile(outs[1])
			if string(p0) != string(p1) {
				t.Errorf("entities differ with cached labels:\n%s\nvs\n%s", p1, p0)
			}
			var vals [2][]float32
			for i, p := range lgs {
				sf, err := checkpoints.OpenSafetensors(p)
				if err != nil {
					t.Fatal(err)
				}
				if vals[i], err = sf.Float32("logits"); err != nil {
					t.Fatal(err)
				}
				sf.Close()
			}
			for i := range vals[0] {
				if d := math.Abs(float64(vals[0][i] - vals[1][i])); d > 1e-6 {
					t.Fatalf("logits[%d]: cached %v, encoded %v", i, vals[1][i], vals[0][i])
				}
			}
		})
	}
}

func TestLabelsEmbedBadInput(t *testing.T) {
	span := readFixture(t, "bi_span_deberta")
	tok := readFixture(t, "bi_token_deberta")
	tmp := t.TempDir()
	labels := writeFile(t, tmp, "labels.txt", strings.Join(span.labels, "\n"))
	empty := writeFile(t, tmp, "empty.txt", "\n \n")
	emptyList := writeFile(t, tmp, "empty.json", "[]")
	emb := filepath.Join(tmp, "tok.safetensors")
	if code, _, stderr := runCLI(t, "labels", "embed", "--model", tok.dir, "--labels-tokenizer", tok.dir, "--labels", labels, "--output", emb); code != 0 {
		t.Fatal(stderr)
	}
	in := span.examplesJSONL(t, tmp)
	out := filepath.Join(tmp, "out.jsonl")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"labels", "embed", "--model", span.dir, "--labels-tokenizer", span.dir, "--labels", empty, "--output", filepath.Join(tmp, "x.safetensors")}, "empty label list"},
		{[]string{"labels", "embed", "--model", span.dir, "--labels-tokenizer", span.dir, "--labels", emptyList, "--output", filepath.Join(tmp, "x.safetensors")}, "empty label list"},
		{[]string{"labels", "embed", "--model", readFixture(t, "uni_span_bert").dir, "--labels", labels, "--output", filepath.Join(tmp, "x.safetensors")}, "no labels encoder"},
		{[]string{"predict", "--model", span.dir, "--labels-tokenizer", span.dir, "--input", in, "--output", out, "--label-embeddings", emb}, "another model"},
		{[]string{"predict", "--model", span.dir, "--labels-tokenizer", span.dir, "--input", in, "--output", out, "--label-embeddings", labels}, "labels.txt"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: code %d, stderr %q, want %q", c.args[:2], code, stderr, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(tmp, "x.safetensors")); err == nil {
		t.Errorf("a failed embed left an output file")
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed predict left an output file")
	}
}
