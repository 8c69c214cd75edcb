package onnx

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/models"
	pb "github.com/gliner-go/gliner/onnx/onnxpb"
)

// signature lists a graph's inputs and outputs as "name elem [axes]".
func signature(vs []*pb.ValueInfoProto) []string {
	var out []string
	for _, v := range vs {
		tt := v.GetType().GetTensorType()
		var axes []string
		for _, d := range tt.GetShape().GetDim() {
			if p := d.GetDimParam(); p != "" {
				axes = append(axes, p)
			} else {
				axes = append(axes, fmt.Sprint(d.GetDimValue()))
			}
		}
		out = append(out, fmt.Sprintf("%s %v [%s]", v.GetName(), pb.TensorProto_DataType(tt.GetElemType()), strings.Join(axes, " ")))
	}
	return out
}

// TestSignatureMatchesReference compares the exported inputs and outputs
// (names, order, dtypes, dynamic axis names) with the reference's own
// exports of the same fixtures (reference.onnx, torch 1.13, opset 17).
func TestSignatureMatchesReference(t *testing.T) {
	for _, name := range []string{"uni_span_deberta", "uni_token_deberta"} {
		dir := testutil.Fixture(t, name)
		raw, err := os.ReadFile(filepath.Join(dir, "reference.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		var ref pb.ModelProto
		if err := proto.Unmarshal(raw, &ref); err != nil {
			t.Fatalf("%s: reference.onnx: %v", name, err)
		}
		m, err := models.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Build(m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			what      string
			got, want []*pb.ValueInfoProto
		}{{"inputs", got.Graph.Input, ref.Graph.Input}, {"outputs", got.Graph.Output, ref.Graph.Output}} {
			g, w := signature(c.got), signature(c.want)
			if strings.Join(g, "; ") != strings.Join(w, "; ") {
				t.Errorf("%s %s:\n got  %v\n want %v", name, c.what, g, w)
			}
		}
		if v := ref.OpsetImport[0].Version; v != Opset {
			t.Errorf("%s: reference opset %d, export %d", name, v, Opset)
		}
	}
}
