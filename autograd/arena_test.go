package autograd

import (
	"slices"
	"strings"
	"testing"
)

// Regions of values alive at different times share offsets; regions
// alive at the same time never overlap.
func TestLayoutSharesOnlyDisjointLifetimes(t *testing.T) {
	a := &storage{n: 100, first: 0, last: 1}
	b := &storage{n: 100, first: 2, last: 3} // after a: may reuse a's bytes
	c := &storage{n: 40, first: 1, last: 2}  // overlaps a and b
	d := &storage{n: 8, dt: Int64, first: 0, last: 3}
	total := layout([]*storage{a, b, c, d}, Float32)
	if a.off != b.off {
		t.Errorf("disjoint lifetimes got offsets %d and %d, want shared", a.off, b.off)
	}
	if c.off < a.off+a.n && a.off < c.off+c.n {
		t.Errorf("c [%d,%d) overlaps a [%d,%d) while both are live", c.off, c.off+c.n, a.off, a.off+a.n)
	}
	if c.off%16 != 0 {
		t.Errorf("offset %d is not 64-byte aligned", c.off)
	}
	if total != 112+40 {
		t.Errorf("float layout needs %d elements, want 152 (100, aligned to 112, then 40)", total)
	}
	if got := layout([]*storage{a, b, c, d}, Int64); got != 8 || d.off != 0 {
		t.Errorf("int layout %d elements at %d, want 8 at 0", got, d.off)
	}
}

// netWithInput is buildNet's shape of network over an input of n rows.
func netWithInput(t *testing.T, s *Store, n int) (*Graph, *Node, *Node) {
	t.Helper()
	g := NewGraph(s, false)
	x := g.Input("x", n, 4)
	h := ReLU(Linear(x, g.Param("w"), g.Param("b"))) // (n,5)
	y := Add(h, h)
	cost := DotConst(y, randWeights(n*5, 9))
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	return g, y, cost
}

// Machines of different shapes share one arena: the smaller does not grow
// it, and each gives the results it gives on an arena of its own.
func TestMachinesShareOneArena(t *testing.T) {
	s := NewStore()
	randParam(t, s, "w", 5, 4)
	randParam(t, s, "b", 5)
	s.Initialize(3)
	arena := NewArena(CPU)
	run := func(m *Machine, n int) ([]float32, []float32) {
		t.Helper()
		s.ZeroGrad()
		if err := m.SetFloats("x", randWeights(n*4, uint64(n)), n, 4); err != nil {
			t.Fatal(err)
		}
		if err := m.Run(); err != nil {
			t.Fatal(err)
		}
		w, _ := s.Get("w")
		return slices.Clone(m.vals[m.outputs[0].n].F), slices.Clone(w.Grad)
	}
	compile := func(a *Arena, n int) *Machine {
		g, y, cost := netWithInput(t, s, n)
		var m *Machine
		var err error
		if a == nil {
			m, err = Compile(g, cost, y)
		} else {
			m, err = CompileIn(a, g, cost, y)
		}
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	big, small := compile(arena, 64), compile(arena, 3)
	run(big, 64)
	size := arena.Bytes()
	if size < big.Bytes() || big.Bytes() <= small.Bytes() {
		t.Fatalf("arena %d bytes, plans need %d (64 rows) and %d (3 rows)", size, big.Bytes(), small.Bytes())
	}
	gotY, gotG := run(small, 3)
	if arena.Bytes() != size {
		t.Fatalf("the 3-row plan changed the arena from %d to %d bytes", size, arena.Bytes())
	}
	wantY, wantG := run(compile(nil, 3), 3)
	if !slices.Equal(gotY, wantY) || !slices.Equal(gotG, wantG) {
		t.Fatal("a plan's results depend on what ran in its arena before")
	}
	bigY, _ := run(big, 64)
	if againY, _ := run(big, 64); !slices.Equal(bigY, againY) {
		t.Fatal("the 64-row plan is not repeatable after the 3-row one ran")
	}
}

// Only outputs, the cost and inputs can be read after a Run: the storage
// of every other value is reused.
func TestIntermediatesAreNotReadable(t *testing.T) {
	s := NewStore()
	randParam(t, s, "w", 5, 4)
	randParam(t, s, "b", 5)
	g := NewGraph(s, false)
	x := g.Input("x", 2, 4)
	h := Linear(x, g.Param("w"), g.Param("b"))
	y := ReLU(h)
	m, err := Compile(g, nil, y)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetFloats("x", randWeights(8, 1), 2, 4); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Value(y); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Value(x); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Value(h); err == nil || !strings.Contains(err.Error(), "not an output") {
		t.Fatalf("reading an intermediate: %v, want a not-an-output error", err)
	}
}

// The CPU backend checks its bounds and copies exactly.
func TestCPUBackend(t *testing.T) {
	b, err := CPU.Alloc(Float32, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := CPU.CopyFromHost(b, 4, Value{F: []float32{1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	v, err := CPU.View(b, 3, []int{2, 2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v.F, []float32{0, 1, 2, 3}) || !slices.Equal(v.Shape, []int{2, 2}) {
		t.Fatalf("view %v %v", v.Shape, v.F)
	}
	out := Value{F: make([]float32, 2)}
	if err := CPU.CopyToHost(out, b, 5); err != nil || !slices.Equal(out.F, []float32{2, 3}) {
		t.Fatalf("copy to host: %v %v", out.F, err)
	}
	if _, err := CPU.View(b, 8, []int{3}); err == nil {
		t.Fatal("a view past the end was accepted")
	}
	if err := CPU.CopyFromHost(b, 9, Value{F: []float32{1, 2}}); err == nil {
		t.Fatal("a copy past the end was accepted")
	}
	ib, err := CPU.Alloc(Int64, 3)
	if err != nil || ib.DType() != Int64 || ib.Len() != 3 {
		t.Fatalf("int buffer %v %v", ib, err)
	}
	if err := CPU.Free(b); err != nil {
		t.Fatal(err)
	}
}

// With a poisoned arena (dead regions overwritten with NaN) the gradients
// still match finite differences: no kernel of the test network reads a
// value past the lifetime its BackwardReads and Buffers declare.
func TestPoisonedArenaGradients(t *testing.T) {
	s := newNetStore(t)
	g, cost := buildNet(t, s, true)
	arena := NewArena(CPU)
	arena.Poison = true
	m, err := CompileIn(arena, g, cost)
	if err != nil {
		t.Fatal(err)
	}
	var ps []*Param
	for _, name := range []string{"x", "w", "b", "q", "wq"} {
		p, _ := s.Get(name)
		ps = append(ps, p)
	}
	if err := GradCheck(m, ps, 1e-2, 2e-2); err != nil {
		t.Fatal(err)
	}
}
