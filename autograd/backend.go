package autograd

import (
	"fmt"
	"runtime"
)

// DType is the element type of a backend buffer.
type DType int

// The element types the engine uses: activations and gradients are
// float32, index inputs and integer kernel outputs int64.
const (
	Float32 DType = iota
	Int64
)

func (d DType) String() string {
	if d == Int64 {
		return "int64"
	}
	return "float32"
}

// Buffer is memory owned by a Backend: len elements of one DType. Values
// that plans hand to kernels are views into buffers (Backend.View).
type Buffer interface {
	DType() DType
	Len() int
}

// Backend is the one seam between plans and the hardware they run on:
// every allocation, host transfer and kernel launch of a Machine goes
// through it. The CPU backend (CPU) keeps buffers in host memory and calls
// the kernels' Go bodies; a device backend would keep them in device
// memory and launch device kernels behind the same methods.
type Backend interface {
	// Name identifies the backend ("cpu").
	Name() string
	// Alloc returns a zeroed buffer of n elements.
	Alloc(dt DType, n int) (Buffer, error)
	// Free releases a buffer; views into it must not be used afterwards.
	Free(b Buffer) error
	// View is the value over elements [off, off+Numel(shape)) of b, in the
	// form kernels of this backend take.
	View(b Buffer, off int, shape []int) (Value, error)
	// CopyFromHost writes host data (src.F or src.I, by b's DType) into b
	// at element offset off.
	CopyFromHost(b Buffer, off int, src Value) error
	// CopyToHost reads len(dst.F) or len(dst.I) elements of b at off into
	// host memory.
	CopyToHost(dst Value, b Buffer, off int) error
	// Zero sets elements [off, off+n) of b to zero without host traffic.
	Zero(b Buffer, off, n int) error
	// Forward runs kernel k's forward pass on this backend.
	Forward(k Kernel, in []Value, out Value) error
	// Backward runs kernel k's backward pass on this backend.
	Backward(k Kernel, in []Value, out, dout Value, grads []Value) error
	// Synchronize waits until every launched kernel and copy has finished
	// (a no-op on the CPU, where each call completes before it returns).
	Synchronize() error
}

// CPU is the host backend: buffers are host memory (large ones mapped
// from the operating system outside the Go heap, see hostmem.go; small
// ones Go slices), kernels run their Go bodies (package kern) on the
// calling goroutine and its worker pool.
var CPU Backend = cpuBackend{}

type cpuBackend struct{}

type cpuBuffer struct {
	f []float32
	i []int64
	// raw is the mapped memory behind f or i (nil: Go heap); cleanup frees
	// it if the buffer becomes unreachable without Free.
	raw     []byte
	cleanup runtime.Cleanup
}

func (b *cpuBuffer) DType() DType {
	if b.i != nil {
		return Int64
	}
	return Float32
}

func (b *cpuBuffer) Len() int {
	if b.i != nil {
		return len(b.i)
	}
	return len(b.f)
}

func (cpuBackend) Name() string { return "cpu" }

func (cpuBackend) Alloc(dt DType, n int) (Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("cpu backend: allocating %d elements", n)
	}
	size := 4
	if dt == Int64 {
		size = 8
	}
	if raw, ok := hostAlloc(n * size); ok {
		cb := &cpuBuffer{raw: raw}
		if dt == Int64 {
			cb.i = hostInts(raw, n)
		} else {
			cb.f = hostFloats(raw, n)
		}
		// Mapped memory is not the garbage collector's: return it when the
		// buffer (its arena, its machines) is dropped without Free.
		cb.cleanup = runtime.AddCleanup(cb, hostFree, raw)
		return cb, nil
	}
	if dt == Int64 {
		return &cpuBuffer{i: make([]int64, n)}, nil
	}
	return &cpuBuffer{f: make([]float32, n)}, nil
}

func (cpuBackend) Free(b Buffer) error {
	cb, ok := b.(*cpuBuffer)
	if !ok {
		return fmt.Errorf("cpu backend: freeing a %T", b)
	}
	if cb.raw != nil {
		cb.cleanup.Stop()
		hostFree(cb.raw) // pages back to the OS now
	}
	// Go slices: the garbage collector returns the memory.
	cb.f, cb.i, cb.raw = nil, nil, nil
	return nil
}

func cpuSlice(b Buffer, off, n int) (*cpuBuffer, error) {
	cb, ok := b.(*cpuBuffer)
	if !ok {
		return nil, fmt.Errorf("cpu backend: buffer is a %T", b)
	}
	if off < 0 || n < 0 || off+n > cb.Len() {
		return nil, fmt.Errorf("cpu backend: elements [%d, %d) outside a buffer of %d", off, off+n, cb.Len())
	}
	return cb, nil
}

func (cpuBackend) View(b Buffer, off int, shape []int) (Value, error) {
	n := Numel(shape)
	cb, err := cpuSlice(b, off, n)
	if err != nil {
		return Value{}, err
	}
	v := Value{Shape: cloneShape(shape)}
	if cb.i != nil {
		v.I = cb.i[off : off+n : off+n]
	} else {
		v.F = cb.f[off : off+n : off+n]
	}
	return v, nil
}

func (cpuBackend) CopyFromHost(b Buffer, off int, src Value) error {
	n := len(src.F)
	if b.DType() == Int64 {
		n = len(src.I)
	}
	cb, err := cpuSlice(b, off, n)
	if err != nil {
		return err
	}
	if cb.i != nil {
		copy(cb.i[off:], src.I)
	} else {
		copy(cb.f[off:], src.F)
	}
	return nil
}

func (cpuBackend) CopyToHost(dst Value, b Buffer, off int) error {
	n := len(dst.F)
	if b.DType() == Int64 {
		n = len(dst.I)
	}
	cb, err := cpuSlice(b, off, n)
	if err != nil {
		return err
	}
	if cb.i != nil {
		copy(dst.I, cb.i[off:off+n])
	} else {
		copy(dst.F, cb.f[off:off+n])
	}
	return nil
}

func (cpuBackend) Zero(b Buffer, off, n int) error {
	cb, err := cpuSlice(b, off, n)
	if err != nil {
		return err
	}
	if cb.i != nil {
		clear(cb.i[off : off+n])
	} else {
		clear(cb.f[off : off+n])
	}
	return nil
}

func (cpuBackend) Forward(k Kernel, in []Value, out Value) error { return k.Forward(in, out) }

func (cpuBackend) Backward(k Kernel, in []Value, out, dout Value, grads []Value) error {
	return k.Backward(in, out, dout, grads)
}

func (cpuBackend) Synchronize() error { return nil }

// KernelChecker is implemented by backends that run only some kernels
// (a device backend with device versions of some of them). CompileIn asks
// it about every kernel of a plan, forward and backward, so a plan that
// needs a kernel the backend lacks fails when it is compiled, with an
// error naming the kernel, never by falling back to the host at run time.
type KernelChecker interface {
	// CheckKernel returns nil when the backend runs k's forward (and,
	// with backward, its backward) pass, else an error naming k.
	CheckKernel(k Kernel, backward bool) error
}

// HostKernelRunner is implemented by a non-host backend that runs the
// kernels' Go bodies on its own memory (the simulated device of package
// autograd/backendtest): plans then give Buffered kernels buffers of their
// own, which a real device backend (keeping kernel state in device memory)
// does not need.
type HostKernelRunner interface {
	RunsHostKernels() bool
}
