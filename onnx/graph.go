package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	pb "github.com/gliner-go/gliner/onnx/onnxpb"
)

// gb accumulates the nodes and initializers of an ONNX graph.
type gb struct {
	g      *pb.GraphProto
	seq    int
	consts map[string]string
}

func newGB(name string) *gb {
	return &gb{g: &pb.GraphProto{Name: name}, consts: map[string]string{}}
}

func (b *gb) fresh(prefix string) string {
	b.seq++
	return prefix + "_" + strconv.Itoa(b.seq)
}

// add appends a node with n outputs and returns their names.
func (b *gb) add(op string, ins []string, n int, attrs ...*pb.AttributeProto) []string {
	outs := make([]string, n)
	for i := range outs {
		outs[i] = b.fresh(strings.ToLower(op))
	}
	b.g.Node = append(b.g.Node, &pb.NodeProto{OpType: op, Input: ins, Output: outs, Name: outs[0], Attribute: attrs})
	return outs
}

// op appends a one-output node.
func (b *gb) op(op string, ins []string, attrs ...*pb.AttributeProto) string {
	return b.add(op, ins, 1, attrs...)[0]
}

func aInt(name string, v int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_INT, I: v}
}

func aInts(name string, v ...int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_INTS, Ints: v}
}

func aFloat(name string, v float32) *pb.AttributeProto {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_FLOAT, F: v}
}

// floatInit adds a float32 initializer.
func (b *gb) floatInit(name string, shape []int, data []float32) {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	b.g.Initializer = append(b.g.Initializer, &pb.TensorProto{Name: name, Dims: dims64(shape), DataType: int32(pb.TensorProto_FLOAT), RawData: raw})
}

func (b *gb) int64Init(name string, shape []int, data []int64) {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	b.g.Initializer = append(b.g.Initializer, &pb.TensorProto{Name: name, Dims: dims64(shape), DataType: int32(pb.TensorProto_INT64), RawData: raw})
}

func dims64(shape []int) []int64 {
	d := make([]int64, len(shape))
	for i, v := range shape {
		d[i] = int64(v)
	}
	return d
}

// i64 is a 1-D int64 constant.
func (b *gb) i64(vals ...int64) string {
	key := fmt.Sprint("i64", vals)
	if n, ok := b.consts[key]; ok {
		return n
	}
	n := b.fresh("const_i64")
	b.int64Init(n, []int{len(vals)}, vals)
	b.consts[key] = n
	return n
}

// i64s is a 0-D int64 constant.
func (b *gb) i64s(v int64) string {
	key := fmt.Sprint("i64s", v)
	if n, ok := b.consts[key]; ok {
		return n
	}
	n := b.fresh("const_i64s")
	b.int64Init(n, nil, []int64{v})
	b.consts[key] = n
	return n
}

// f32 is a 0-D float32 constant.
func (b *gb) f32(v float32) string {
	key := fmt.Sprint("f32", math.Float32bits(v))
	if n, ok := b.consts[key]; ok {
		return n
	}
	n := b.fresh("const_f32")
	b.floatInit(n, nil, []float32{v})
	b.consts[key] = n
	return n
}

func tensorType(elem pb.TensorProto_DataType, dims []string) *pb.TypeProto {
	shape := &pb.TensorShapeProto{}
	for _, d := range dims {
		if v, err := strconv.ParseInt(d, 10, 64); err == nil {
			shape.Dim = append(shape.Dim, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: v}})
		} else {
			shape.Dim = append(shape.Dim, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: d}})
		}
	}
	return &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{ElemType: int32(elem), Shape: shape}}}
}

func (b *gb) input(name string, elem pb.TensorProto_DataType, dims ...string) string {
	b.g.Input = append(b.g.Input, &pb.ValueInfoProto{Name: name, Type: tensorType(elem, dims)})
	return name
}

func (b *gb) output(name, from string, elem pb.TensorProto_DataType, dims ...string) {
	b.g.Node = append(b.g.Node, &pb.NodeProto{OpType: "Identity", Input: []string{from}, Output: []string{name}, Name: name})
	b.g.Output = append(b.g.Output, &pb.ValueInfoProto{Name: name, Type: tensorType(elem, dims)})
}

// Small helpers for frequent patterns.

func (b *gb) unsqueeze(x string, axes ...int64) string {
	return b.op("Unsqueeze", []string{x, b.i64(axes...)})
}

func (b *gb) transpose(x string, perm ...int64) string {
	return b.op("Transpose", []string{x}, aInts("perm", perm...))
}

func (b *gb) castF(x string) string {
	return b.op("Cast", []string{x}, aInt("to", int64(pb.TensorProto_FLOAT)))
}

func (b *gb) castI64(x string) string {
	return b.op("Cast", []string{x}, aInt("to", int64(pb.TensorProto_INT64)))
}

// sliceAxis is x[..., lo:hi, ...] on one axis with constant bounds.
func (b *gb) sliceAxis(x string, axis, lo, hi int64) string {
	return b.op("Slice", []string{x, b.i64(lo), b.i64(hi), b.i64(axis)})
}

// nonZero is the boolean x != 0.
func (b *gb) nonZero(x string) string {
	return b.op("Not", []string{b.op("Equal", []string{x, b.i64s(0)})})
}
