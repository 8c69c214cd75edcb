package onnx

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/models"
)

// jsTensor is run.mjs's tensor encoding.
type jsTensor struct {
	DType string    `json:"dtype,omitempty"`
	Shape []int     `json:"shape,omitempty"`
	Dims  []int     `json:"dims,omitempty"`
	Data  []float64 `json:"data"`
}

// jsDir is onnx/js with its installed node_modules. Without them the test
// fails when GLINER_REQUIRE_ORT is set (.ci/run sets it after installing
// them) and is skipped otherwise, naming the command that installs them.
func jsDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(testutil.RepoRoot(t), "onnx", "js")
	_, err := os.Stat(filepath.Join(dir, "node_modules", "onnxruntime-node"))
	if err == nil {
		_, err = exec.LookPath("node")
	}
	if err != nil {
		msg := fmt.Sprintf("onnxruntime-node is not installed (%v); run `npm ci --ignore-scripts --prefix onnx/js` (scripts/setup.sh does)", err)
		if os.Getenv("GLINER_REQUIRE_ORT") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// ortRun runs the ONNX model with onnxruntime (through onnx/js/run.mjs).
func ortRun(t *testing.T, model []byte, feeds map[string]jsTensor) map[string]jsTensor {
	t.Helper()
	js := jsDir(t)
	tmp := t.TempDir()
	mp, ip, op := filepath.Join(tmp, "model.onnx"), filepath.Join(tmp, "in.json"), filepath.Join(tmp, "out.json")
	if err := os.WriteFile(mp, model, 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := json.Marshal(feeds)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ip, in, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", filepath.Join(js, "run.mjs"), mp, ip, op)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("onnxruntime: %v\n%s", err, out)
	}
	var res map[string]jsTensor
	testutil.ReadJSON(t, op, &res)
	return res
}

func ints64(v []int64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// feedsOf is the reference's ONNX inputs for a gliner-go batch.
func feedsOf(m *models.Model, b *data.Batch, labelEmb []float32) map[string]jsTensor {
	B := b.InputIDs.Shape[0]
	f := map[string]jsTensor{
		"input_ids":      {DType: "int64", Shape: b.InputIDs.Shape, Data: ints64(b.InputIDs.Data)},
		"attention_mask": {DType: "int64", Shape: b.AttentionMask.Shape, Data: ints64(b.AttentionMask.Data)},
		"words_mask":     {DType: "int64", Shape: b.WordsMask.Shape, Data: ints64(b.WordsMask.Data)},
		"text_lengths":   {DType: "int64", Shape: []int{B, 1}, Data: ints64(b.TextLengths.Data)},
	}
	if !m.Arch.TokenLevel() {
		f["span_idx"] = jsTensor{DType: "int64", Shape: b.SpanIdx.Shape, Data: ints64(b.SpanIdx.Data)}
		sm := make([]float64, len(b.SpanMask.Data))
		for i, v := range b.SpanMask.Data {
			if v {
				sm[i] = 1
			}
		}
		f["span_mask"] = jsTensor{DType: "bool", Shape: b.SpanMask.Shape, Data: sm}
	}
	if m.Arch == models.BiEncoderSpan || m.Arch == models.BiEncoderToken {
		if labelEmb != nil {
			d := make([]float64, len(labelEmb))
			for i, v := range labelEmb {
				d[i] = float64(v)
			}
			f["labels_embeddings"] = jsTensor{DType: "float32", Shape: []int{len(labelEmb) / m.Cfg.HiddenSize, m.Cfg.HiddenSize}, Data: d}
		} else {
			f["labels_input_ids"] = jsTensor{DType: "int64", Shape: b.LabelsInputIDs.Shape, Data: ints64(b.LabelsInputIDs.Data)}
			f["labels_attention_mask"] = jsTensor{DType: "int64", Shape: b.LabelsAttentionMask.Shape, Data: ints64(b.LabelsAttentionMask.Data)}
		}
	}
	return f
}

func maxDiff(t *testing.T, what string, got jsTensor, wantShape []int, want []float32) float64 {
	t.Helper()
	if fmt.Sprint(got.Dims) != fmt.Sprint(wantShape) {
		t.Fatalf("%s: onnxruntime logits have shape %v, want %v", what, got.Dims, wantShape)
	}
	if len(got.Data) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got.Data), len(want))
	}
	d := 0.0
	for i, v := range want {
		d = math.Max(d, math.Abs(got.Data[i]-float64(v)))
		if math.IsNaN(got.Data[i]) {
			t.Fatalf("%s: value %d is NaN", what, i)
		}
	}
	return d
}

// fixtureBatch is batch.json's collated inference batch as gliner-go's
// data.Batch.
func fixtureBatch(t *testing.T, dir string, maxWidth int) *data.Batch {
	t.Helper()
	var raw struct {
		C map[string]json.RawMessage `json:"collated_inference"`
	}
	testutil.ReadJSON(t, filepath.Join(dir, "batch.json"), &raw)
	tensor := func(name string) (data.Tensor[int64], bool) {
		r, ok := raw.C[name]
		if !ok {
			return data.Tensor[int64]{}, false
		}
		var jt testutil.JSONTensor
		if err := json.Unmarshal(r, &jt); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		v, err := jt.Int64s()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return data.Tensor[int64]{Shape: jt.Shape, Data: v}, true
	}
	must := func(name string) data.Tensor[int64] {
		v, ok := tensor(name)
		if !ok {
			t.Fatalf("batch.json: no collated_inference %s", name)
		}
		return v
	}
	b := &data.Batch{MaxWidth: maxWidth}
	b.InputIDs, b.AttentionMask, b.WordsMask, b.TextLengths = must("input_ids"), must("attention_mask"), must("words_mask"), must("text_lengths")
	if si, ok := tensor("span_idx"); ok {
		b.SpanIdx = si
		sm := must("span_mask")
		b.SpanMask = data.Tensor[bool]{Shape: sm.Shape, Data: make([]bool, len(sm.Data))}
		for i, v := range sm.Data {
			b.SpanMask.Data[i] = v != 0
		}
		b.NumWords = si.Shape[1] / maxWidth
	} else {
		for _, n := range b.TextLengths.Data {
			b.NumWords = max(b.NumWords, int(n))
		}
	}
	if li, ok := tensor("labels_input_ids"); ok {
		b.LabelsInputIDs, b.LabelsAttentionMask = li, must("labels_attention_mask")
	}
	var one map[string]string
	if err := json.Unmarshal(raw.C["id_to_classes"], &one); err != nil {
		var each []map[string]string
		if err2 := json.Unmarshal(raw.C["id_to_classes"], &each); err2 != nil || len(each) == 0 {
			t.Fatalf("id_to_classes: %v / %v", err, err2)
		}
		one = each[0]
	}
	names := make([]string, len(one))
	for k, v := range one {
		var i int
		fmt.Sscan(k, &i)
		names[i-1] = v
	}
	for range b.InputIDs.Shape[0] {
		b.IDToClass = append(b.IDToClass, names)
	}
	b.NumClasses = len(names)
	return b
}

var collatorArch = map[models.Architecture]data.Architecture{
	models.UniEncoderSpan: data.UniEncoderSpan, models.UniEncoderToken: data.UniEncoderToken,
	models.BiEncoderSpan: data.BiEncoderSpan, models.BiEncoderToken: data.BiEncoderToken,
	models.UniEncoderSpanRelex: data.UniEncoderSpanRelex, models.UniEncoderTokenRelex: data.UniEncoderTokenRelex,
	// The decoders' encoder part takes the uni-encoders' batches.
	models.UniEncoderSpanDecoder: data.UniEncoderSpan, models.UniEncoderTokenDecoder: data.UniEncoderToken,
}

// otherExamples are three texts, one longer than any of the fixtures'.
var otherExamples = []data.Example{
	{Words: []string{"john", "smith", "went", "to", "paris", "in", "june", "and", "met", "the", "president", "of", "france", "there"}},
	{Words: []string{"the", "company", "is", "new"}},
	{Words: []string{"hello"}},
}

// newCollator is the fixture model's inference collator.
func newCollator(t *testing.T, m *models.Model, dir string) *data.Collator {
	t.Helper()
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer"))
	if err != nil {
		t.Fatal(err)
	}
	cc := data.DefaultCollatorConfig(collatorArch[m.Arch])
	cc.MaxWidth, cc.MaxTypes, cc.MaxLen = m.Cfg.MaxWidth, m.Cfg.MaxTypes, m.Cfg.MaxLen
	cc.EntToken, cc.SepToken = m.Cfg.EntToken, m.Cfg.SepToken
	var aux tokenizer.Tokenizer
	if m.Arch == models.BiEncoderSpan || m.Arch == models.BiEncoderToken {
		aux = tok
	}
	col, err := data.NewCollator(cc, tok, aux, 0)
	if err != nil {
		t.Fatal(err)
	}
	return col
}

// otherBatch collates three examples, one longer than any of batch.json's,
// against two labels: another batch size, length, word count and class
// count than the fixture's batch.
func otherBatch(t *testing.T, m *models.Model, dir string) *data.Batch {
	t.Helper()
	b, err := newCollator(t, m, dir).Inference(otherExamples, []string{"person", "location"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkORT exports the fixture model and runs the file with onnxruntime on
// the fixture's inference batch and on another batch; the logits must be
// within 1e-4 of gliner-go's and of the reference's (expected.json).
func checkORT(t *testing.T, fixture string, o Options) {
	dir := testutil.Fixture(t, fixture)
	m, err := models.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	model, err := Marshal(m, o)
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Logits testutil.JSONTensor `json:"logits"`
	}
	testutil.ReadJSON(t, filepath.Join(dir, "expected.json"), &exp)
	want, err := exp.Logits.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		b    *data.Batch
	}{{"batch.json", fixtureBatch(t, dir, m.Cfg.MaxWidth)}, {"other batch", otherBatch(t, m, dir)}} {
		var emb []float32
		var out *models.Output
		if o.LabelEmbeddings {
			le, err := m.EncodeLabels(bc.b.LabelsInputIDs, bc.b.LabelsAttentionMask)
			if err != nil {
				t.Fatal(err)
			}
			emb = le.F
			out, err = m.ForwardWithLabelEmbeddings(bc.b, le)
			if err != nil {
				t.Fatal(err)
			}
		} else if out, err = m.Forward(bc.b); err != nil {
			t.Fatal(err)
		}
		res := ortRun(t, model, feedsOf(m, bc.b, emb))
		got, ok := res["logits"]
		if !ok {
			t.Fatalf("%s: no logits output", bc.name)
		}
		d := maxDiff(t, bc.name+" vs gliner-go", got, out.Logits.Shape, out.Logits.F)
		t.Logf("%s %s (B=%d, T=%d): max |onnxruntime − gliner-go| = %.3g", fixture, bc.name, bc.b.InputIDs.Shape[0], bc.b.InputIDs.Shape[1], d)
		if d > 1e-4 {
			t.Errorf("%s: onnxruntime logits differ from gliner-go's by %g (> 1e-4)", bc.name, d)
		}
		if bc.name == "batch.json" {
			dr := maxDiff(t, "batch.json vs reference", got, exp.Logits.Shape, want)
			t.Logf("%s batch.json: max |onnxruntime − reference| = %.3g", fixture, dr)
			if dr > 1e-4 {
				t.Errorf("batch.json: onnxruntime logits differ from the reference's by %g (> 1e-4)", dr)
			}
		}
	}
}

func TestORTUniSpanDeBERTa(t *testing.T)  { checkORT(t, "uni_span_deberta", Options{}) }
func TestORTUniSpanBERT(t *testing.T)     { checkORT(t, "uni_span_bert", Options{}) }
func TestORTUniTokenDeBERTa(t *testing.T) { checkORT(t, "uni_token_deberta", Options{}) }
func TestORTUniTokenBERT(t *testing.T)    { checkORT(t, "uni_token_bert", Options{}) }
func TestORTBiSpan(t *testing.T)          { checkORT(t, "bi_span_deberta", Options{}) }
func TestORTBiToken(t *testing.T)         { checkORT(t, "bi_token_deberta", Options{}) }
func TestORTBiSpanLabelEmbeddings(t *testing.T) {
	checkORT(t, "bi_span_deberta", Options{LabelEmbeddings: true})
}
func TestORTBiTokenLabelEmbeddings(t *testing.T) {
	checkORT(t, "bi_token_deberta", Options{LabelEmbeddings: true})
}

// The decoder architectures' encoder and scorer part (EncoderOnly): the
// logits of UniEncoderSpan's (UniEncoderToken's) inputs.
func TestORTSpanDecoderEncoderOnly(t *testing.T) {
	checkORT(t, "uni_span_decoder_deberta", Options{EncoderOnly: true})
}
func TestORTTokenDecoderEncoderOnly(t *testing.T) {
	checkORT(t, "uni_token_decoder_deberta", Options{EncoderOnly: true})
}

// PositionFirst: the token logits come as (3, B, W, C), gliner-go's
// (B, W, C, 3) transposed, PadWordLogit on each text's padding words, on
// the fixture's batch and another.
func TestORTTokenPositionFirst(t *testing.T) {
	for _, fixture := range []string{"uni_token_bert", "bi_token_deberta"} {
		dir := testutil.Fixture(t, fixture)
		m, err := models.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		model, err := Marshal(m, Options{PositionFirst: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range []*data.Batch{fixtureBatch(t, dir, m.Cfg.MaxWidth), otherBatch(t, m, dir)} {
			out, err := m.Forward(b)
			if err != nil {
				t.Fatal(err)
			}
			s := out.Logits.Shape
			B, W, C := s[0], s[1], s[2]
			want := make([]float32, len(out.Logits.F))
			pad := 0
			for bi := range B {
				for w := range W {
					for c := range C {
						for p := range 3 {
							v := out.Logits.F[((bi*W+w)*C+c)*3+p]
							if int64(w) >= b.TextLengths.Data[bi] {
								v = PadWordLogit
								pad++
							}
							want[((p*B+bi)*W+w)*C+c] = v
						}
					}
				}
			}
			if pad == 0 {
				t.Fatalf("%s: the batch (B=%d, W=%d) has no padding word", fixture, B, W)
			}
			got := ortRun(t, model, feedsOf(m, b, nil))["logits"]
			d := maxDiff(t, fixture, got, []int{3, B, W, C}, want)
			t.Logf("%s position-first (B=%d, W=%d): max |onnxruntime − gliner-go| = %.3g", fixture, B, W, d)
			if d > 1e-4 {
				t.Errorf("%s: position-first logits differ from gliner-go's by %g", fixture, d)
			}
		}
	}
}
