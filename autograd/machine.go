package autograd

import (
	"fmt"
	"math"
	"slices"
	"strings"

	G "gorgonia.org/gorgonia"
)

// Machine executes a compiled Graph: forward, and with a cost, the
// backward pass and the accumulation of parameter gradients into the
// store. It is a plan: the kernels in execution order and, for every value
// and every kernel buffer, a region of an Arena chosen from the value's
// lifetime. It holds no memory of its own beyond its kernels' small index
// buffers; the arena is sized at the first Set or Run and reused by every
// Run, so a steady-state step allocates nothing.
type Machine struct {
	g     *Graph
	arena *Arena
	be    Backend
	steps []step
	vals  map[*G.Node]*Value
	// views binds values to arena storage (rebuilt when the arena grows).
	views  []view
	sts    []*storage
	nf, ni int
	gen    uint64
	bound  bool
	inputs map[string]*Value
	// kept are the values readable after Run (outputs, cost, inputs).
	kept map[*G.Node]bool
	// dead[i] are the storages whose last reader is step i.
	dead      [][]*storage
	deadViews [][]Value
	poisoned  bool
	grads     []paramGrad
	cost      *Node
	outputs   []*Node
	// host is true on the CPU backend, where values are host slices; on a
	// device backend values carry device addresses (Value.Dev), inputs are
	// uploaded and outputs downloaded through the backend.
	host bool
	// inputSt are the inputs' arena regions (device uploads).
	inputSt map[string]*storage
	// consts holds the graph's constants on a device backend (uploaded
	// once, at compile time); constVals are their values.
	consts    Buffer
	constVals []*Value
	constData []float32
}

// view ties a value to its storage.
type view struct {
	v  *Value
	st *storage
}

// step is one kernel call of the plan, with the kernel buffers to point
// at the arena before it runs.
type step struct {
	run  func() error
	bufs []stepBuf
}

type stepBuf struct {
	dst *[]float32
	st  *storage
	v   []float32 // bound view
}

type paramGrad struct {
	p    *Param
	grad *Value
	// acc is the parameter's gradient in the store's backend (device
	// backends; on the CPU Run adds into p.Grad directly).
	acc Value
}

// bwdPlan is the one backward step of a forward kernel: it computes every
// needed input gradient at once.
type bwdPlan struct {
	grads []Value
	gst   []*storage
	need  []bool
	step  int // index of the step, -1 before it is planned
	saved []*storage
}

// Compile prepares g for execution on its own arena over the CPU backend.
// See CompileIn.
func Compile(g *Graph, cost *Node, outputs ...*Node) (*Machine, error) {
	return CompileIn(NewArena(CPU), g, cost, outputs...)
}

// CompileIn prepares g for execution in arena. With a non-nil cost (a
// scalar node) the backward graph is derived for every trainable
// parameter the cost depends on, and each Run adds those gradients into
// the parameters' Grad. Only the nodes that the cost and outputs need are
// executed, and only the outputs, the cost and the inputs can be read
// after a Run (Value): every other value's storage is reused once its
// last reader has run.
func CompileIn(arena *Arena, g *Graph, cost *Node, outputs ...*Node) (*Machine, error) {
	if g.err != nil {
		return nil, g.err
	}
	if arena == nil {
		return nil, fmt.Errorf("autograd: compile: nil arena")
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
	m := &Machine{g: g, arena: arena, be: arena.be, vals: map[*G.Node]*Value{}, inputs: map[string]*Value{},
		kept: map[*G.Node]bool{}, cost: cost, outputs: outputs, host: IsHost(arena.be), inputSt: map[string]*storage{}}
	if g.store != nil && g.store.Backend() != arena.be {
		return nil, fmt.Errorf("autograd: compile: the parameters are on the %s backend and the arena on %s (Store.Place the store on the arena's backend)",
			g.store.Backend().Name(), arena.be.Name())
	}

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
		m.kept[t.n] = true
	}
	roots = append(roots, gradNodes...)
	for _, gn := range gradNodes {
		m.kept[gn] = true
	}
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
	bwd := map[*kernelOp]*bwdPlan{}
	for _, n := range order {
		if b, ok := n.Op().(*bwdOp); ok {
			bp := bwd[b.fwd]
			if bp == nil {
				nIn := len(b.fwd.inShapes)
				bp = &bwdPlan{need: make([]bool, nIn), grads: make([]Value, nIn), gst: make([]*storage, nIn), step: -1}
				bwd[b.fwd] = bp
			}
			bp.need[b.which] = true
		}
	}

	p := &planner{m: m, params: paramByNode, inputs: inputByNode, bwd: bwd, stOf: map[*Value]*storage{}}
	for _, n := range order {
		if err := p.plan(n); err != nil {
			return nil, err
		}
	}
	end := len(m.steps)
	for n := range m.kept {
		if st := p.stOf[m.vals[n]]; st != nil {
			st.last = end
		}
	}
	for _, v := range m.inputs {
		if st := p.stOf[v]; st != nil {
			st.first, st.last = -1, end
		}
	}
	m.nf = layout(m.sts, Float32)
	m.ni = layout(m.sts, Int64)
	m.dead = make([][]*storage, len(m.steps))
	for _, st := range m.sts {
		if st.last >= 0 && st.last < end {
			m.dead[st.last] = append(m.dead[st.last], st)
		}
	}
	for i, gn := range gradNodes {
		pg := paramGrad{p: gradParams[i], grad: m.vals[gn]}
		if !m.host {
			if pg.acc, err = g.store.GradValue(pg.p); err != nil {
				return nil, fmt.Errorf("autograd: gradient of %q: %w", pg.p.Name, err)
			}
		}
		m.grads = append(m.grads, pg)
	}
	if err := m.placeConstants(); err != nil {
		return nil, err
	}
	return m, nil
}

// placeConstants uploads the graph's constants to a device backend, once.
func (m *Machine) placeConstants() error {
	if m.host || len(m.constVals) == 0 {
		return nil
	}
	b, err := m.be.Alloc(Float32, len(m.constData))
	if err != nil {
		return fmt.Errorf("autograd: constants: %w", err)
	}
	if err := m.be.CopyFromHost(b, 0, Value{Shape: []int{len(m.constData)}, F: m.constData}); err != nil {
		return fmt.Errorf("autograd: constants: %w", err)
	}
	m.consts = b
	for i, v := range m.constVals {
		dv, err := m.be.View(b, i, []int{})
		if err != nil {
			return fmt.Errorf("autograd: constants: %w", err)
		}
		v.F, v.Dev = nil, dv.Dev
	}
	return nil
}

// Release frees the machine's own device memory (its constants; the
// arena and the store are shared and freed by their owners). On the CPU
// it does nothing.
func (m *Machine) Release() error {
	if m.consts == nil {
		return nil
	}
	b := m.consts
	m.consts = nil
	return m.be.Free(b)
}

// check asks a backend that runs only some kernels whether it runs k.
func (m *Machine) check(k Kernel, backward bool) error {
	kc, ok := m.be.(KernelChecker)
	if !ok {
		return nil
	}
	if err := kc.CheckKernel(k, backward); err != nil {
		phase := "forward"
		if backward {
			phase = "backward"
		}
		return fmt.Errorf("autograd: compile for the %s backend: %s %s: %w", m.be.Name(), k.Name(), phase, err)
	}
	return nil
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

// planner turns the sorted graph into steps and storages.
type planner struct {
	m      *Machine
	params map[*G.Node]*Param
	inputs map[*G.Node]string
	bwd    map[*kernelOp]*bwdPlan
	// stOf is each arena value's storage (aliases share their source's).
	stOf map[*Value]*storage
}

// newValue adds a value of shape backed by a new storage, first written
// by the step about to be planned.
func (p *planner) newValue(shape []int, isInt bool) *Value {
	m := p.m
	v := &Value{Shape: cloneShape(shape)}
	dt := Float32
	if isInt {
		dt = Int64
	}
	st := &storage{dt: dt, n: Numel(shape), first: len(m.steps), last: len(m.steps)}
	m.sts = append(m.sts, st)
	m.views = append(m.views, view{v: v, st: st})
	p.stOf[v] = st
	return v
}

// alias adds a value sharing src's storage.
func (p *planner) alias(src *Value, shape []int) *Value {
	v := &Value{Shape: cloneShape(shape), F: src.F, I: src.I, Dev: src.Dev}
	if st := p.stOf[src]; st != nil {
		p.stOf[v] = st
		p.m.views = append(p.m.views, view{v: v, st: st})
	}
	return v
}

// use extends the lifetimes of vals to the step about to be planned.
func (p *planner) use(vals ...*Value) {
	at := len(p.m.steps)
	for _, v := range vals {
		if st := p.stOf[v]; st != nil && st.last < at {
			st.last = at
		}
	}
}

// kernelBufs gives a kernel's buffers of one phase their storages.
func (p *planner) kernelBufs(k Kernel, inShapes [][]int, backward bool, bp *bwdPlan) []stepBuf {
	bk, ok := k.(Buffered)
	if !ok {
		return nil
	}
	at := len(p.m.steps)
	var out []stepBuf
	for _, b := range bk.Buffers(inShapes) {
		if b.Buf == nil || b.Len <= 0 {
			continue
		}
		switch {
		case b.Use == Saved && backward:
			continue // bound at the forward step, still live
		case b.Use == ForwardScratch && backward, b.Use == BackwardScratch && !backward:
			continue
		}
		st := &storage{dt: Float32, n: b.Len, first: at, last: at}
		p.m.sts = append(p.m.sts, st)
		if b.Use == Saved && bp != nil {
			bp.saved = append(bp.saved, st)
		}
		out = append(out, stepBuf{dst: b.Buf, st: st})
	}
	return out
}

func (p *planner) plan(n *G.Node) error {
	m := p.m
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
		if prm, ok := p.params[n]; ok {
			if m.host {
				m.vals[n] = &Value{Shape: cloneShape(prm.Shape), F: prm.Data}
				return nil
			}
			v, err := m.g.store.DataValue(prm)
			if err != nil {
				return fmt.Errorf("autograd: parameter %q: %w", prm.Name, err)
			}
			m.vals[n] = &v
			return nil
		}
		if name, ok := p.inputs[n]; ok {
			v := p.newValue(nodeShape(n), n.Dtype() != dtypeOf(false))
			m.vals[n] = v
			m.inputs[name] = v
			m.inputSt[name] = p.stOf[v]
			m.kept[n] = true
			return nil
		}
		return fmt.Errorf("autograd: unbound argument node %q", n.Name())
	case *kernelOp:
		if a, ok := op.k.(Aliaser); ok && a.Alias() {
			m.vals[n] = p.alias(kidVals[0], op.outShape)
			return nil
		}
		if err := m.check(op.k, false); err != nil {
			return err
		}
		p.use(kidVals...)
		out := p.newValue(op.outShape, op.outInt)
		m.vals[n] = out
		k, be := op.k, m.be
		bp := p.bwd[op]
		bufs := p.kernelBufs(k, op.inShapes, false, bp)
		in := make([]Value, len(kidVals))
		m.steps = append(m.steps, step{bufs: bufs, run: func() error {
			for i, v := range kidVals {
				in[i] = *v
			}
			if err := be.Forward(k, in, *out); err != nil {
				return fmt.Errorf("%s: %w", k.Name(), err)
			}
			return nil
		}})
		return nil
	case *bwdOp:
		k := op.fwd.k
		nIn := len(op.fwd.inShapes)
		if a, ok := k.(Aliaser); ok && a.Alias() {
			m.vals[n] = p.alias(kidVals[nIn+1], op.fwd.inShapes[op.which])
			return nil
		}
		bp := p.bwd[op.fwd]
		if bp.step >= 0 {
			// Computed by the kernel's backward step, planned already.
			m.vals[n] = &bp.grads[op.which]
			p.stOf[&bp.grads[op.which]] = bp.gst[op.which]
			return nil
		}
		if err := m.check(k, true); err != nil {
			return err
		}
		// Lifetimes: the forward values Backward reads, and dout.
		if br, ok := k.(BackwardReads); ok {
			for i := 0; i < nIn; i++ {
				if br.BackwardReadsInput(i) {
					p.use(kidVals[i])
				}
			}
			if br.BackwardReadsOutput() {
				p.use(kidVals[nIn])
			}
		} else {
			p.use(kidVals[:nIn+1]...)
		}
		p.use(kidVals[nIn+1])
		for _, st := range bp.saved {
			st.last = len(m.steps)
		}
		for i := range bp.grads {
			if !bp.need[i] {
				bp.grads[i] = Value{Shape: op.fwd.inShapes[i]}
				continue
			}
			dt := Float32
			st := &storage{dt: dt, n: Numel(op.fwd.inShapes[i]), first: len(m.steps), last: len(m.steps)}
			m.sts = append(m.sts, st)
			bp.grads[i] = Value{Shape: cloneShape(op.fwd.inShapes[i])}
			bp.gst[i] = st
			m.views = append(m.views, view{v: &bp.grads[i], st: st})
		}
		bp.step = len(m.steps)
		m.vals[n] = &bp.grads[op.which]
		p.stOf[&bp.grads[op.which]] = bp.gst[op.which]
		bufs := p.kernelBufs(k, op.fwd.inShapes, true, bp)
		in := make([]Value, nIn)
		grads := bp.grads
		be := m.be
		m.steps = append(m.steps, step{bufs: bufs, run: func() error {
			for i := 0; i < nIn; i++ {
				in[i] = *kidVals[i]
			}
			if err := be.Backward(k, in, *kidVals[nIn], *kidVals[nIn+1], grads); err != nil {
				return fmt.Errorf("%s backward: %w", k.Name(), err)
			}
			return nil
		}})
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
			cv := &Value{Shape: []int{}, F: []float32{f}}
			m.vals[n] = cv
			if !m.host {
				m.constVals = append(m.constVals, cv)
				m.constData = append(m.constData, f)
			}
			return nil
		}
		if strings.HasPrefix(strings.TrimSpace(op.String()), "+ ") && len(kids) == 2 && slices.Equal(kidVals[0].Shape, kidVals[1].Shape) {
			p.use(kidVals...)
			out := p.newValue(kidVals[0].Shape, false)
			m.vals[n] = out
			a, b := kidVals[0], kidVals[1]
			if !m.host {
				if err := m.check(addK{}, false); err != nil {
					return err
				}
				be := m.be
				in := make([]Value, 2)
				m.steps = append(m.steps, step{run: func() error {
					in[0], in[1] = *a, *b
					if err := be.Forward(addK{}, in, *out); err != nil {
						return fmt.Errorf("gradient sum: %w", err)
					}
					return nil
				}})
				return nil
			}
			m.steps = append(m.steps, step{run: func() error {
				addInto(out.F, a.F, b.F)
				return nil
			}})
			return nil
		}
		return fmt.Errorf("autograd: unsupported Gorgonia op %q (%T) in graph", op.String(), op)
	}
}

// bind sizes the arena for this plan and points every value and kernel
// buffer at its region; it runs again only when the arena was reallocated.
func (m *Machine) bind() error {
	a := m.arena
	if m.bound && m.gen == a.gen && m.nf <= a.nf && m.ni <= a.ni && m.poisoned == a.Poison {
		return nil
	}
	if err := a.ensure(m.nf, m.ni); err != nil {
		return err
	}
	for _, vw := range m.views {
		v, err := m.be.View(a.buffer(vw.st.dt), vw.st.off, vw.v.Shape)
		if err != nil {
			return fmt.Errorf("autograd: binding a %v value: %w", vw.v.Shape, err)
		}
		vw.v.F, vw.v.I, vw.v.Dev = v.F, v.I, v.Dev
	}
	if !m.host {
		// Kernel buffers are host slices; a device backend keeps a
		// kernel's saved state itself, except one that runs the kernels'
		// Go bodies on its memory (HostKernelRunner), whose kernels get
		// buffers of their own here, outside the arena.
		if hk, ok := m.be.(HostKernelRunner); ok && hk.RunsHostKernels() {
			for i := range m.steps {
				for j := range m.steps[i].bufs {
					sb := &m.steps[i].bufs[j]
					if len(sb.v) < sb.st.n {
						sb.v = make([]float32, sb.st.n)
					}
				}
			}
		}
		m.gen, m.bound, m.poisoned = a.gen, true, false
		return nil
	}
	for i := range m.steps {
		for j := range m.steps[i].bufs {
			sb := &m.steps[i].bufs[j]
			v, err := m.be.View(a.f, sb.st.off, []int{sb.st.n})
			if err != nil {
				return fmt.Errorf("autograd: binding a kernel buffer: %w", err)
			}
			sb.v = v.F
		}
	}
	m.deadViews = nil
	if a.Poison {
		m.deadViews = make([][]Value, len(m.dead))
		for i, sts := range m.dead {
			for _, st := range sts {
				v, err := m.be.View(a.buffer(st.dt), st.off, []int{st.n})
				if err != nil {
					return fmt.Errorf("autograd: poisoning: %w", err)
				}
				m.deadViews[i] = append(m.deadViews[i], v)
			}
		}
	}
	m.gen, m.bound, m.poisoned = a.gen, true, a.Poison
	return nil
}

func addInto(dst, a, b []float32) {
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

// Set copies a batch tensor into the input declared with that name. Its
// shape must equal the declared shape.
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
	if err := m.bind(); err != nil {
		return fmt.Errorf("autograd: input %q: %w", name, err)
	}
	if !m.host {
		st := m.inputSt[name]
		n := len(v.F)
		if st.dt == Int64 {
			n = len(v.I)
		}
		if n != st.n {
			return fmt.Errorf("autograd: input %q wants %v data of length %d", name, st.dt, st.n)
		}
		if err := m.be.CopyFromHost(m.arena.buffer(st.dt), st.off, v); err != nil {
			return fmt.Errorf("autograd: input %q: %w", name, err)
		}
		return nil
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
	if err := m.bind(); err != nil {
		return err
	}
	for i := range m.steps {
		st := &m.steps[i]
		for _, b := range st.bufs {
			if b.v != nil {
				*b.dst = b.v
			}
		}
		if err := st.run(); err != nil {
			return err
		}
		if m.poisoned {
			m.poison(i)
		}
	}
	if !m.host {
		// Gradients accumulate where they live, with the kernel the
		// CPU's addInto computes (acc = acc + grad, element-wise).
		in := make([]Value, 2)
		for _, pg := range m.grads {
			in[0], in[1] = pg.acc, *pg.grad
			if err := m.be.Forward(addK{}, in, pg.acc); err != nil {
				return fmt.Errorf("autograd: accumulating the gradient of %q: %w", pg.p.Name, err)
			}
		}
		if err := m.be.Synchronize(); err != nil {
			return fmt.Errorf("autograd: %s backend: %w", m.be.Name(), err)
		}
		return nil
	}
	if err := m.be.Synchronize(); err != nil {
		return fmt.Errorf("autograd: %s backend: %w", m.be.Name(), err)
	}
	for _, pg := range m.grads {
		addInto(pg.p.Grad, pg.p.Grad, pg.grad.F)
	}
	return nil
}

// poison overwrites the storages whose last reader was step i (NaN
// floats, a huge negative int) so that a kernel reading a value after its
// lifetime fails its test.
func (m *Machine) poison(i int) {
	nan := float32(math.NaN())
	for _, v := range m.deadViews[i] {
		for j := range v.F {
			v.F[j] = nan
		}
		for j := range v.I {
			v.I[j] = math.MinInt64 / 2
		}
	}
}

// Value returns the current value of an output, the cost or an input
// after the last Run. The data is the arena's: copy it to keep it past
// the next Set or Run of a machine sharing the arena, and keep the machine
// (or its arena) reachable while reading it: a large arena is mapped
// memory that is returned to the OS once no machine or model refers to it.
func (m *Machine) Value(n *Node) (Value, error) {
	v, ok := m.vals[n.n]
	if !ok {
		return Value{}, fmt.Errorf("autograd: node is not part of the compiled machine")
	}
	if !m.kept[n.n] {
		return Value{}, fmt.Errorf("autograd: node %v is not an output of the compiled machine (its storage is reused)", n.n.Name())
	}
	if !m.host {
		return m.download(*v)
	}
	return *v, nil
}

// download copies a device value into new host memory.
func (m *Machine) download(v Value) (Value, error) {
	st, ok := m.storageOf(v)
	if !ok {
		return Value{}, fmt.Errorf("autograd: value %v has no arena storage on the %s backend", v.Shape, m.be.Name())
	}
	out := Value{Shape: cloneShape(v.Shape)}
	if st.dt == Int64 {
		out.I = make([]int64, v.Size())
	} else {
		out.F = make([]float32, v.Size())
	}
	if err := m.be.CopyToHost(out, m.arena.buffer(st.dt), st.off); err != nil {
		return Value{}, fmt.Errorf("autograd: downloading a %v value: %w", v.Shape, err)
	}
	if err := m.be.Synchronize(); err != nil {
		return Value{}, fmt.Errorf("autograd: %s backend: %w", m.be.Name(), err)
	}
	return out, nil
}

// storageOf finds the arena region of a bound device value.
func (m *Machine) storageOf(v Value) (*storage, bool) {
	for _, vw := range m.views {
		if vw.v.Dev == v.Dev && vw.v.Dev != 0 && vw.st.n >= v.Size() {
			return vw.st, true
		}
	}
	return nil, false
}

// Cost returns the scalar cost of the last Run (NaN when a device backend
// fails to return it; ReadCost reports the error).
func (m *Machine) Cost() float32 {
	c, err := m.ReadCost()
	if err != nil {
		return float32(math.NaN())
	}
	return c
}

// ReadCost returns the scalar cost of the last Run: on a device backend
// it downloads those 4 bytes, the step's one read of its results.
func (m *Machine) ReadCost() (float32, error) {
	if m.cost == nil {
		return 0, nil
	}
	v := m.vals[m.cost.n]
	if m.host {
		return v.F[0], nil
	}
	out, err := m.download(*v)
	if err != nil {
		return 0, err
	}
	return out.F[0], nil
}

// InputBytes is the bytes one upload of every input of the compiled plan
// moves (what a device backend copies in per Run).
func (m *Machine) InputBytes() int64 {
	var n int64
	for name := range m.inputs {
		st := m.inputSt[name]
		if st.dt == Int64 {
			n += int64(st.n) * 8
		} else {
			n += int64(st.n) * 4
		}
	}
	return n
}

// TrainedParams lists the parameters whose gradients each Run produces.
func (m *Machine) TrainedParams() []*Param {
	out := make([]*Param, len(m.grads))
	for i, pg := range m.grads {
		out[i] = pg.p
	}
	return out
}

// Bytes is the arena memory the plan needs (values, saved activations,
// kernel scratch, gradients; parameters are the store's and not counted).
func (m *Machine) Bytes() int64 { return int64(m.nf)*4 + int64(m.ni)*8 }

// Arena returns the arena the machine runs in.
func (m *Machine) Arena() *Arena { return m.arena }
