package onnx

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/models"
)

// TestMeasureQuantize measures the float32 and int8 exports of a trained
// model folder given by GLINER_ONNX_MEASURE_MODEL (e.g. the sample run's
// final/) on testdata/sample/dev.jsonl: file size, onnxruntime time per
// pass over the dev set (one thread, median of 5) and flat-NER F1 at 0.5
// decoded by gliner-go from onnxruntime's logits. It reports numbers; it
// asserts only that the float32 export's F1 equals gliner-go's own.
func TestMeasureQuantize(t *testing.T) {
	dir := os.Getenv("GLINER_ONNX_MEASURE_MODEL")
	if dir == "" {
		t.Skip("set GLINER_ONNX_MEASURE_MODEL to a trained UniEncoderSpan folder to measure")
	}
	js := jsDir(t)
	m, err := models.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	exs, err := data.ReadFile(filepath.Join(testutil.RepoRoot(t), "testdata", "sample", "dev.jsonl"), data.ReadOptions{}, data.FailFast, nil)
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, ex := range exs {
		for _, e := range ex.Entities {
			set[e.Label] = true
		}
	}
	var labels []string
	for l := range set {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	cc := data.DefaultCollatorConfig(data.UniEncoderSpan)
	cc.MaxWidth, cc.MaxTypes, cc.MaxLen = m.Cfg.MaxWidth, m.Cfg.MaxTypes, m.Cfg.MaxLen
	cc.EntToken, cc.SepToken = m.Cfg.EntToken, m.Cfg.SepToken
	col, err := data.NewCollator(cc, tok, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var batches []*data.Batch
	var feeds []map[string]jsTensor
	for lo := 0; lo < len(exs); lo += 8 {
		b, err := col.Inference(exs[lo:min(lo+8, len(exs))], labels, nil)
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, b)
		feeds = append(feeds, feedsOf(m, b, nil))
	}
	tmp := t.TempDir()
	fp := filepath.Join(tmp, "feeds.json")
	raw, _ := json.Marshal(feeds)
	os.WriteFile(fp, raw, 0o644)
	opts := decode.Options{Threshold: 0.5, FlatNER: true}
	f1 := func(logits func(i int) autograd.Value) float64 {
		met := decode.NewMetrics()
		lo := 0
		for i, b := range batches {
			got, err := m.Decode(&models.Output{Logits: logits(i)}, b, opts)
			if err != nil {
				t.Fatal(err)
			}
			n := len(got)
			gold := make([][]decode.Span, n)
			for j, ex := range exs[lo : lo+n] {
				for _, e := range ex.Entities {
					gold[j] = append(gold[j], decode.Span{Start: e.Start, End: e.End, Label: e.Label})
				}
			}
			if err := met.AddBatch(got, gold); err != nil {
				t.Fatal(err)
			}
			lo += n
		}
		return met.Micro().F1
	}
	goOut := make([]autograd.Value, len(batches))
	t0 := time.Now()
	for i, b := range batches {
		o, err := m.Forward(b)
		if err != nil {
			t.Fatal(err)
		}
		goOut[i] = o.Logits
	}
	goTime := time.Since(t0)
	goF1 := f1(func(i int) autograd.Value { return goOut[i] })
	t.Logf("gliner-go: F1 %.4f, first pass %v", goF1, goTime)
	for _, q := range []string{"", Int8} {
		model, err := Marshal(m, Options{Quantize: q})
		if err != nil {
			t.Fatal(err)
		}
		mp := filepath.Join(tmp, "model"+q+".onnx")
		os.WriteFile(mp, model, 0o644)
		op := filepath.Join(tmp, "out"+q+".json")
		if out, err := exec.Command("node", filepath.Join(js, "bench.mjs"), mp, fp, op, "5").CombinedOutput(); err != nil {
			t.Fatalf("bench: %v\n%s", err, out)
		}
		var res struct {
			MS      []float64             `json:"ms"`
			Outputs []map[string]jsTensor `json:"outputs"`
		}
		testutil.ReadJSON(t, op, &res)
		slices.Sort(res.MS)
		score := f1(func(i int) autograd.Value {
			lg := res.Outputs[i]["logits"]
			f := make([]float32, len(lg.Data))
			for j, v := range lg.Data {
				f[j] = float32(v)
			}
			return autograd.Value{Shape: lg.Dims, F: f}
		})
		name := map[string]string{"": "float32", Int8: "int8"}[q]
		t.Logf("%s: %d bytes, onnxruntime %.1f ms per dev pass (median of %d, %d texts), F1 %.4f (gliner-go %.4f)",
			name, len(model), res.MS[len(res.MS)/2], len(res.MS), len(exs), score, goF1)
		if q == "" && score != goF1 {
			t.Errorf("float32 export F1 %.4f, gliner-go %.4f", score, goF1)
		}
	}
}
