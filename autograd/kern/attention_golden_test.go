package kern

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/gliner-go/gliner/internal/testutil"
)

// This file runs a test-only mini encoder (embeddings, then layers of the
// attention kernels with naive Linear, LayerNorm and GELU) on the fixtures'
// weights and batch, and compares the last hidden state with the
// reference's. It validates the attention kernels' semantics end to end.

type stTensor struct {
	shape []int
	data  []float32
}

// readSafetensors is a tiny F32-only safetensors reader for tests.
func readSafetensors(t *testing.T, path string) map[string]stTensor {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 8 {
		t.Fatalf("%s: too short", path)
	}
	n := binary.LittleEndian.Uint64(b[:8])
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &hdr); err != nil {
		t.Fatalf("%s: header: %v", path, err)
	}
	data := b[8+n:]
	out := map[string]stTensor{}
	for k, raw := range hdr {
		if k == "__metadata__" {
			continue
		}
		var e struct {
			DType   string `json:"dtype"`
			Shape   []int  `json:"shape"`
			Offsets [2]int `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatalf("%s: tensor %s: %v", path, k, err)
		}
		if e.DType != "F32" {
			t.Fatalf("%s: tensor %s: dtype %s", path, k, e.DType)
		}
		buf := data[e.Offsets[0]:e.Offsets[1]]
		v := make([]float32, len(buf)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
		}
		out[k] = stTensor{shape: e.Shape, data: v}
	}
	return out
}

type goldenModel struct {
	t      *testing.T
	w      map[string]stTensor
	prefix string
}

func (g goldenModel) get(name string) []float32 {
	g.t.Helper()
	x, ok := g.w[g.prefix+name]
	if !ok {
		g.t.Fatalf("weight %s%s missing", g.prefix, name)
	}
	return x.data
}

// linear computes x·Wᵀ + b for x (n, in), W (out, in).
func goldenLinear(x []float32, n, in int, w, b []float32) []float32 {
	out := len(b)
	y := make([]float32, n*out)
	for r := 0; r < n; r++ {
		for o := 0; o < out; o++ {
			var s float64
			for i := 0; i < in; i++ {
				s += float64(x[r*in+i]) * float64(w[o*in+i])
			}
			y[r*out+o] = float32(s + float64(b[o]))
		}
	}
	return y
}

func goldenLN(x []float32, width int, w, b []float32, eps float64) []float32 {
	y := make([]float32, len(x))
	for r := 0; r < len(x)/width; r++ {
		row := x[r*width : (r+1)*width]
		var mean, v float64
		for _, a := range row {
			mean += float64(a)
		}
		mean /= float64(width)
		for _, a := range row {
			v += (float64(a) - mean) * (float64(a) - mean)
		}
		v /= float64(width)
		for i, a := range row {
			y[r*width+i] = float32((float64(a)-mean)/math.Sqrt(v+eps)*float64(w[i]) + float64(b[i]))
		}
	}
	return y
}

func goldenAdd(a, b []float32) []float32 {
	y := make([]float32, len(a))
	for i := range a {
		y[i] = a[i] + b[i]
	}
	return y
}

func goldenGELU(x []float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		z := float64(v)
		y[i] = float32(z * 0.5 * (1 + math.Erf(z/math.Sqrt2)))
	}
	return y
}

type goldenBatch struct {
	B, T          int
	ids, types    []int64
	mask          []float32
	want          []float32
	wantShape     []int
	fixtureFolder string
}

func loadGoldenBatch(t *testing.T, fixture string) goldenBatch {
	t.Helper()
	dir := testutil.Fixture(t, fixture)
	var batch struct {
		Collated map[string]json.RawMessage `json:"collated_inference"`
	}
	testutil.ReadJSON(t, filepath.Join(dir, "batch.json"), &batch)
	tensor := func(key string) *testutil.JSONTensor {
		var jt testutil.JSONTensor
		if err := json.Unmarshal(batch.Collated[key], &jt); err != nil {
			t.Fatalf("%s batch.json collated_inference.%s: %v", fixture, key, err)
		}
		return &jt
	}
	g := goldenBatch{fixtureFolder: dir}
	ids := tensor("input_ids")
	g.B, g.T = ids.Shape[0], ids.Shape[1]
	var err error
	if g.ids, err = ids.Int64s(); err != nil {
		t.Fatal(err)
	}
	if g.mask, err = tensor("attention_mask").Float32s(); err != nil {
		t.Fatal(err)
	}
	if g.types, err = tensor("token_type_ids").Int64s(); err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Intermediates map[string]testutil.JSONTensor `json:"intermediates"`
	}
	testutil.ReadJSON(t, filepath.Join(dir, "expected.json"), &exp)
	w := exp.Intermediates["encoder_last_hidden_state"]
	if g.want, err = w.Float32s(); err != nil {
		t.Fatal(err)
	}
	g.wantShape = w.Shape
	return g
}

func (g goldenBatch) check(t *testing.T, got []float32, D int) {
	t.Helper()
	if len(g.wantShape) != 3 || g.wantShape[0] != g.B || g.wantShape[1] != g.T || g.wantShape[2] != D {
		t.Fatalf("expected shape %v, model gives (%d,%d,%d)", g.wantShape, g.B, g.T, D)
	}
	want := make([]float64, len(g.want))
	for i, v := range g.want {
		want[i] = float64(v)
	}
	testutil.AssertClose(t, "encoder output (encoder_last_hidden_state)", got, want, g.wantShape, testutil.Forward)
}

func TestGoldenDebertaEncoder(t *testing.T) {
	g := loadGoldenBatch(t, "uni_span_deberta")
	m := goldenModel{t: t, w: readSafetensors(t, filepath.Join(g.fixtureFolder, "model.safetensors")), prefix: "token_rep_layer.bert_layer.model."}
	// Fixture config (config.json): hidden 32, 4 heads, 2 layers, eps 1e-7,
	// position_buckets 256, max_relative_positions −1 ⇒ 64, p2c|c2p,
	// share_att_key, norm_rel_ebd layer_norm, no position embeddings.
	const D, H, L, eps = 32, 4, 2, 1e-7
	B, T := g.B, g.T
	word := m.get("embeddings.word_embeddings.weight")
	x := make([]float32, B*T*D)
	for i, id := range g.ids {
		copy(x[i*D:(i+1)*D], word[int(id)*D:(int(id)+1)*D])
	}
	x = goldenLN(x, D, m.get("embeddings.LayerNorm.weight"), m.get("embeddings.LayerNorm.bias"), eps)
	for i := range g.ids {
		for c := 0; c < D; c++ {
			x[i*D+c] *= g.mask[i]
		}
	}
	rel := goldenLN(m.get("encoder.rel_embeddings.weight"), D, m.get("encoder.LayerNorm.weight"), m.get("encoder.LayerNorm.bias"), eps)
	span := AttSpan(256, 64)
	relRows := len(rel) / D
	if relRows != 2*span {
		t.Fatalf("rel_embeddings has %d rows, want %d", relRows, 2*span)
	}
	idx, err := BuildRelativeIndex(T, 256, 64)
	if err != nil {
		t.Fatal(err)
	}
	dims := AttnDims{Batch: B, Seq: T, Heads: H, HeadDim: D / H}
	c := Disentangled{AttSpan: span, C2P: true, P2C: true, RelIndex: idx}
	ws := make([]float32, DisentangledWorkspaceSize(dims, c))
	probs := make([]float32, B*H*T*T)
	ctx := make([]float32, B*T*D)
	for l := 0; l < L; l++ {
		p := fmt.Sprintf("encoder.layer.%d.", l)
		wq, bq := m.get(p+"attention.self.query_proj.weight"), m.get(p+"attention.self.query_proj.bias")
		wk, bk := m.get(p+"attention.self.key_proj.weight"), m.get(p+"attention.self.key_proj.bias")
		wv, bv := m.get(p+"attention.self.value_proj.weight"), m.get(p+"attention.self.value_proj.bias")
		in := AttnInputs{
			Q:    goldenLinear(x, B*T, D, wq, bq),
			K:    goldenLinear(x, B*T, D, wk, bk),
			V:    goldenLinear(x, B*T, D, wv, bv),
			Mask: g.mask,
		}
		pk := goldenLinear(rel, relRows, D, wk, bk)
		pq := goldenLinear(rel, relRows, D, wq, bq)
		if err := DisentangledAttentionForward(dims, c, in, pk, pq, probs, ctx, ws); err != nil {
			t.Fatal(err)
		}
		x = goldenBlockTail(m, p, x, ctx, B*T, D, eps)
	}
	g.check(t, x, D)
}

// goldenBlockTail applies attention.output (dense, residual, LN) and the
// feed-forward block (intermediate, GELU, output dense, residual, LN).
func goldenBlockTail(m goldenModel, p string, x, ctx []float32, n, D int, eps float64) []float32 {
	a := goldenLinear(ctx, n, D, m.get(p+"attention.output.dense.weight"), m.get(p+"attention.output.dense.bias"))
	a = goldenLN(goldenAdd(x, a), D, m.get(p+"attention.output.LayerNorm.weight"), m.get(p+"attention.output.LayerNorm.bias"), eps)
	fb := m.get(p + "intermediate.dense.bias")
	h := goldenGELU(goldenLinear(a, n, D, m.get(p+"intermediate.dense.weight"), fb))
	y := goldenLinear(h, n, len(fb), m.get(p+"output.dense.weight"), m.get(p+"output.dense.bias"))
	return goldenLN(goldenAdd(a, y), D, m.get(p+"output.LayerNorm.weight"), m.get(p+"output.LayerNorm.bias"), eps)
}

func TestGoldenBertEncoder(t *testing.T) {
	g := loadGoldenBatch(t, "uni_span_bert")
	m := goldenModel{t: t, w: readSafetensors(t, filepath.Join(g.fixtureFolder, "model.safetensors")), prefix: "token_rep_layer.bert_layer.model."}
	// Fixture config: hidden 32, 4 heads, 2 layers, eps 1e-12, absolute positions.
	const D, H, L, eps = 32, 4, 2, 1e-12
	B, T := g.B, g.T
	word := m.get("embeddings.word_embeddings.weight")
	pos := m.get("embeddings.position_embeddings.weight")
	typ := m.get("embeddings.token_type_embeddings.weight")
	x := make([]float32, B*T*D)
	for i, id := range g.ids {
		t0 := i % T
		for c := 0; c < D; c++ {
			// HF: inputs_embeds + token_type_embeddings, then + position_embeddings.
			x[i*D+c] = (word[int(id)*D+c] + typ[int(g.types[i])*D+c]) + pos[t0*D+c]
		}
	}
	x = goldenLN(x, D, m.get("embeddings.LayerNorm.weight"), m.get("embeddings.LayerNorm.bias"), eps)
	dims := AttnDims{Batch: B, Seq: T, Heads: H, HeadDim: D / H}
	ws := make([]float32, AttentionWorkspaceSize(dims))
	probs := make([]float32, B*H*T*T)
	ctx := make([]float32, B*T*D)
	for l := 0; l < L; l++ {
		p := fmt.Sprintf("encoder.layer.%d.", l)
		in := AttnInputs{
			Q:    goldenLinear(x, B*T, D, m.get(p+"attention.self.query.weight"), m.get(p+"attention.self.query.bias")),
			K:    goldenLinear(x, B*T, D, m.get(p+"attention.self.key.weight"), m.get(p+"attention.self.key.bias")),
			V:    goldenLinear(x, B*T, D, m.get(p+"attention.self.value.weight"), m.get(p+"attention.self.value.bias")),
			Mask: g.mask,
		}
		if err := BertAttentionForward(dims, in, probs, ctx, ws); err != nil {
			t.Fatal(err)
		}
		x = goldenBlockTail(m, p, x, ctx, B*T, D, eps)
	}
	g.check(t, x, D)
}

// conv1D computes x·W + b with GPT-2's Conv1D layout W (in, out).
func goldenConv1D(x []float32, n, in int, w, b []float32) []float32 {
	out := len(b)
	y := make([]float32, n*out)
	for r := 0; r < n; r++ {
		for o := 0; o < out; o++ {
			var s float64
			for i := 0; i < in; i++ {
				s += float64(x[r*in+i]) * float64(w[i*out+o])
			}
			y[r*out+o] = float32(s + float64(b[o]))
		}
	}
	return y
}

func goldenGELUNew(x []float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		z := float64(v)
		y[i] = float32(0.5 * z * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(z+0.044715*z*z*z))))
	}
	return y
}

// TestGoldenGPT2Decoder runs the fixture's teacher-forced labels decoder
// (UniEncoderSpanDecoder): inputs_embeds = [left-padded span prefix ;
// wte(label ids[:, :-1])], mask likewise, through the causal-attention
// kernel, and compares the LM logits. The heavy left padding exercises the
// reference's float32 mask arithmetic on rows with no valid key.
func TestGoldenGPT2Decoder(t *testing.T) {
	dir := testutil.Fixture(t, "uni_span_decoder_deberta")
	var exp struct {
		Outputs       map[string]testutil.JSONTensor `json:"outputs"`
		Intermediates map[string]testutil.JSONTensor `json:"intermediates"`
	}
	testutil.ReadJSON(t, filepath.Join(dir, "expected.json"), &exp)
	var batch struct {
		Collated map[string]json.RawMessage `json:"collated"`
	}
	testutil.ReadJSON(t, filepath.Join(dir, "batch.json"), &batch)
	collated := func(key string) testutil.JSONTensor {
		var jt testutil.JSONTensor
		if err := json.Unmarshal(batch.Collated[key], &jt); err != nil {
			t.Fatalf("batch.json collated.%s: %v", key, err)
		}
		return jt
	}
	floats := func(jt testutil.JSONTensor, name string) []float32 {
		v, err := jt.Float32s()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return v
	}
	embT := exp.Outputs["decoder_embedding"]
	emb := floats(embT, "decoder_embedding")
	embMask := floats(exp.Outputs["decoder_embedding_mask"], "decoder_embedding_mask")
	spanIdx := floats(exp.Outputs["decoder_span_idx"], "decoder_span_idx")
	labT := collated("decoder_labels_ids")
	labIDs := floats(labT, "decoder_labels_ids")
	labMask := floats(collated("decoder_labels_mask"), "decoder_labels_mask")
	wantT := exp.Intermediates["decoder_lm_logits"]
	want := floats(wantT, "decoder_lm_logits")
	Tp, D := embT.Shape[2], embT.Shape[3]
	M, Tl := labT.Shape[0], labT.Shape[1]
	T := Tp + Tl - 1
	const H, L, eps = 4, 2, 1e-5
	if len(wantT.Shape) != 3 || wantT.Shape[0] != M || wantT.Shape[1] != T {
		t.Fatalf("decoder_lm_logits shape %v, want (%d,%d,V)", wantT.Shape, M, T)
	}
	V := wantT.Shape[2]
	m := goldenModel{t: t, w: readSafetensors(t, filepath.Join(dir, "model.safetensors")), prefix: "decoder.decoder_layer.model."}
	wte, wpe := m.get("transformer.wte.weight"), m.get("transformer.wpe.weight")
	x := make([]float32, M*T*D)
	mask := make([]float32, M*T)
	r := 0
	for s, idx := range spanIdx {
		if idx < 0 {
			continue
		}
		if r == M {
			t.Fatalf("more kept spans than the %d label rows", M)
		}
		for p := 0; p < Tp; p++ {
			copy(x[(r*T+p)*D:(r*T+p+1)*D], emb[(s*Tp+p)*D:(s*Tp+p+1)*D])
			mask[r*T+p] = embMask[s*Tp+p]
		}
		for q := 0; q < Tl-1; q++ {
			id := int(labIDs[r*Tl+q])
			copy(x[(r*T+Tp+q)*D:(r*T+Tp+q+1)*D], wte[id*D:(id+1)*D])
			mask[r*T+Tp+q] = labMask[r*Tl+q]
		}
		r++
	}
	if r != M {
		t.Fatalf("found %d kept spans, want %d", r, M)
	}
	for i := 0; i < M*T; i++ {
		pos := i % T
		for c := 0; c < D; c++ {
			x[i*D+c] += wpe[pos*D+c]
		}
	}
	dims := AttnDims{Batch: M, Seq: T, Heads: H, HeadDim: D / H}
	ws := make([]float32, AttentionWorkspaceSize(dims))
	probs := make([]float32, M*H*T*T)
	ctx := make([]float32, M*T*D)
	n := M * T
	for l := 0; l < L; l++ {
		p := fmt.Sprintf("transformer.h.%d.", l)
		h := goldenLN(x, D, m.get(p+"ln_1.weight"), m.get(p+"ln_1.bias"), eps)
		qkv := goldenConv1D(h, n, D, m.get(p+"attn.c_attn.weight"), m.get(p+"attn.c_attn.bias"))
		in := AttnInputs{Q: make([]float32, n*D), K: make([]float32, n*D), V: make([]float32, n*D), Mask: mask}
		for i := 0; i < n; i++ {
			copy(in.Q[i*D:(i+1)*D], qkv[i*3*D:i*3*D+D])
			copy(in.K[i*D:(i+1)*D], qkv[i*3*D+D:i*3*D+2*D])
			copy(in.V[i*D:(i+1)*D], qkv[i*3*D+2*D:i*3*D+3*D])
		}
		if err := CausalAttentionForward(dims, in, probs, ctx, ws); err != nil {
			t.Fatal(err)
		}
		x = goldenAdd(x, goldenConv1D(ctx, n, D, m.get(p+"attn.c_proj.weight"), m.get(p+"attn.c_proj.bias")))
		h = goldenLN(x, D, m.get(p+"ln_2.weight"), m.get(p+"ln_2.bias"), eps)
		fb := m.get(p + "mlp.c_fc.bias")
		h = goldenGELUNew(goldenConv1D(h, n, D, m.get(p+"mlp.c_fc.weight"), fb))
		x = goldenAdd(x, goldenConv1D(h, n, len(fb), m.get(p+"mlp.c_proj.weight"), m.get(p+"mlp.c_proj.bias")))
	}
	x = goldenLN(x, D, m.get("transformer.ln_f.weight"), m.get("transformer.ln_f.bias"), eps)
	logits := goldenLinear(x, n, D, m.get("lm_head.weight"), make([]float32, V))
	testutil.AssertClose(t, "decoder logits (decoder_lm_logits)", logits, want, nil, testutil.Forward)
}
