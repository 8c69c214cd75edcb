package autograd

import (
	"fmt"
	"slices"
	"strings"

	G "gorgonia.org/gorgonia"
)

// Machine executes a compiled Graph: forward, and with a cost, the
// backward pass and the accumulation of parameter gradients into the
// store. Buffers are allocated once, at Compile, and reused by every Run.
type Machine struct {
	g       *Graph
	run     uint64
	steps   []func() error
	vals    map[*G.Node]*Value
	inputs  map[string]*Value
	grads   []paramGrad
	cost    *Node
	outputs []*Node
}

type paramGrad struct {
	p    *Param
	grad *Value
}

// Compile prepares g for execution. With a non-nil cost (a scalar node) the
// backward graph is derived for every trainable parameter the cost depends
// on, and each Run adds those gradients into the parameters' Grad. Only the
// nodes that the cost and outputs need are executed.
func Compile(g *Graph, cost *Node, outputs ...*Node) (*Machine, error) {
	if g.err != nil {
		return nil, g.err
	}
	targets := append([]*Node{}, outputs...)
	if cost != nil {
		targets = append(targets, cost)
	}
	for _, t := range targets {
		if t == nil || t.n == nil {
			return nil, fmt.Errorf("autograd: compile: missing output node")
		}
	}
	m := &Machine{g: g, vals: map[*G.Node]*Value{}, inputs: map[string]*Value{}, cost: cost, outputs: outputs}

	var gradNodes []*G.Node
	var gradParams []*Param
	if cost != nil {
		if len(cost.shape) != 0 {
			return nil, fmt.Errorf("autograd: compile: cost must be a scalar, got shape %v", cost.shape)
		}
		reach := ancestors(g.eg, []*G.Node{cost.n})
		var wrt G.Nodes
		for _, p := range g.paramOrd {
			n := g.params[p]
			if p.Frozen || !reach[n.n] {
				continue
			}
			wrt = append(wrt, n.n)
			gradParams = append(gradParams, p)
		}
		if len(wrt) > 0 {
			gs, err := G.Grad(cost.n, wrt...)
			if err != nil {
				return nil, fmt.Errorf("autograd: deriving gradients: %w", err)
			}
			gradNodes = gs
		}
	}

	roots := make([]*G.Node, 0, len(targets)+len(gradNodes))
	for _, t := range targets {
		roots = append(roots, t.n)
	}
	roots = append(roots, gradNodes...)
	live := ancestors(g.eg, roots)

	sorted, err := G.Sort(g.eg)
	if err != nil {
		return nil, fmt.Errorf("autograd: sorting graph: %w", err)
	}
	// G.Sort returns outputs first; execute inputs first.
	order := make([]*G.Node, 0, len(sorted))
	for i := len(sorted) - 1; i >= 0; i-- {
		if live[sorted[i]] {
			order = append(order, sorted[i])
		}
	}

	paramByNode := map[*G.Node]*Param{}
	for p, n := range g.params {
		paramByNode[n.n] = p
	}
	inputByNode := map[*G.Node]string{}
	for name, n := range g.inputs {
		inputByNode[n.n] = name
	}
	// Which backward nodes are live, per forward kernel.
	for _, n := range order {
		if b, ok := n.Op().(*bwdOp); ok {
			st := b.fwd.state
			if st == nil {
				st = &bwdState{need: make([]bool, len(b.fwd.inShapes)), grads: make([]Value, len(b.fwd.inShapes))}
				b.fwd.state = st
			}
			st.need[b.which] = true
		}
	}

	for _, n := range order {
		if err := m.plan(n, paramByNode, inputByNode); err != nil {
			return nil, err
		}
	}
	for i, gn := range gradNodes {
		m.grads = append(m.grads, paramGrad{p: gradParams[i], grad: m.vals[gn]})
	}
	return m, nil
}

func children(eg *G.ExprGraph, n *G.Node) []*G.Node {
	it := eg.From(n.ID())
	if it == nil {
		return nil
	}
	out := make([]*G.Node, 0, it.Len())
	for it.Next() {
		out = append(out, it.Node().(*G.Node))
	}
	return out
}

func ancestors(eg *G.ExprGraph, roots []*G.Node) map[*G.Node]bool {
	seen := map[*G.Node]bool{}
	stack := append([]*G.Node{}, roots...)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[n] {
			continue
		}
		seen[n] = true
		stack = append(stack, children(eg, n)...)
	}
	return seen
}

func nodeShape(n *G.Node) []int {
	s := n.Shape()
	if s.IsScalar() {
		return []int{}
	}
	return cloneShape(s)
}

func newValue(shape []int, isInt bool) *Value {
	v := &Value{Shape: cloneShape(shape)}
	if isInt {
		v.I = make([]int64, Numel(shape))
	} else {
		v.F = make([]float32, Numel(shape))
	}
	return v
}

// plan allocates n's buffer and appends its execution step.
func (m *Machine) plan(n *G.Node, params map[*G.Node]*Param, inputs map[*G.Node]string) error {
	eg := m.g.eg
	kids := children(eg, n)
	kidVals := make([]*Value, len(kids))
	for i, c := range kids {
		v, ok := m.vals[c]
		if !ok {
			return fmt.Errorf("autograd: node %v used before it was planned", c)
		}
		kidVals[i] = v
	}
	switch op := n.Op().(type) {
	case nil:
		if p, ok := params[n]; ok {
			m.vals[n] = &Value{Shape: cloneShape(p.Shape), F: p.Data}
			return nil
		}
		if name, ok := inputs[n]; ok {
			v := newValue(nodeShape(n), n.Dtype() != dtypeOf(false))
			m.vals[n] = v
			m.inputs[name] = v
			return nil
		}
		return fmt.Errorf("autograd: unbound argument node %q", n.Name())
	case *kernelOp:
		if a, ok := op.k.(Aliaser); ok && a.Alias() {
			src := kidVals[0]
			m.vals[n] = &Value{Shape: cloneShape(op.outShape), F: src.F, I: src.I}
			return nil
		}
		out := newValue(op.outShape, op.outInt)
		m.vals[n] = out
		k := op.k
		in := make([]Value, len(kidVals))
		m.steps = append(m.steps, func() error {
			for i, v := range kidVals {
				in[i] = *v
			}
			if err := k.Forward(in, *out); err != nil {
				return fmt.Errorf("%s: %w", k.Name(), err)
			}
			return nil
		})
		return nil
	case *bwdOp:
		st := op.fwd.state
		k := op.fwd.k
		nIn := len(op.fwd.inShapes)
		if a, ok := k.(Aliaser); ok && a.Alias() {
			dout := kidVals[nIn+1]
			m.vals[n] = &Value{Shape: cloneShape(op.fwd.inShapes[op.which]), F: dout.F}
			return nil
		}
		if st.grads[op.which].F == nil {
			st.grads[op.which] = *newValue(op.fwd.inShapes[op.which], false)
		}
		gv := st.grads[op.which]
		m.vals[n] = &gv
		in := make([]Value, nIn)
		grads := st.grads
		for i := range grads {
			if !st.need[i] {
				grads[i] = Value{Shape: op.fwd.inShapes[i]}
			}
		}
		m.steps = append(m.steps, func() error {
			if st.run == m.run {
				return nil
			}
			st.run = m.run
			for i := 0; i < nIn; i++ {
				in[i] = *kidVals[i]
			}
			if err := k.Backward(in, *kidVals[nIn], *kidVals[nIn+1], grads); err != nil {
				return fmt.Errorf("%s backward: %w", k.Name(), err)
			}
			return nil
		})
		return nil
	default:
		// Gorgonia's own nodes created by gorgonia.Grad: the constant 1
		// seeding the backward pass and additions summing the gradients
		// of a node used more than once.
		if n.IsScalar() && len(kids) == 0 {
			v := n.Value()
			if v == nil {
				return fmt.Errorf("autograd: constant node %v has no value", n)
			}
			f, ok := v.Data().(float32)
			if !ok {
				return fmt.Errorf("autograd: constant node %v: unsupported value %T", n, v.Data())
			}
			m.vals[n] = &Value{Shape: []int{}, F: []float32{f}}
			return nil
		}
		if strings.HasPrefix(strings.TrimSpace(op.String()), "+ ") && len(kids) == 2 && slices.Equal(kidVals[0].Shape, kidVals[1].Shape) {
			out := newValue(kidVals[0].Shape, false)
			m.vals[n] = out
			a, b := kidVals[0], kidVals[1]
			m.steps = append(m.steps, func() error {
				addInto(out.F, a.F, b.F)
				return nil
			})
			return nil
		}
		return fmt.Errorf("autograd: unsupported Gorgonia op %q (%T) in graph", op.String(), op)
	}
}

func addInto(dst, a, b []float32) {
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

// Set copies a batch tensor into the input declared with that name. Its
// shape must equal the declared (bucket) shape.
func (m *Machine) Set(name string, v Value) error {
	dst, ok := m.inputs[name]
	if !ok {
		if _, declared := m.g.inputs[name]; declared {
			return nil // declared but not needed by the compiled outputs
		}
		return fmt.Errorf("autograd: no input %q", name)
	}
	if !slices.Equal(dst.Shape, v.Shape) {
		return fmt.Errorf("autograd: input %q: shape %v, graph expects %v", name, v.Shape, dst.Shape)
	}
	switch {
	case dst.I != nil:
		if len(v.I) != len(dst.I) {
			return fmt.Errorf("autograd: input %q wants int64 data of length %d", name, len(dst.I))
		}
		copy(dst.I, v.I)
	default:
		if len(v.F) != len(dst.F) {
			return fmt.Errorf("autograd: input %q wants float32 data of length %d", name, len(dst.F))
		}
		copy(dst.F, v.F)
	}
	return nil
}

// SetFloats and SetInts are shorthands for Set.
func (m *Machine) SetFloats(name string, data []float32, shape ...int) error {
	return m.Set(name, Value{Shape: shape, F: data})
}

// SetInts binds an int64 input.
func (m *Machine) SetInts(name string, data []int64, shape ...int) error {
	return m.Set(name, Value{Shape: shape, I: data})
}

// Run executes the graph once. With a cost, parameter gradients are added
// into each trainable parameter's Grad (call Store.ZeroGrad between
// optimizer steps; successive Runs accumulate, which is gradient
// accumulation).
func (m *Machine) Run() error {
	m.run++
	for _, step := range m.steps {
		if err := step(); err != nil {
			return err
		}
	}
	for _, pg := range m.grads {
		addInto(pg.p.Grad, pg.p.Grad, pg.grad.F)
	}
	return nil
}

// Value returns the current value of a node computed by the last Run. The
// data is the machine's buffer: copy it to keep it past the next Run.
func (m *Machine) Value(n *Node) (Value, error) {
	v, ok := m.vals[n.n]
	if !ok {
		return Value{}, fmt.Errorf("autograd: node is not part of the compiled machine")
	}
	return *v, nil
}

// Cost returns the scalar cost of the last Run.
func (m *Machine) Cost() float32 {
	if m.cost == nil {
		return 0
	}
	return m.vals[m.cost.n].F[0]
}

// TrainedParams lists the parameters whose gradients each Run produces.
func (m *Machine) TrainedParams() []*Param {
	out := make([]*Param, len(m.grads))
	for i, pg := range m.grads {
		out[i] = pg.p
	}
	return out
}

// Bytes is the memory the machine's own buffers take (activations, saved
// state of its inputs and gradients; parameters are the store's and not
// counted). Models use it to bound their graph caches.
func (m *Machine) Bytes() int64 {
	seen := map[*float32]bool{}
	var n int64
	add := func(v *Value) {
		if len(v.F) > 0 {
			if p := &v.F[0]; !seen[p] {
				seen[p] = true
				n += int64(cap(v.F)) * 4
			}
		}
		n += int64(cap(v.I)) * 8
	}
	params := map[*float32]bool{}
	for _, p := range m.g.paramOrd {
		if len(p.Data) > 0 {
			params[&p.Data[0]] = true
		}
	}
	for _, v := range m.vals {
		if len(v.F) > 0 && params[&v.F[0]] {
			continue
		}
		add(v)
	}
	return n
}
