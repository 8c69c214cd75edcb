package autograd

import (
	"fmt"

	G "gorgonia.org/gorgonia"
)

// Step is one node of a graph's forward computation, as Trace lists it:
// a parameter (Param set), a declared input (Input set) or a kernel
// application (Kernel set, over the nodes In).
type Step struct {
	Out    *Node
	Param  *Param
	Input  string
	Kernel Kernel
	In     []*Node
}

// IsInt reports whether the node holds int64 values.
func (n *Node) IsInt() bool { return n.isInt }

// Trace returns the forward steps that the outputs depend on, inputs
// first (the order a Machine runs them). Exporters (package onnx) map
// each kernel step to another format.
func Trace(g *Graph, outputs ...*Node) ([]Step, error) {
	if g.err != nil {
		return nil, g.err
	}
	roots := make([]*G.Node, 0, len(outputs))
	for _, o := range outputs {
		if o == nil || o.n == nil || o.g != g {
			return nil, fmt.Errorf("autograd: trace: output is not a node of this graph")
		}
		roots = append(roots, o.n)
	}
	live := ancestors(g.eg, roots)
	sorted, err := G.Sort(g.eg)
	if err != nil {
		return nil, fmt.Errorf("autograd: trace: sorting graph: %w", err)
	}
	byG := map[*G.Node]*Node{}
	paramOf := map[*G.Node]*Param{}
	for p, n := range g.params {
		byG[n.n] = n
		paramOf[n.n] = p
	}
	inputOf := map[*G.Node]string{}
	for name, n := range g.inputs {
		byG[n.n] = n
		inputOf[n.n] = name
	}
	var steps []Step
	for i := len(sorted) - 1; i >= 0; i-- {
		gn := sorted[i]
		if !live[gn] {
			continue
		}
		if p, ok := paramOf[gn]; ok {
			steps = append(steps, Step{Out: byG[gn], Param: p})
			continue
		}
		if name, ok := inputOf[gn]; ok {
			steps = append(steps, Step{Out: byG[gn], Input: name})
			continue
		}
		op, ok := gn.Op().(*kernelOp)
		if !ok {
			return nil, fmt.Errorf("autograd: trace: node %q is not a kernel, parameter or input", gn.Name())
		}
		out := &Node{g: g, n: gn, shape: cloneShape(op.outShape), isInt: op.outInt}
		byG[gn] = out
		kids := children(g.eg, gn)
		in := make([]*Node, len(kids))
		for j, c := range kids {
			if in[j] = byG[c]; in[j] == nil {
				return nil, fmt.Errorf("autograd: trace: %s: input %d used before it was defined", op.k.Name(), j)
			}
		}
		steps = append(steps, Step{Out: out, Kernel: op.k, In: in})
	}
	return steps, nil
}

// Same reports whether a and b are the same graph node (Trace returns its
// own *Node values for kernel outputs).
func Same(a, b *Node) bool { return a != nil && b != nil && a.n == b.n }

// InputNode returns the declared input of that name (nil if none).
func (g *Graph) InputNode(name string) *Node { return g.inputs[name] }
