package backendtest_test

import (
	"math"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/backendtest"
)

// model builds a small graph (a parameter used twice, so Gorgonia sums two
// gradients; a layer norm, whose backward reads saved statistics) over a
// store on be.
func model(t *testing.T, be autograd.Backend) (*autograd.Store, *autograd.Machine, *autograd.Node) {
	t.Helper()
	s := autograd.NewStore()
	for _, p := range []struct {
		name  string
		shape []int
	}{{"w", []int{4, 3}}, {"b", []int{4}}, {"ln.weight", []int{4}}, {"ln.bias", []int{4}}} {
		if _, err := s.Add(p.name, p.shape, autograd.Uniform{Bound: 0.5}); err != nil {
			t.Fatal(err)
		}
	}
	s.Initialize(7)
	if err := s.Place(be); err != nil {
		t.Fatal(err)
	}
	g := autograd.NewGraph(s, true)
	x := g.Input("x", 5, 3)
	h := autograd.Linear(x, g.Param("w"), g.Param("b"))
	h = autograd.Add(autograd.ReLU(h), h)
	y := autograd.LayerNorm(h, g.Param("ln.weight"), g.Param("ln.bias"), 1e-5)
	w := make([]float32, 20)
	for i := range w {
		w[i] = float32(i%7) - 3
	}
	cost := autograd.DotConst(y, w)
	m, err := autograd.CompileIn(autograd.NewArena(be), g, cost, y)
	if err != nil {
		t.Fatal(err)
	}
	return s, m, y
}

func input() []float32 {
	x := make([]float32, 15)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)))
	}
	return x
}

// A plan on the simulated device computes the CPU's cost, output and
// gradients bit for bit; a run moves exactly the input in and, read
// explicitly, the cost out; the gradients stay on the device until
// SyncGradsToHost.
func TestMachineOnSimulatedDeviceMatchesCPU(t *testing.T) {
	cs, cm, cy := model(t, autograd.CPU)
	dev := backendtest.New()
	ds, dm, dy := model(t, dev)
	x := input()
	for run := 0; run < 2; run++ { // twice: gradients accumulate
		if err := cm.SetFloats("x", x, 5, 3); err != nil {
			t.Fatal(err)
		}
		if err := cm.Run(); err != nil {
			t.Fatal(err)
		}
		dev.ResetTraffic()
		if err := dm.SetFloats("x", x, 5, 3); err != nil {
			t.Fatal(err)
		}
		if err := dm.Run(); err != nil {
			t.Fatal(err)
		}
		c, err := dm.ReadCost()
		if err != nil {
			t.Fatal(err)
		}
		st := dev.Stats()
		if st.BytesIn != 15*4 || st.BytesOut != 4 {
			t.Fatalf("run %d: %d bytes in, %d out; want 60 (the input) and 4 (the cost)", run, st.BytesIn, st.BytesOut)
		}
		if math.Float32bits(c) != math.Float32bits(cm.Cost()) {
			t.Fatalf("run %d: cost %v on the device, %v on the cpu", run, c, cm.Cost())
		}
	}
	cv, _ := cm.Value(cy)
	dv, err := dm.Value(dy)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cv.F {
		if math.Float32bits(cv.F[i]) != math.Float32bits(dv.F[i]) {
			t.Fatalf("output[%d] %v on the device, %v on the cpu", i, dv.F[i], cv.F[i])
		}
	}
	for _, p := range ds.Params() {
		for _, g := range p.Grad {
			if g != 0 {
				t.Fatalf("%s: the host gradient changed without SyncGradsToHost", p.Name)
			}
		}
	}
	if err := ds.SyncGradsToHost(); err != nil {
		t.Fatal(err)
	}
	for i, p := range cs.Params() {
		q := ds.Params()[i]
		for j := range p.Grad {
			if math.Float32bits(p.Grad[j]) != math.Float32bits(q.Grad[j]) {
				t.Fatalf("%s grad[%d]: %v on the device, %v on the cpu", p.Name, j, q.Grad[j], p.Grad[j])
			}
		}
	}
	if err := ds.ZeroGrads(); err != nil {
		t.Fatal(err)
	}
	if err := ds.SyncGradsToHost(); err != nil {
		t.Fatal(err)
	}
	if g := ds.Params()[0].Grad[0]; g != 0 {
		t.Fatalf("ZeroGrads left %v", g)
	}
}

// A backend without a kernel's device version refuses the plan when it is
// compiled, naming the kernel; a store on one backend and an arena on
// another do not compile; host memory handed to the device is refused.
func TestSimulatedDeviceRefusals(t *testing.T) {
	dev := backendtest.New()
	dev.Missing = func(k autograd.Kernel, backward bool) bool {
		return backward && strings.HasPrefix(k.Name(), "layernorm")
	}
	s := autograd.NewStore()
	if _, err := s.Add("ln.weight", []int{4}, autograd.Const{V: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add("ln.bias", []int{4}, autograd.Const{V: 0}); err != nil {
		t.Fatal(err)
	}
	g := autograd.NewGraph(s, true)
	y := autograd.LayerNorm(g.Input("x", 2, 4), g.Param("ln.weight"), g.Param("ln.bias"), 1e-5)
	cost := autograd.DotConst(y, make([]float32, 8))
	if _, err := autograd.CompileIn(autograd.NewArena(dev), g, cost); err == nil || !strings.Contains(err.Error(), "on the cpu backend and the arena on simdevice") {
		t.Fatalf("store on the cpu, arena on the device: %v", err)
	}
	if err := s.Place(dev); err != nil {
		t.Fatal(err)
	}
	_, err := autograd.CompileIn(autograd.NewArena(dev), g, cost)
	if err == nil || !strings.Contains(err.Error(), "layernorm") || !strings.Contains(err.Error(), "backward") {
		t.Fatalf("compile without a layernorm backward: %v", err)
	}
	b, err := dev.Alloc(autograd.Float32, 4)
	if err != nil {
		t.Fatal(err)
	}
	out, err := dev.View(b, 0, []int{4})
	if err != nil {
		t.Fatal(err)
	}
	k := g.Kernels()[0]
	host := autograd.Value{Shape: []int{1, 4}, F: make([]float32, 4)}
	if err := dev.Forward(k, []autograd.Value{host, host, host}, out); err == nil || !strings.Contains(err.Error(), "host memory") {
		t.Fatalf("a kernel given host memory: %v", err)
	}
	if err := dev.Free(b); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.View(b, 0, []int{4}); err == nil {
		t.Fatal("a view of a freed buffer")
	}
}
