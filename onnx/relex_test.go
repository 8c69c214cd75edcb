package onnx

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/models"
)

// relexFixtureBatch is fixtureBatch with the relation label lists.
func relexFixtureBatch(t *testing.T, dir string, maxWidth int) *data.Batch {
	t.Helper()
	b := fixtureBatch(t, dir, maxWidth)
	var raw struct {
		C struct {
			Rel []map[string]string `json:"rel_id_to_classes"`
		} `json:"collated_inference"`
	}
	testutil.ReadJSON(t, filepath.Join(dir, "batch.json"), &raw)
	for _, mp := range raw.C.Rel {
		names := make([]string, len(mp))
		for k, v := range mp {
			var i int
			fmt.Sscan(k, &i)
			names[i-1] = v
		}
		b.RelIDToClass = append(b.RelIDToClass, names)
	}
	return b
}

// relexOtherBatch is otherBatch for a relex model, with two relation
// labels (the fixture's batch has three).
func relexOtherBatch(t *testing.T, m *models.Model, dir string) *data.Batch {
	t.Helper()
	col := newCollator(t, m, dir)
	b, err := col.Inference(otherExamples, []string{"person", "location", "organization"}, []string{"works at", "located in"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sameInts(t *testing.T, what string, got jsTensor, shape []int, want []int64) {
	t.Helper()
	if fmt.Sprint(got.Dims) != fmt.Sprint(shape) {
		t.Fatalf("%s: onnxruntime shape %v, want %v", what, got.Dims, shape)
	}
	for i, v := range want {
		if got.Data[i] != float64(v) {
			t.Fatalf("%s: value %d is %v, want %d", what, i, got.Data[i], v)
		}
	}
}

func boolInts(v []bool) []int64 {
	out := make([]int64, len(v))
	for i, b := range v {
		if b {
			out[i] = 1
		}
	}
	return out
}

type relexRef struct {
	Decoded map[string]struct {
		Threshold      float64                        `json:"threshold"`
		ForwardOutputs map[string]testutil.JSONTensor `json:"forward_outputs"`
	} `json:"decoded"`
}

// checkORTRelex exports the relex fixture model at entity and adjacency
// threshold thr (the fixture's decoded settings use one value for both)
// and runs the file with onnxruntime on the fixture's inference batch and
// on a batch of another size, length, label and relation count: logits
// and rel_logits within 1e-4 of gliner-go's ForwardRelex and, on the
// fixture's batch, of the reference's forward outputs at that threshold;
// rel_idx and rel_mask equal. It returns the number of real pairs seen.
func checkORTRelex(t *testing.T, fixture, setting string, refCompat bool) int {
	dir := testutil.Fixture(t, fixture)
	m, err := models.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ref relexRef
	testutil.ReadJSON(t, filepath.Join(dir, "expected.json"), &ref)
	want, ok := ref.Decoded[setting]
	if !ok {
		t.Fatalf("expected.json has no decoded setting %s", setting)
	}
	thr := want.Threshold
	m.Loss.ReferenceCompat = refCompat
	rs := m.Relex()
	rs.Threshold, rs.AdjacencyThreshold = thr, thr
	model, err := Marshal(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pairs := 0
	for _, bc := range []struct {
		name string
		b    *data.Batch
	}{{"batch.json", relexFixtureBatch(t, dir, m.Cfg.MaxWidth)}, {"other batch", relexOtherBatch(t, m, dir)}} {
		out, err := m.ForwardRelex(bc.b, thr, thr)
		if err != nil {
			t.Fatal(err)
		}
		ro := out.Relex
		res := ortRun(t, model, feedsOf(m, bc.b, nil))
		for _, name := range []string{"logits", "rel_idx", "rel_logits", "rel_mask"} {
			if _, ok := res[name]; !ok {
				t.Fatalf("%s: no %s output", bc.name, name)
			}
		}
		B := bc.b.InputIDs.Shape[0]
		d := maxDiff(t, bc.name+" logits", res["logits"], out.Logits.Shape, out.Logits.F)
		dr := maxDiff(t, bc.name+" rel_logits", res["rel_logits"], ro.RelLogits.Shape, ro.RelLogits.F)
		sameInts(t, bc.name+" rel_idx", res["rel_idx"], []int{B, ro.N, 2}, ro.PairIdx)
		sameInts(t, bc.name+" rel_mask", res["rel_mask"], []int{B, ro.N}, boolInts(ro.PairMask))
		real := 0
		for _, v := range ro.PairMask {
			if v {
				real++
			}
		}
		pairs += real
		t.Logf("%s thr=%g %s (B=%d, T=%d, E=%d, N=%d, %d pairs): max |onnxruntime − gliner-go| logits %.3g, rel_logits %.3g",
			fixture, thr, bc.name, B, bc.b.InputIDs.Shape[1], ro.E, ro.N, real, d, dr)
		if d > 1e-4 || dr > 1e-4 {
			t.Errorf("%s: onnxruntime differs from gliner-go: logits %g, rel_logits %g (> 1e-4)", bc.name, d, dr)
		}
		if bc.name != "batch.json" {
			continue
		}
		for _, name := range []string{"logits", "rel_logits"} {
			jt := want.ForwardOutputs[name]
			w, err := jt.Float32s()
			if err != nil {
				t.Fatal(err)
			}
			d := maxDiff(t, "reference "+name, res[name], jt.Shape, w)
			t.Logf("%s thr=%g batch.json: max |onnxruntime − reference| %s %.3g", fixture, thr, name, d)
			if d > 1e-4 {
				t.Errorf("batch.json: onnxruntime %s differs from the reference's by %g (> 1e-4)", name, d)
			}
		}
		for _, name := range []string{"rel_idx", "rel_mask"} {
			jt := want.ForwardOutputs[name]
			f, err := jt.Floats() // bools are 0/1
			if err != nil {
				t.Fatalf("reference %s: %v", name, err)
			}
			w := make([]int64, len(f))
			for i, v := range f {
				w[i] = int64(v)
			}
			sameInts(t, "reference "+name, res[name], jt.Shape, w)
		}
	}
	return pairs
}

func TestORTSpanRelex(t *testing.T) {
	n := checkORTRelex(t, "uni_span_relex_deberta", "thr=0.500000,flat_ner=True", false)
	// No pair in the fixture's batch (N = 1, a padding row).
	n += checkORTRelex(t, "uni_span_relex_deberta", "thr=0.525552,flat_ner=True", false)
	if n == 0 {
		t.Error("no entity pair in any batch: no relation score was compared")
	}
}

func TestORTTokenRelex(t *testing.T) {
	n := checkORTRelex(t, "uni_token_relex_deberta", "thr=0.500000,flat_ner=True", true)
	n += checkORTRelex(t, "uni_token_relex_deberta", "thr=0.450000,flat_ner=True", true)
	if n == 0 {
		t.Error("no entity pair in any batch: no relation score was compared")
	}
}

// The other batch under gliner-go's own token rows (words inside each
// text only, Loss.ReferenceCompat unset) against gliner-go.
func TestORTTokenRelexInTextRows(t *testing.T) {
	dir := testutil.Fixture(t, "uni_token_relex_deberta")
	m, err := models.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rs := m.Relex()
	rs.Threshold, rs.AdjacencyThreshold = 0.45, 0.45
	model, err := Marshal(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := relexOtherBatch(t, m, dir)
	out, err := m.ForwardRelex(b, 0.45, 0.45)
	if err != nil {
		t.Fatal(err)
	}
	ro := out.Relex
	res := ortRun(t, model, feedsOf(m, b, nil))
	dr := maxDiff(t, "rel_logits", res["rel_logits"], ro.RelLogits.Shape, ro.RelLogits.F)
	sameInts(t, "rel_idx", res["rel_idx"], []int{b.InputIDs.Shape[0], ro.N, 2}, ro.PairIdx)
	t.Logf("in-text rows: E=%d, N=%d: max |onnxruntime − gliner-go| rel_logits %.3g", ro.E, ro.N, dr)
	if ro.N < 2 {
		t.Errorf("only %d pair rows: the test compares no relation", ro.N)
	}
	if dr > 1e-4 || math.IsNaN(dr) {
		t.Errorf("rel_logits differ by %g", dr)
	}
}

// TestRelexSignature: the relex exports' inputs and outputs are the
// reference's (gliner/model.py, UniEncoderSpanRelexGLiNER and
// UniEncoderTokenRelexGLiNER _get_onnx_input_spec).
func TestRelexSignature(t *testing.T) {
	for _, c := range []struct {
		fixture     string
		inputs, out string
	}{
		{"uni_span_relex_deberta",
			"input_ids INT64 [batch_size sequence_length]; attention_mask INT64 [batch_size sequence_length]; words_mask INT64 [batch_size sequence_length]; text_lengths INT64 [batch_size value]; span_idx INT64 [batch_size num_spans idx]; span_mask BOOL [batch_size num_spans]",
			"logits FLOAT [batch_size sequence_length num_spans num_ent_classes]; rel_idx INT64 [batch_size num_pairs pair_index]; rel_logits FLOAT [batch_size num_pairs num_rel_classes]; rel_mask BOOL [batch_size num_pairs]"},
		{"uni_token_relex_deberta",
			"input_ids INT64 [batch_size sequence_length]; attention_mask INT64 [batch_size sequence_length]; words_mask INT64 [batch_size sequence_length]; text_lengths INT64 [batch_size value]",
			"logits FLOAT [batch_size sequence_length num_ent_classes num_idx_classes]; rel_idx INT64 [batch_size num_pairs pair_index]; rel_logits FLOAT [batch_size num_pairs num_rel_classes]; rel_mask BOOL [batch_size num_pairs]"},
	} {
		m, err := models.Load(testutil.Fixture(t, c.fixture))
		if err != nil {
			t.Fatal(err)
		}
		mp, err := Build(m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(signature(mp.Graph.Input), "; "); got != c.inputs {
			t.Errorf("%s inputs:\n got  %s\n want %s", c.fixture, got, c.inputs)
		}
		if got := strings.Join(signature(mp.Graph.Output), "; "); got != c.out {
			t.Errorf("%s outputs:\n got  %s\n want %s", c.fixture, got, c.out)
		}
	}
}
