package autograd

import (
	"fmt"
	"hash"
	"hash/fnv"
	"sync/atomic"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Kernel is a fused operation with a hand-written forward and backward.
// A Kernel value belongs to one graph node, so it may keep buffers between
// its Forward and Backward (saved activations) and between runs.
type Kernel interface {
	// Name identifies the operation and its static settings ("layernorm(eps=1e-12)").
	Name() string
	// OutShape returns the output shape for the input shapes, or an error
	// naming what does not fit. It is called once, when the graph is built.
	OutShape(in [][]int) ([]int, error)
	// Forward computes out (preallocated, out.Shape set) from in.
	Forward(in []Value, out Value) error
	// Backward computes the gradients of the inputs from dout, the gradient
	// of the output. grads[i] is preallocated with input i's shape, or has
	// nil data when that gradient is not needed. Gradients are overwritten,
	// not accumulated.
	Backward(in []Value, out Value, dout Value, grads []Value) error
}

// NonDiff is implemented by kernels with float inputs that carry no
// gradient (masks, targets). Integer inputs never carry one.
type NonDiff interface {
	NonDifferentiable(input int) bool
}

// Aliaser is implemented by view kernels (reshape): the output shares the
// storage of input 0 and the input gradient shares dout's storage, so
// Forward and Backward are never called.
type Aliaser interface {
	Alias() bool
}

// Buffered is implemented by kernels that keep buffers of their own:
// activations Forward saves for Backward, or scratch space. Before the
// kernel runs, the plan points each listed slice at arena storage of at
// least Len elements, live as Use says, so a kernel that takes the buffer
// with Grow finds the capacity and allocates nothing; saved activations
// are then part of the one arena like every other value. A buffer a kernel
// does not list, or lists too short, is still correct (Grow allocates it
// on the heap) but is owned by the kernel.
type Buffered interface {
	Buffers(in [][]int) []KernelBuffer
}

// KernelBuffer is one of a Buffered kernel's buffers.
type KernelBuffer struct {
	Buf *[]float32
	Len int
	Use BufferUse
}

// BufferUse says when a kernel buffer holds data.
type BufferUse int

// The lifetimes of kernel buffers.
const (
	// Saved is written by Forward and read by Backward.
	Saved BufferUse = iota
	// ForwardScratch is used within one Forward call.
	ForwardScratch
	// BackwardScratch is used within one Backward call.
	BackwardScratch
	// Scratch is used within one Forward and, separately, one Backward call.
	Scratch
)

// BackwardReads is implemented by kernels whose Backward reads only some
// of the forward values it is passed. BackwardReadsInput(i) (or
// BackwardReadsOutput) false means Backward uses only that value's shape,
// never its data, so the plan may reuse its storage before the backward
// pass, as PyTorch keeps only the tensors a backward function saved.
// Kernels without it are taken to read every input and the output.
type BackwardReads interface {
	BackwardReadsInput(i int) bool
	BackwardReadsOutput() bool
}

// IntOutput is implemented by kernels whose output is int64.
type IntOutput interface {
	IntOutput() bool
}

var opCounter atomic.Int64

// kernelOp adapts a Kernel to Gorgonia's Op and SDOp interfaces. Each
// instance hashes uniquely, so Gorgonia never merges two applications
// (it would otherwise merge equal-looking nodes, the cause of its
// SoftMax/LogSoftMax confusion).
type kernelOp struct {
	k        Kernel
	id       int64
	inShapes [][]int
	inInt    []bool
	outShape []int
	outInt   bool
}

func dtypeOf(isInt bool) tensor.Dtype {
	if isInt {
		return tensor.Int64
	}
	return tensor.Float32
}

func typeFor(dims int, isInt bool) hm.Type {
	dt := dtypeOf(isInt)
	if dims == 0 {
		return dt
	}
	return G.TensorType{Dims: dims, Of: dt}
}

func (o *kernelOp) Arity() int { return len(o.inShapes) }

func (o *kernelOp) Type() hm.Type {
	ts := make([]hm.Type, 0, len(o.inShapes)+1)
	for i, s := range o.inShapes {
		ts = append(ts, typeFor(len(s), o.inInt[i]))
	}
	ts = append(ts, typeFor(len(o.outShape), o.outInt))
	return hm.NewFnType(ts...)
}

func toTensorShape(s []int) tensor.Shape {
	if len(s) == 0 {
		return tensor.ScalarShape()
	}
	return tensor.Shape(cloneShape(s))
}

func (o *kernelOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return toTensorShape(o.outShape), nil
}

func (o *kernelOp) Do(...G.Value) (G.Value, error) {
	return nil, fmt.Errorf("%s: kernel ops run on autograd.Machine, not on a Gorgonia VM", o.k.Name())
}
func (o *kernelOp) ReturnsPtr() bool     { return false }
func (o *kernelOp) CallsExtern() bool    { return false }
func (o *kernelOp) OverwritesInput() int { return -1 }
func (o *kernelOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "%s#%d", o.k.Name(), o.id)
}
func (o *kernelOp) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}
func (o *kernelOp) String() string { return o.k.Name() }

func (o *kernelOp) DiffWRT(n int) []bool {
	out := make([]bool, n)
	nd, _ := o.k.(NonDiff)
	for i := 0; i < n && i < len(o.inInt); i++ {
		out[i] = !o.inInt[i] && (nd == nil || !nd.NonDifferentiable(i))
	}
	return out
}

func (o *kernelOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	diff := o.DiffWRT(len(inputs))
	ret := make(G.Nodes, len(inputs))
	children := append(append(G.Nodes{}, inputs...), output, grad)
	for i := range inputs {
		if !diff[i] {
			continue
		}
		b := &bwdOp{fwd: o, which: i}
		n, err := G.ApplyOp(b, children...)
		if err != nil {
			return nil, fmt.Errorf("%s: backward node for input %d: %w", o.k.Name(), i, err)
		}
		ret[i] = n
	}
	return ret, nil
}

// bwdOp is the gradient of one input of a kernelOp. Its inputs are the
// forward inputs, the forward output and the output gradient.
type bwdOp struct {
	fwd   *kernelOp
	which int
}

func (b *bwdOp) Arity() int { return len(b.fwd.inShapes) + 2 }
func (b *bwdOp) Type() hm.Type {
	ts := make([]hm.Type, 0, len(b.fwd.inShapes)+3)
	for i, s := range b.fwd.inShapes {
		ts = append(ts, typeFor(len(s), b.fwd.inInt[i]))
	}
	out := typeFor(len(b.fwd.outShape), b.fwd.outInt)
	ts = append(ts, out, out, typeFor(len(b.fwd.inShapes[b.which]), false))
	return hm.NewFnType(ts...)
}
func (b *bwdOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return toTensorShape(b.fwd.inShapes[b.which]), nil
}
func (b *bwdOp) Do(...G.Value) (G.Value, error) {
	return nil, fmt.Errorf("%s backward: kernel ops run on autograd.Machine", b.fwd.k.Name())
}
func (b *bwdOp) ReturnsPtr() bool     { return false }
func (b *bwdOp) CallsExtern() bool    { return false }
func (b *bwdOp) OverwritesInput() int { return -1 }
func (b *bwdOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "d/d%d %s#%d", b.which, b.fwd.k.Name(), b.fwd.id)
}
func (b *bwdOp) Hashcode() uint32 {
	h := fnv.New32a()
	b.WriteHash(h)
	return h.Sum32()
}
func (b *bwdOp) String() string { return fmt.Sprintf("∂%s/∂in%d", b.fwd.k.Name(), b.which) }

// bwdOp is not itself differentiated (no second-order gradients).
func (b *bwdOp) DiffWRT(n int) []bool { return make([]bool, n) }
func (b *bwdOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%s: second-order gradients are not supported", b.String())
}
