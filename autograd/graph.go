package autograd

import (
	"errors"
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Node is a value in a Graph: a parameter, an input bound per run, or the
// output of a kernel.
type Node struct {
	g     *Graph
	n     *G.Node
	shape []int
	isInt bool
}

// Shape returns the node's static shape.
func (n *Node) Shape() []int { return n.shape }

// Dim returns dimension i, counting from the end when i < 0.
func (n *Node) Dim(i int) int {
	if i < 0 {
		i += len(n.shape)
	}
	return n.shape[i]
}

// Graph is a Gorgonia expression graph for one shape bucket. Building
// errors are sticky: the first one is kept, later operations return
// placeholder nodes, and Err or Compile reports it. That keeps model code
// a readable sequence of operations.
type Graph struct {
	eg       *G.ExprGraph
	store    *Store
	params   map[*Param]*Node
	paramOrd []*Param
	inputs   map[string]*Node
	kernels  map[*G.Node]*kernelOp
	err      error
	// Train reports whether the graph is built for training (dropout on).
	Train bool
	// RNG feeds stochastic kernels (dropout) of this graph; Machine.Run
	// draws from it in execution order, so runs are reproducible.
	RNG *rand.Rand
}

// NewGraph starts a graph over the parameters of store.
func NewGraph(store *Store, train bool) *Graph {
	return &Graph{
		eg:      G.NewGraph(),
		store:   store,
		params:  map[*Param]*Node{},
		inputs:  map[string]*Node{},
		kernels: map[*G.Node]*kernelOp{},
		Train:   train,
		RNG:     rand.New(rand.NewPCG(0, 0)),
	}
}

// Store returns the parameter store the graph binds.
func (g *Graph) Store() *Store { return g.store }

// Err returns the first error met while building.
func (g *Graph) Err() error { return g.err }

// Fail records err (the first one wins) and returns a placeholder node.
func (g *Graph) Fail(err error) *Node {
	if g.err == nil && err != nil {
		g.err = err
	}
	return &Node{g: g}
}

func (g *Graph) failed(nodes ...*Node) bool {
	if g.err != nil {
		return true
	}
	for _, n := range nodes {
		if n == nil || n.n == nil {
			g.err = errors.New("autograd: operation on a missing node")
			return true
		}
	}
	return false
}

// Param binds the store's parameter of that name into the graph, without
// copying its values. Binding the same name twice returns the same node.
func (g *Graph) Param(name string) *Node {
	if g.err != nil {
		return &Node{g: g}
	}
	p, ok := g.store.Get(name)
	if !ok {
		return g.Fail(fmt.Errorf("autograd: no parameter %q in the store", name))
	}
	if n, ok := g.params[p]; ok {
		return n
	}
	t := tensor.New(tensor.WithShape(p.Shape...), tensor.WithBacking(p.Data))
	gn := G.NewTensor(g.eg, tensor.Float32, len(p.Shape), G.WithShape(p.Shape...), G.WithName(p.Name), G.WithValue(t))
	n := &Node{g: g, n: gn, shape: cloneShape(p.Shape)}
	g.params[p] = n
	g.paramOrd = append(g.paramOrd, p)
	return n
}

// Input declares a float32 input of a fixed shape, bound before each run
// with Machine.Set.
func (g *Graph) Input(name string, shape ...int) *Node { return g.input(name, shape, false) }

// IntInput declares an int64 input (indices, lengths).
func (g *Graph) IntInput(name string, shape ...int) *Node { return g.input(name, shape, true) }

func (g *Graph) input(name string, shape []int, isInt bool) *Node {
	if g.err != nil {
		return &Node{g: g}
	}
	if _, dup := g.inputs[name]; dup {
		return g.Fail(fmt.Errorf("autograd: input %q declared twice", name))
	}
	if len(shape) == 0 {
		return g.Fail(fmt.Errorf("autograd: input %q: scalar inputs are not supported", name))
	}
	for _, d := range shape {
		if d <= 0 {
			return g.Fail(fmt.Errorf("autograd: input %q: bad shape %v", name, shape))
		}
	}
	gn := G.NewTensor(g.eg, dtypeOf(isInt), len(shape), G.WithShape(shape...), G.WithName("input:"+name))
	n := &Node{g: g, n: gn, shape: cloneShape(shape), isInt: isInt}
	g.inputs[name] = n
	return n
}

// Apply adds a kernel node over inputs.
func (g *Graph) Apply(k Kernel, inputs ...*Node) *Node {
	if g.failed(inputs...) {
		return &Node{g: g}
	}
	shapes := make([][]int, len(inputs))
	ints := make([]bool, len(inputs))
	children := make(G.Nodes, len(inputs))
	for i, in := range inputs {
		shapes[i] = in.shape
		ints[i] = in.isInt
		children[i] = in.n
	}
	out, err := k.OutShape(shapes)
	if err != nil {
		return g.Fail(fmt.Errorf("%s: %w", k.Name(), err))
	}
	_, outInt := k.(IntOutput)
	op := &kernelOp{k: k, id: opCounter.Add(1), inShapes: shapes, inInt: ints, outShape: cloneShape(out), outInt: outInt}
	gn, err := G.ApplyOp(op, children...)
	if err != nil {
		return g.Fail(fmt.Errorf("%s: gorgonia: %w", k.Name(), err))
	}
	g.kernels[gn] = op
	return &Node{g: g, n: gn, shape: cloneShape(out), isInt: outInt}
}

// Gorgonia exposes the underlying expression graph (for inspection and
// tests that compare with Gorgonia's own operations).
func (g *Graph) Gorgonia() *G.ExprGraph { return g.eg }

// Graph returns the graph the node belongs to.
func (n *Node) Graph() *Graph { return n.g }
