package encoder

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/internal/testutil"
)

const decoderPrefix = "decoder.decoder_layer.model"

// decoderFixture is the uni_span_decoder_deberta fixture: its decoder
// loaded into a store, plus the JSON it needs.
type decoderFixture struct {
	dir   string
	store *autograd.Store
	model *GPT2
	st    *checkpoints.State
	exp   struct {
		Outputs       map[string]testutil.JSONTensor `json:"outputs"`
		Intermediates map[string]testutil.JSONTensor `json:"intermediates"`
		Decoded       map[string]struct {
			GenLabels  []string            `json:"gen_labels"`
			SpanIdx    testutil.JSONTensor `json:"decoder_span_idx"`
			Generation map[string]any      `json:"generation"`
		} `json:"decoded"`
	}
	batch struct {
		Collated          map[string]json.RawMessage `json:"collated"`
		CollatedInference map[string]json.RawMessage `json:"collated_inference"`
	}
}

func loadDecoderFixture(t *testing.T) *decoderFixture {
	t.Helper()
	f := &decoderFixture{dir: testutil.Fixture(t, "uni_span_decoder_deberta")}
	cfg, err := LoadGPT2Config(filepath.Join(f.dir, "labels_decoder_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	f.store = autograd.NewStore()
	if f.model, err = NewGPT2(f.store, decoderPrefix, cfg); err != nil {
		t.Fatal(err)
	}
	if f.st, err = checkpoints.ReadState(filepath.Join(f.dir, "model.safetensors")); err != nil {
		t.Fatal(err)
	}
	if err := f.model.LoadState(f.store, f.st); err != nil {
		t.Fatal(err)
	}
	testutil.ReadJSON(t, filepath.Join(f.dir, "expected.json"), &f.exp)
	testutil.ReadJSON(t, filepath.Join(f.dir, "batch.json"), &f.batch)
	return f
}

func gpt2JSON(t *testing.T, m map[string]json.RawMessage, key string) testutil.JSONTensor {
	t.Helper()
	var jt testutil.JSONTensor
	raw, ok := m[key]
	if !ok {
		t.Fatalf("batch.json: no %s", key)
	}
	if err := json.Unmarshal(raw, &jt); err != nil {
		t.Fatalf("batch.json %s: %v", key, err)
	}
	return jt
}

func gpt2Floats(t *testing.T, jt testutil.JSONTensor, what string) []float32 {
	t.Helper()
	v, err := jt.Float32s()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func gpt2Ints(t *testing.T, jt testutil.JSONTensor, what string) []int64 {
	t.Helper()
	v, err := jt.Int64s()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// TestGPT2GoldenTeacherForcing feeds the reference's teacher-forced decoder
// input — [left-padded span prefix ; wte(label ids[:, :-1])] with the
// concatenated mask, positions 0..T−1 — and compares the LM logits with
// the fixture's decoder_lm_logits.
func TestGPT2GoldenTeacherForcing(t *testing.T) {
	f := loadDecoderFixture(t)
	embT := f.exp.Outputs["decoder_embedding"]
	emb := gpt2Floats(t, embT, "decoder_embedding")
	embMask := gpt2Ints(t, f.exp.Outputs["decoder_embedding_mask"], "decoder_embedding_mask")
	labT := gpt2JSON(t, f.batch.Collated, "decoder_labels_ids")
	labIDs := gpt2Ints(t, labT, "decoder_labels_ids")
	labMask := gpt2Ints(t, gpt2JSON(t, f.batch.Collated, "decoder_labels_mask"), "decoder_labels_mask")
	wantT := f.exp.Intermediates["decoder_lm_logits"]
	want := gpt2Floats(t, wantT, "decoder_lm_logits")
	B, S, Tp, D := embT.Shape[0], embT.Shape[1], embT.Shape[2], embT.Shape[3]
	M, Tl := labT.Shape[0], labT.Shape[1]
	T, V := Tp+Tl-1, f.model.Cfg.VocabSize
	if len(wantT.Shape) != 3 || wantT.Shape[0] != M || wantT.Shape[1] != T || wantT.Shape[2] != V {
		t.Fatalf("decoder_lm_logits shape %v, want (%d,%d,%d)", wantT.Shape, M, T, V)
	}
	// get_raw_decoder_inputs: the spans with any valid prefix slot, batch-major.
	prefix := make([]float32, 0, M*Tp*D)
	var prefixMask []int64
	for s := 0; s < B*S; s++ {
		row := embMask[s*Tp : (s+1)*Tp]
		any := false
		for _, v := range row {
			any = any || v != 0
		}
		if any {
			prefix = append(prefix, emb[s*Tp*D:(s+1)*Tp*D]...)
			prefixMask = append(prefixMask, row...)
		}
	}
	if len(prefixMask) != M*Tp {
		t.Fatalf("%d kept spans, want %d label rows", len(prefixMask)/Tp, M)
	}

	g := autograd.NewGraph(f.store, false)
	pre := g.Input("prefix", M, Tp, D)
	lab := g.IntInput("labels", M, Tl-1)
	mask := g.IntInput("mask", M, T)
	x := autograd.Concat(autograd.Reshape(pre, M, Tp*D), autograd.Reshape(f.model.Embed(g, lab), M, (Tl-1)*D))
	logits := f.model.Forward(g, autograd.Reshape(x, M, T, D), mask, nil)
	mach, err := autograd.Compile(g, nil, logits)
	if err != nil {
		t.Fatal(err)
	}
	in := make([]int64, 0, M*(Tl-1))
	mk := make([]int64, 0, M*T)
	for r := 0; r < M; r++ {
		in = append(in, labIDs[r*Tl:(r+1)*Tl-1]...)
		mk = append(mk, prefixMask[r*Tp:(r+1)*Tp]...)
		mk = append(mk, labMask[r*Tl:(r+1)*Tl-1]...)
	}
	gpt2Must(t, mach.SetFloats("prefix", prefix, M, Tp, D))
	gpt2Must(t, mach.SetInts("labels", in, M, Tl-1))
	gpt2Must(t, mach.SetInts("mask", mk, M, T))
	gpt2Must(t, mach.Run())
	got, err := mach.Value(logits)
	gpt2Must(t, err)
	testutil.AssertClose(t, "decoder logits (decoder_lm_logits)", got.F, want, []int{M, T, V}, testutil.Forward)
}

func gpt2Must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
