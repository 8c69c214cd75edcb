package onnx

import (
	"fmt"
	"math"

	pb "github.com/gliner-go/gliner/onnx/onnxpb"
)

// Int8 is the --quantize value for dynamic int8 quantisation.
const Int8 = "int8"

// linearInt8 is a Linear kernel (y = x·Wᵀ + b) with its weight quantised
// as onnxruntime's quantize_dynamic does (the reference's
// _maybe_quantize_onnx in gliner/model.py calls it): the activations are
// quantised per call by DynamicQuantizeLinear (uint8, per tensor), the
// weight once, here, to int8 with one symmetric scale per output column
// (zero point 0); MatMulInteger multiplies in integers and the int32
// result is scaled back to float by x_scale·w_scale[j].
func (x *exporter) linearInt8(in []string, bias bool) (string, error) {
	b := x.b
	w, ok := x.params[in[1]]
	if !ok {
		return "", fmt.Errorf("linear weight %q is not a parameter", in[1])
	}
	if len(w.shape) != 2 {
		return "", fmt.Errorf("linear weight %q has shape %v, want (out, in)", in[1], w.shape)
	}
	out, inDim := w.shape[0], w.shape[1]
	q := make([]byte, inDim*out) // Wᵀ (in, out), int8
	scales := make([]float32, out)
	for j := 0; j < out; j++ {
		row := w.data[j*inDim : (j+1)*inDim]
		mx := float32(0)
		for _, v := range row {
			mx = max(mx, float32(math.Abs(float64(v))))
		}
		s := mx / 127
		if s == 0 {
			s = 1
		}
		scales[j] = s
		for i, v := range row {
			r := math.RoundToEven(float64(v / s))
			q[i*out+j] = byte(int8(max(-127, min(127, r))))
		}
	}
	name := in[1] + "_quantized"
	if !x.inits[name] {
		b.g.Initializer = append(b.g.Initializer, &pb.TensorProto{Name: name, Dims: []int64{int64(inDim), int64(out)}, DataType: int32(pb.TensorProto_INT8), RawData: q})
		b.floatInit(in[1]+"_scale", []int{out}, scales)
		x.inits[name] = true
	}
	dq := b.add("DynamicQuantizeLinear", []string{in[0]}, 3)
	acc := b.op("MatMulInteger", []string{dq[0], name, dq[2]})
	scale := b.op("Mul", []string{dq[1], in[1] + "_scale"})
	y := b.op("Mul", []string{b.castF(acc), scale})
	if bias {
		y = b.op("Add", []string{y, in[2]})
	}
	return y, nil
}

// prune drops the initializers no node reads (the float weights of
// quantised layers).
func (b *gb) prune() {
	used := map[string]bool{}
	for _, n := range b.g.Node {
		for _, i := range n.Input {
			used[i] = true
		}
	}
	keep := b.g.Initializer[:0]
	for _, t := range b.g.Initializer {
		if used[t.Name] {
			keep = append(keep, t)
		}
	}
	b.g.Initializer = keep
}
