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
	worst := 0.0
	for i := range got {
		worst = math.Max(worst, math.Abs(float64(got[i])-want[i]))
	}
	t.Logf("max |Δ| vs reference encoder_last_hidden_state: %.3g", worst)
	if worst > 1e-4 {
		t.Errorf("encoder output differs from the reference by %.3g > 1e-4", worst)
	}
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
