//go:build glcuda

package cuda

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
	"github.com/gliner-go/gliner/train"
)

// These tests need a CUDA device. Without one they skip with "NOT RUN"
// (GLINER_REQUIRE_GPU=1, set by scripts/gpu_check.sh, makes that a failure).

var testBackend *Backend

func gpu(t *testing.T) *Backend {
	t.Helper()
	if testBackend != nil {
		return testBackend
	}
	n, err := DeviceCount()
	if err == nil && n == 0 {
		err = errNoDevice
	}
	if err != nil {
		if requireGPU() {
			t.Fatalf("GLINER_REQUIRE_GPU=1 but no CUDA device is usable: %v", err)
		}
		t.Skipf("NOT RUN: no CUDA device: %v", err)
	}
	be, err := New(0, 1234)
	if err != nil {
		t.Fatalf("opening cuda:0: %v", err)
	}
	t.Logf("device %s, compute capability %d, kernels compiled for compute_%d", be.d.Name, be.d.CC, be.d.arch)
	testBackend = be
	return be
}

type noDevice struct{}

func (noDevice) Error() string { return "the driver sees 0 CUDA devices" }

var errNoDevice error = noDevice{}

func randFloats(r *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(r.NormFloat64())
	}
	return out
}

// dev copies a host value to a fresh device buffer and returns its view.
func dev(t *testing.T, be *Backend, v autograd.Value) autograd.Value {
	t.Helper()
	dt, n := autograd.Float32, len(v.F)
	if v.I != nil {
		dt, n = autograd.Int64, len(v.I)
	}
	b, err := be.Alloc(dt, n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = be.Free(b) })
	if err := be.CopyFromHost(b, 0, v); err != nil {
		t.Fatal(err)
	}
	dv, err := be.View(b, 0, v.Shape)
	if err != nil {
		t.Fatal(err)
	}
	return dv
}

func devZeros(t *testing.T, be *Backend, shape []int) autograd.Value {
	return dev(t, be, autograd.Value{Shape: shape, F: make([]float32, autograd.Numel(shape))})
}

func host(t *testing.T, be *Backend, v autograd.Value) []float32 {
	t.Helper()
	out := make([]float32, v.Size())
	if err := be.d.Download(unsafe.Pointer(&out[0]), v.Dev, len(out)*4); err != nil {
		t.Fatal(err)
	}
	return out
}

// close1e5 is the tolerance of the issue: |got − want| ≤ 1e-5·max(|want|,
// 1e-2·max|want|) (the floor keeps values near zero from demanding an
// absolute precision finer than float32 rounding of the tensor's scale).
func close1e5(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	var mx float64
	for _, w := range want {
		mx = math.Max(mx, math.Abs(float64(w)))
	}
	worst, at := 0.0, -1
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		den := math.Max(math.Abs(w), 1e-2*mx)
		if den == 0 {
			den = 1
		}
		if e := math.Abs(g-w) / den; e > worst || math.IsNaN(e) {
			worst, at = e, i
		}
	}
	if worst > 1e-5 || (at >= 0 && math.IsNaN(worst)) {
		t.Fatalf("%s: relative error %.3g at %d (got %v, want %v)", what, worst, at, got[at], want[at])
	}
	t.Logf("%s: max relative error %.3g over %d values", what, worst, len(got))
}

// kernelCase builds a one-kernel graph and returns the kernel.
func oneKernel(t *testing.T, build func(g *autograd.Graph)) autograd.Kernel {
	t.Helper()
	g := autograd.NewGraph(autograd.NewStore(), true)
	build(g)
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	ks := g.Kernels()
	if len(ks) != 1 {
		t.Fatalf("graph has %d kernels, want 1", len(ks))
	}
	return ks[0]
}

// compare runs k forward and backward on the CPU and on the device with
// the same inputs and output gradient and checks the output and every
// float input's gradient. need[i] false skips gradient i (ints, masks).
func compare(t *testing.T, be *Backend, k autograd.Kernel, in []autograd.Value, need []bool, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	shapes := make([][]int, len(in))
	for i, v := range in {
		shapes[i] = v.Shape
	}
	outShape, err := k.OutShape(shapes)
	if err != nil {
		t.Fatal(err)
	}
	n := autograd.Numel(outShape)
	cpuOut := autograd.Value{Shape: outShape, F: make([]float32, n)}
	if err := autograd.CPU.Forward(k, in, cpuOut); err != nil {
		t.Fatal(err)
	}
	dout := autograd.Value{Shape: outShape, F: randFloats(r, n)}
	cpuGrads := make([]autograd.Value, len(in))
	for i, v := range in {
		cpuGrads[i] = autograd.Value{Shape: v.Shape}
		if need[i] {
			cpuGrads[i].F = make([]float32, v.Size())
		}
	}
	if err := autograd.CPU.Backward(k, in, cpuOut, dout, cpuGrads); err != nil {
		t.Fatal(err)
	}

	din := make([]autograd.Value, len(in))
	for i, v := range in {
		din[i] = dev(t, be, v)
	}
	dOut := devZeros(t, be, outShape)
	if err := be.Forward(k, din, dOut); err != nil {
		t.Fatal(err)
	}
	close1e5(t, k.Name()+" forward", host(t, be, dOut), cpuOut.F)
	dDout := dev(t, be, dout)
	dGrads := make([]autograd.Value, len(in))
	for i, v := range in {
		dGrads[i] = autograd.Value{Shape: v.Shape}
		if need[i] {
			dGrads[i] = devZeros(t, be, v.Shape)
		}
	}
	if err := be.Backward(k, din, dOut, dDout, dGrads); err != nil {
		t.Fatal(err)
	}
	if err := be.Synchronize(); err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if need[i] {
			close1e5(t, k.Name()+" grad "+string(rune('0'+i)), host(t, be, dGrads[i]), cpuGrads[i].F)
		}
	}
}

func fl(r *rand.Rand, shape ...int) autograd.Value {
	return autograd.Value{Shape: shape, F: randFloats(r, autograd.Numel(shape))}
}

func TestCUDAElementwise(t *testing.T) {
	be := gpu(t)
	r := rand.New(rand.NewPCG(1, 2))
	k := oneKernel(t, func(g *autograd.Graph) { autograd.Add(g.Input("a", 37, 129), g.Input("b", 37, 129)) })
	compare(t, be, k, []autograd.Value{fl(r, 37, 129), fl(r, 37, 129)}, []bool{true, true}, 1)
	k = oneKernel(t, func(g *autograd.Graph) { autograd.ReLU(g.Input("x", 1000, 77)) })
	compare(t, be, k, []autograd.Value{fl(r, 1000, 77)}, []bool{true}, 2)
	for _, a := range []kern.Activation{kern.ActGELU, kern.ActGELUNew, kern.ActTanh, kern.ActSigmoid} {
		k = oneKernel(t, func(g *autograd.Graph) { autograd.Act(g.Input("x", 513, 300), a) })
		x := fl(r, 513, 300)
		for i := range x.F {
			x.F[i] *= 3
		}
		compare(t, be, k, []autograd.Value{x}, []bool{true}, 3)
	}
}

func TestCUDALayerNorm(t *testing.T) {
	be := gpu(t)
	r := rand.New(rand.NewPCG(3, 4))
	for _, cols := range []int{7, 768, 1000} {
		k := oneKernel(t, func(g *autograd.Graph) {
			autograd.LayerNorm(g.Input("x", 5, 11, cols), g.Input("w", cols), g.Input("b", cols), kern.EpsDeBERTa)
		})
		x := fl(r, 5, 11, cols)
		for i := range x.F {
			x.F[i] = x.F[i]*2 + 0.5
		}
		compare(t, be, k, []autograd.Value{x, fl(r, cols), fl(r, cols)}, []bool{true, true, true}, 4)
	}
}

func TestCUDALinearAndBMM(t *testing.T) {
	be := gpu(t)
	r := rand.New(rand.NewPCG(5, 6))
	k := oneKernel(t, func(g *autograd.Graph) {
		autograd.Linear(g.Input("x", 3, 17, 96), g.Input("w", 80, 96), g.Input("b", 80))
	})
	compare(t, be, k, []autograd.Value{fl(r, 3, 17, 96), fl(r, 80, 96), fl(r, 80)}, []bool{true, true, true}, 5)
	k = oneKernel(t, func(g *autograd.Graph) { autograd.Linear(g.Input("x", 33, 64), g.Input("w", 5, 64), nil) })
	compare(t, be, k, []autograd.Value{fl(r, 33, 64), fl(r, 5, 64)}, []bool{true, true}, 6)
	k = oneKernel(t, func(g *autograd.Graph) { autograd.BatchMatMulNT(g.Input("a", 4, 30, 24), g.Input("b", 4, 9, 24)) })
	compare(t, be, k, []autograd.Value{fl(r, 4, 30, 24), fl(r, 4, 9, 24)}, []bool{true, true}, 7)
}

func TestCUDAGathers(t *testing.T) {
	be := gpu(t)
	r := rand.New(rand.NewPCG(7, 8))
	idx := autograd.Value{Shape: []int{2, 6}, I: []int64{0, 3, 3, -1, 9, 1, 2, 2, -1, 0, 5, 5}}
	k := oneKernel(t, func(g *autograd.Graph) { autograd.GatherRows(g.Input("src", 2, 10, 33), g.IntInput("idx", 2, 6)) })
	compare(t, be, k, []autograd.Value{fl(r, 2, 10, 33), idx}, []bool{true, false}, 8)
	ids := autograd.Value{Shape: []int{3, 5}, I: []int64{4, 4, 0, 19, 7, 7, 7, 1, 2, 3, 0, 0, 19, 18, 4}}
	k = oneKernel(t, func(g *autograd.Graph) { autograd.Embedding(g.Input("w", 20, 48), g.IntInput("ids", 3, 5)) })
	compare(t, be, k, []autograd.Value{fl(r, 20, 48), ids}, []bool{true, false}, 9)

	// An index out of range is an error naming its position.
	bad := autograd.Value{Shape: []int{2, 6}, I: []int64{0, 1, 2, 3, 4, 5, 0, 1, 2, 10, 4, 5}}
	k = oneKernel(t, func(g *autograd.Graph) { autograd.GatherRows(g.Input("src", 2, 10, 3), g.IntInput("idx", 2, 6)) })
	err := be.Forward(k, []autograd.Value{dev(t, be, fl(r, 2, 10, 3)), dev(t, be, bad)}, devZeros(t, be, []int{2, 6, 3}))
	if err == nil || !strings.Contains(err.Error(), "[1,3]") {
		t.Fatalf("out-of-range index: %v", err)
	}
}

// The device dropout mask is the host reference's (DropoutMask), forward
// and backward apply it, and successive forwards draw new masks.
func TestCUDADropout(t *testing.T) {
	be := gpu(t)
	r := rand.New(rand.NewPCG(9, 10))
	const p = 0.25
	k := oneKernel(t, func(g *autograd.Graph) { autograd.Dropout(g.Input("x", 301, 17), p) })
	x := fl(r, 301, 17)
	dx, dy := dev(t, be, x), devZeros(t, be, x.Shape)
	off := be.calls
	if err := be.Forward(k, []autograd.Value{dx}, dy); err != nil {
		t.Fatal(err)
	}
	mask := DropoutMask(x.Size(), p, be.seed, off)
	y := host(t, be, dy)
	for i := range y {
		if y[i] != x.F[i]*mask[i] {
			t.Fatalf("y[%d] = %v, want %v·%v", i, y[i], x.F[i], mask[i])
		}
	}
	g := fl(r, 301, 17)
	dg, dgx := dev(t, be, g), devZeros(t, be, x.Shape)
	if err := be.Backward(k, []autograd.Value{dx}, dy, dg, []autograd.Value{dgx}); err != nil {
		t.Fatal(err)
	}
	gx := host(t, be, dgx)
	for i := range gx {
		if gx[i] != g.F[i]*mask[i] {
			t.Fatalf("dx[%d] = %v, want %v·%v", i, gx[i], g.F[i], mask[i])
		}
	}
	if err := be.Forward(k, []autograd.Value{dx}, dy); err != nil {
		t.Fatal(err)
	}
	if be.calls != off+2 {
		t.Fatalf("dropout counter %d, want %d", be.calls, off+2)
	}
}

// Philox on the device equals the host implementation (whose known-answer
// vectors philox_test.go checks).
func TestCUDAPhilox(t *testing.T) {
	be := gpu(t)
	const n = 1000
	out := devZeros(t, be, []int{4 * n})
	if err := be.Launch("gl_philox_words", grid(n), threads, out.Dev, n, uint32(5), uint32(6), uint32(7), uint32(8),
		uint32(0xa4093822), uint32(0x299f31d0)); err != nil {
		t.Fatal(err)
	}
	got := host(t, be, out)
	for g := 0; g < n; g++ {
		want := Philox4x32([4]uint32{5 + uint32(g), 6, 7, 8}, [2]uint32{0xa4093822, 0x299f31d0})
		for w := 0; w < 4; w++ {
			if math.Float32bits(got[g*4+w]) != want[w] {
				t.Fatalf("counter %d word %d: %08x, want %08x", g, w, math.Float32bits(got[g*4+w]), want[w])
			}
		}
	}
}

// The softmax kernels equal kern's, masked rows and all.
func TestCUDASoftmax(t *testing.T) {
	be := gpu(t)
	r := rand.New(rand.NewPCG(11, 12))
	const rows, cols = 40, 333
	x := randFloats(r, rows*cols)
	mask := make([]float32, rows*cols)
	for i := range mask {
		if r.Float64() < 0.8 && i/cols != 3 { // row 3 fully masked
			mask[i] = 1
		}
	}
	dy := randFloats(r, rows*cols)
	for _, log := range []bool{false, true} {
		want, wantDx := make([]float32, rows*cols), make([]float32, rows*cols)
		name := "gl_softmax"
		if log {
			name = "gl_log_softmax"
			kern.LogSoftmaxForward(want, x, mask, rows, cols)
			kern.LogSoftmaxBackward(wantDx, dy, want, rows, cols)
		} else {
			kern.SoftmaxForward(want, x, mask, rows, cols)
			kern.SoftmaxBackward(wantDx, dy, want, rows, cols)
		}
		dx := dev(t, be, autograd.Value{Shape: []int{rows, cols}, F: x})
		dm := dev(t, be, autograd.Value{Shape: []int{rows, cols}, F: mask})
		out := devZeros(t, be, []int{rows, cols})
		if err := be.Launch(name+"_fwd", rows, threads, out.Dev, dx.Dev, dm.Dev, rows, cols); err != nil {
			t.Fatal(err)
		}
		got := host(t, be, out)
		for i := range got { // log-softmax: masked entries are −Inf on both sides
			if math.IsInf(float64(want[i]), -1) && math.IsInf(float64(got[i]), -1) {
				got[i], want[i] = 0, 0
			}
		}
		close1e5(t, name+" forward", got, want)
		// backward from the CPU's output (with −Inf restored for log-softmax)
		yref := make([]float32, rows*cols)
		if log {
			kern.LogSoftmaxForward(yref, x, mask, rows, cols)
		} else {
			copy(yref, want)
		}
		dyv, yv := dev(t, be, autograd.Value{Shape: []int{rows, cols}, F: dy}), dev(t, be, autograd.Value{Shape: []int{rows, cols}, F: yref})
		gx := devZeros(t, be, []int{rows, cols})
		if err := be.Launch(name+"_bwd", rows, threads, gx.Dev, dyv.Dev, yv.Dev, rows, cols); err != nil {
			t.Fatal(err)
		}
		close1e5(t, name+" backward", host(t, be, gx), wantDx)
	}
}

// AdamW and gradient clipping on the device equal train.AdamW and
// train.ClipGradNorm.
func TestCUDAOptimizer(t *testing.T) {
	be := gpu(t)
	r := rand.New(rand.NewPCG(13, 14))
	st := autograd.NewStore()
	p1, err := st.Add("a.weight", []int{300, 7}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := st.Add("b.bias", []int{1001}, nil)
	if err != nil {
		t.Fatal(err)
	}
	params := []*autograd.Param{p1, p2}
	for _, p := range params {
		copy(p.Data, randFloats(r, len(p.Data)))
	}
	dW := make([]autograd.Value, 2)
	dG := make([]autograd.Value, 2)
	dM := make([]autograd.Value, 2)
	dV := make([]autograd.Value, 2)
	for i, p := range params {
		dW[i] = dev(t, be, autograd.Value{Shape: []int{len(p.Data)}, F: append([]float32(nil), p.Data...)})
		dG[i] = devZeros(t, be, []int{len(p.Data)})
		dM[i] = devZeros(t, be, []int{len(p.Data)})
		dV[i] = devZeros(t, be, []int{len(p.Data)})
	}
	const lr, wd, maxNorm = 1e-3, 0.01, 5.0
	var opt *train.AdamW
	opt, err = train.NewAdamW([]*train.Group{{Name: "all", BaseLR: lr, LR: lr, WeightDecay: wd, Params: params}}, train.AdamWOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for step := int64(1); step <= 5; step++ {
		for i, p := range params {
			g := randFloats(r, len(p.Data))
			for j := range g {
				g[j] *= 3
			}
			copy(p.Grad, g)
			if err := be.CopyFromHost(devBufOf(t, be, dG[i], len(g)), 0, autograd.Value{F: g}); err != nil {
				t.Fatal(err)
			}
		}
		wantNorm := train.ClipGradNorm(params, maxNorm)
		ptrs := []DevicePtr{dG[0].Dev, dG[1].Dev}
		gotNorm, err := be.ClipGradNorm(ptrs, []int{len(p1.Data), len(p2.Data)}, maxNorm)
		if err != nil {
			t.Fatal(err)
		}
		close1e5(t, "grad norm", []float32{gotNorm}, []float32{wantNorm})
		opt.Step(nil)
		s := NewAdamWScalars(lr, wd, 0.9, 0.999, 1e-8, step)
		for i, p := range params {
			if err := be.AdamW(dW[i].Dev, dG[i].Dev, dM[i].Dev, dV[i].Dev, len(p.Data), s); err != nil {
				t.Fatal(err)
			}
			close1e5(t, p.Name+" clipped grad", host(t, be, dG[i]), p.Grad)
			close1e5(t, p.Name+" after AdamW", host(t, be, dW[i]), p.Data)
		}
	}
}

// devBufOf wraps an existing device view as a buffer for CopyFromHost.
func devBufOf(t *testing.T, be *Backend, v autograd.Value, n int) autograd.Buffer {
	t.Helper()
	return &buffer{ptr: v.Dev, n: n, dt: autograd.Float32}
}

// A kernel without a CUDA implementation is an error naming it.
func TestCUDAUnsupportedKernel(t *testing.T) {
	be := gpu(t)
	k := oneKernel(t, func(g *autograd.Graph) { g.Apply(attrsOnly{kern.ScorerHiddenAttrs{}}, g.Input("a", 2, 3)) })
	err := be.Forward(k, []autograd.Value{devZeros(t, be, []int{2, 3})}, devZeros(t, be, []int{2, 3}))
	if err == nil || !strings.Contains(err.Error(), `kernel "scorer_hidden"`) || !strings.Contains(err.Error(), "no CUDA implementation") {
		t.Fatalf("scorer_hidden on the device: %v", err)
	}
	k = oneKernel(t, func(g *autograd.Graph) { g.Apply(attrsOnly{}, g.Input("a", 2, 3)) })
	err = be.Forward(k, []autograd.Value{devZeros(t, be, []int{2, 3})}, devZeros(t, be, []int{2, 3}))
	if err == nil || !strings.Contains(err.Error(), "declares no attributes") {
		t.Fatalf("a kernel without attributes on the device: %v", err)
	}
}

// A Machine runs a plan on the CUDA backend over a device-resident store:
// the input is uploaded, the cost and output read back, the parameter
// gradients accumulate on the device; all match the CPU's within 1e-5.
func TestCUDAMachineMatchesCPU(t *testing.T) {
	be := gpu(t)
	build := func(b autograd.Backend) (*autograd.Store, *autograd.Machine, *autograd.Node) {
		s := autograd.NewStore()
		if _, err := s.Add("w", []int{6, 5}, autograd.Uniform{Bound: 0.5}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Add("b", []int{6}, autograd.Uniform{Bound: 0.5}); err != nil {
			t.Fatal(err)
		}
		s.Initialize(3)
		if err := s.Place(b); err != nil {
			t.Fatal(err)
		}
		g := autograd.NewGraph(s, true)
		h := autograd.Linear(g.Input("x", 7, 5), g.Param("w"), g.Param("b"))
		y := autograd.Add(autograd.ReLU(h), h)
		w := make([]float32, 42)
		for i := range w {
			w[i] = float32(i%5) - 2
		}
		m, err := autograd.CompileIn(autograd.NewArena(b), g, autograd.DotConst(y, w), y)
		if err != nil {
			t.Fatal(err)
		}
		return s, m, y
	}
	r := rand.New(rand.NewPCG(9, 9))
	x := randFloats(r, 35)
	cs, cm, cy := build(autograd.CPU)
	ds, dm, dy := build(be)
	for _, m := range []*autograd.Machine{cm, dm} {
		for run := 0; run < 2; run++ {
			if err := m.SetFloats("x", x, 7, 5); err != nil {
				t.Fatal(err)
			}
			if err := m.Run(); err != nil {
				t.Fatal(err)
			}
		}
	}
	c, err := dm.ReadCost()
	if err != nil {
		t.Fatal(err)
	}
	close1e5(t, "cost", []float32{c}, []float32{cm.Cost()})
	cv, _ := cm.Value(cy)
	dv, err := dm.Value(dy)
	if err != nil {
		t.Fatal(err)
	}
	close1e5(t, "output", dv.F, cv.F)
	if err := ds.SyncGradsToHost(); err != nil {
		t.Fatal(err)
	}
	for i, p := range cs.Params() {
		close1e5(t, "grad "+p.Name, ds.Params()[i].Grad, p.Grad)
	}
}

// attrsOnly is a kernel with the given attributes (nil: none) whose CPU
// body is the identity: for the unsupported-kernel errors.
type attrsOnly struct{ a kern.Attrs }

func (k attrsOnly) Name() string                       { return "attrs_only" }
func (k attrsOnly) OutShape(in [][]int) ([]int, error) { return in[0], nil }
func (k attrsOnly) Forward(in []autograd.Value, out autograd.Value) error {
	copy(out.F, in[0].F)
	return nil
}
func (k attrsOnly) Backward(_ []autograd.Value, _ autograd.Value, dout autograd.Value, grads []autograd.Value) error {
	copy(grads[0].F, dout.F)
	return nil
}
