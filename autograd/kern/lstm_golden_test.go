package kern

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/gliner-go/gliner/internal/testutil"
)

// readSafetensorsF32 reads the named F32 tensors of a safetensors file
// (8-byte little-endian header length, JSON header, raw data).
func readSafetensorsF32(t *testing.T, path string, names ...string) map[string][]float32 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) < 8 {
		t.Fatalf("%s: too short for a safetensors header", path)
	}
	n := binary.LittleEndian.Uint64(raw[:8])
	if uint64(len(raw)) < 8+n {
		t.Fatalf("%s: header length %d past end of file", path, n)
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+n], &hdr); err != nil {
		t.Fatalf("%s: header: %v", path, err)
	}
	data := raw[8+n:]
	out := map[string][]float32{}
	for _, name := range names {
		var e struct {
			DType   string   `json:"dtype"`
			Offsets [2]int64 `json:"data_offsets"`
		}
		h, ok := hdr[name]
		if !ok {
			t.Fatalf("%s: no tensor %q", path, name)
		}
		if err := json.Unmarshal(h, &e); err != nil || e.DType != "F32" {
			t.Fatalf("%s: tensor %q: dtype %q, err %v", path, name, e.DType, err)
		}
		b := data[e.Offsets[0]:e.Offsets[1]]
		v := make([]float32, len(b)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		out[name] = v
	}
	return out
}

func readJSONTensors(t *testing.T, path string, pick func(doc map[string]json.RawMessage) map[string]json.RawMessage, names ...string) map[string]testutil.JSONTensor {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	sect := pick(doc)
	out := map[string]testutil.JSONTensor{}
	for _, n := range names {
		var jt testutil.JSONTensor
		r, ok := sect[n]
		if !ok {
			t.Fatalf("%s: no tensor %q", path, n)
		}
		if err := json.Unmarshal(r, &jt); err != nil {
			t.Fatalf("%s: tensor %q: %v", path, n, err)
		}
		out[n] = jt
	}
	return out
}

func section(key string) func(map[string]json.RawMessage) map[string]json.RawMessage {
	return func(doc map[string]json.RawMessage) map[string]json.RawMessage {
		var m map[string]json.RawMessage
		_ = json.Unmarshal(doc[key], &m)
		return m
	}
}

// TestGoldenWordPoolingAndBiLSTM checks GatherRows (word pooling by first
// sub-token) and BiLSTMForward against the reference's hooks on every
// uni-encoder fixture: token_rep_layer_output → words_embedding_pre_rnn →
// (nn.LSTM over packed text_lengths) → words_embedding_post_rnn.
// lstmTol is 1e-6 of the tensor's RMS, at least 1e-6 absolute: the gather and the
// LSTM use no BLAS, so every build rounds alike.
var lstmTol = testutil.Tol{ATol: 1e-6, Floor: 1}

func TestGoldenWordPoolingAndBiLSTM(t *testing.T) {
	for _, fx := range []string{"uni_span_bert", "uni_span_deberta", "uni_token_bert", "uni_token_deberta", "uni_span_relex_deberta", "uni_span_decoder_deberta"} {
		t.Run(fx, func(t *testing.T) {
			dir := testutil.Fixture(t, fx)
			inter := readJSONTensors(t, filepath.Join(dir, "expected.json"), section("intermediates"),
				"token_rep_layer_output", "words_embedding_pre_rnn", "words_embedding_post_rnn")
			batch := readJSONTensors(t, filepath.Join(dir, "batch.json"), func(doc map[string]json.RawMessage) map[string]json.RawMessage {
				return section("collated")(doc)
			}, "words_mask", "text_lengths")
			tok, tokT := inter["token_rep_layer_output"], inter["token_rep_layer_output"]
			tokens, err := tok.Float32s()
			if err != nil {
				t.Fatal(err)
			}
			pre := inter["words_embedding_pre_rnn"]
			wantPre, err := pre.Floats()
			if err != nil {
				t.Fatal(err)
			}
			post := inter["words_embedding_post_rnn"]
			wantPost, err := post.Floats()
			if err != nil {
				t.Fatal(err)
			}
			wm := batch["words_mask"]
			wmask, err := wm.Int64s()
			if err != nil {
				t.Fatal(err)
			}
			tl := batch["text_lengths"]
			tlens, err := tl.Int64s()
			if err != nil {
				t.Fatal(err)
			}
			B, T, D := tokT.Shape[0], tokT.Shape[1], tokT.Shape[2]
			W := pre.Shape[1]
			idx := make([]int32, B*W)
			for i := range idx {
				idx[i] = -1
			}
			for b := 0; b < B; b++ {
				for tt := 0; tt < T; tt++ {
					if m := wmask[b*T+tt]; m > 0 {
						idx[b*W+int(m)-1] = int32(tt)
					}
				}
			}
			words := make([]float32, B*W*D)
			if err := GatherRows(words, tokens, idx, B, T, W, D); err != nil {
				t.Fatal(err)
			}
			testutil.AssertClose(t, "words_embedding_pre_rnn", words, wantPre, []int{B, W, D}, lstmTol)

			p := readSafetensorsF32(t, filepath.Join(dir, "model.safetensors"),
				"rnn.lstm.weight_ih_l0", "rnn.lstm.weight_hh_l0", "rnn.lstm.bias_ih_l0", "rnn.lstm.bias_hh_l0",
				"rnn.lstm.weight_ih_l0_reverse", "rnn.lstm.weight_hh_l0_reverse", "rnn.lstm.bias_ih_l0_reverse", "rnn.lstm.bias_hh_l0_reverse")
			fwd := LSTMWeights{p["rnn.lstm.weight_ih_l0"], p["rnn.lstm.weight_hh_l0"], p["rnn.lstm.bias_ih_l0"], p["rnn.lstm.bias_hh_l0"]}
			bwd := LSTMWeights{p["rnn.lstm.weight_ih_l0_reverse"], p["rnn.lstm.weight_hh_l0_reverse"], p["rnn.lstm.bias_ih_l0_reverse"], p["rnn.lstm.bias_hh_l0_reverse"]}
			H := D / 2
			lengths := make([]int, B)
			padded := false
			for b := range lengths {
				lengths[b] = int(tlens[b])
				padded = padded || lengths[b] < W
			}
			if !padded {
				t.Logf("%s: no padded sequence in the batch", fx)
			}
			s, err := NewBiLSTMState(LSTMDims{B, W, D, H})
			if err != nil {
				t.Fatal(err)
			}
			out := make([]float32, B*W*D)
			if err := BiLSTMForward(s, out, words, lengths, fwd, bwd); err != nil {
				t.Fatal(err)
			}
			testutil.AssertClose(t, "words_embedding_post_rnn", out, wantPost, []int{B, W, D}, lstmTol)
		})
	}
}
