package encoder

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/internal/testutil"
)

const textEncoderPrefix = "token_rep_layer.bert_layer.model"

// subState keeps the tensors under prefix.
func subState(st *checkpoints.State, prefix string) *checkpoints.State {
	out := &checkpoints.State{Path: st.Path, Tensors: map[string]*checkpoints.StateTensor{}}
	for _, n := range st.Names {
		if strings.HasPrefix(n, prefix+".") {
			out.Names = append(out.Names, n)
			out.Tensors[n] = st.Tensors[n]
		}
	}
	return out
}

type fixtureBatch struct {
	CollatedInference map[string]json.RawMessage `json:"collated_inference"`
}

func jsonTensor(t *testing.T, raw json.RawMessage) *testutil.JSONTensor {
	t.Helper()
	var jt testutil.JSONTensor
	if err := json.Unmarshal(raw, &jt); err != nil {
		t.Fatal(err)
	}
	return &jt
}

// encoderGolden runs the fixture's text encoder on its inference batch and
// compares last_hidden_state with the reference's.
func encoderGolden(t *testing.T, fixture string, train bool) {
	dir := testutil.Fixture(t, fixture)
	cfg, err := LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var gc struct {
		EncoderConfig json.RawMessage `json:"encoder_config"`
	}
	testutil.ReadJSON(t, filepath.Join(dir, "gliner_config.json"), &gc)
	if cfg2, err := ParseConfig(gc.EncoderConfig); err == nil {
		cfg = cfg2 // the resized vocabulary
	} else {
		t.Fatal(err)
	}
	s := autograd.NewStore()
	enc, err := New(s, textEncoderPrefix, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"model.safetensors", "pytorch_model.bin"} {
		st, err := checkpoints.ReadState(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.LoadState(subState(st, textEncoderPrefix), nil, checkpoints.LoadOptions{}); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var b fixtureBatch
		testutil.ReadJSON(t, filepath.Join(dir, "batch.json"), &b)
		ids := jsonTensor(t, b.CollatedInference["input_ids"])
		mask := jsonTensor(t, b.CollatedInference["attention_mask"])
		B, T := ids.Shape[0], ids.Shape[1]
		g := autograd.NewGraph(s, train)
		idsN := g.IntInput("input_ids", B, T)
		maskN := g.IntInput("attention_mask", B, T)
		out := enc.Forward(g, idsN, maskN)
		m, err := autograd.Compile(g, nil, out)
		if err != nil {
			t.Fatal(err)
		}
		idv, _ := ids.Int64s()
		mv, _ := mask.Int64s()
		if err := m.SetInts("input_ids", idv, B, T); err != nil {
			t.Fatal(err)
		}
		if err := m.SetInts("attention_mask", mv, B, T); err != nil {
			t.Fatal(err)
		}
		if err := m.Run(); err != nil {
			t.Fatal(err)
		}
		got, _ := m.Value(out)
		var exp struct {
			Intermediates map[string]testutil.JSONTensor `json:"intermediates"`
		}
		testutil.ReadJSON(t, filepath.Join(dir, "expected.json"), &exp)
		want := exp.Intermediates["encoder_last_hidden_state"]
		testutil.AssertCloseJSON(t, fixture+" ("+file+"): last_hidden_state", got.F, want, testutil.Forward)
	}
}

func TestEncoderMatchesReference(t *testing.T) {
	for _, f := range testutil.ModelFixtures {
		t.Run(f, func(t *testing.T) { encoderGolden(t, f, false) })
	}
}

// With dropout 0 (the fixtures' setting), a training graph computes the
// same values as an evaluation graph.
func TestEncoderTrainGraphWithoutDropoutMatches(t *testing.T) {
	encoderGolden(t, "uni_span_deberta", true)
}
