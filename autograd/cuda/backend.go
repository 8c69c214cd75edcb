//go:build glcuda

package cuda

import (
	"fmt"
	"unsafe"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/kern"
)

// Backend is the CUDA implementation of autograd.Backend: buffers are
// device memory, views carry device addresses (autograd.Value.Dev), and
// Forward/Backward launch this package's kernels (kernels.go), chosen by
// the kernel's attribute type (autograd.AttrsOf). A kernel without a CUDA
// implementation is an error naming it, never a silent host fallback.
//
// Activations a backward needs beyond the forward's inputs and output
// (layer norm's mean and 1/std, gather indices) are kept in device buffers
// owned by the backend per kernel value; dropout keeps only its Philox
// seed and counter offset and regenerates the mask.
type Backend struct {
	d     *Device
	seed  uint64
	calls uint64 // dropout calls so far: the Philox counter offset
	saved map[autograd.Kernel]*saved
	bad   DevicePtr // 8-byte index-check word
}

// saved is the device state one kernel value keeps between its forward and
// its backward.
type saved struct {
	bufs   []DevicePtr
	sizes  []int // bytes
	offset uint64
}

type buffer struct {
	ptr DevicePtr
	n   int
	dt  autograd.DType
}

func (b *buffer) DType() autograd.DType { return b.dt }
func (b *buffer) Len() int              { return b.n }

func elemSize(dt autograd.DType) int {
	if dt == autograd.Int64 {
		return 8
	}
	return 4
}

// New opens device ordinal (cuda:N) and returns a backend on it. seed
// seeds the dropout RNG.
func New(ordinal int, seed uint64) (*Backend, error) {
	d, err := OpenDevice(ordinal)
	if err != nil {
		return nil, fmt.Errorf("cuda backend: %w", err)
	}
	bad, err := d.Alloc(8)
	if err != nil {
		return nil, fmt.Errorf("cuda backend: %w", err)
	}
	return &Backend{d: d, seed: seed, saved: map[autograd.Kernel]*saved{}, bad: bad}, nil
}

// Device returns the backend's device.
func (be *Backend) Device() *Device { return be.d }

// Name is "cuda".
func (be *Backend) Name() string { return "cuda" }

// Alloc returns n zeroed elements of device memory.
func (be *Backend) Alloc(dt autograd.DType, n int) (autograd.Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("cuda backend: allocating %d elements", n)
	}
	p, err := be.d.Alloc(n * elemSize(dt))
	if err != nil {
		return nil, fmt.Errorf("cuda backend: allocating %d %v values: %w", n, dt, err)
	}
	return &buffer{ptr: p, n: n, dt: dt}, nil
}

func devBuf(b autograd.Buffer) (*buffer, error) {
	db, ok := b.(*buffer)
	if !ok {
		return nil, fmt.Errorf("cuda backend: buffer is a %T, not device memory", b)
	}
	return db, nil
}

// Free releases a buffer.
func (be *Backend) Free(b autograd.Buffer) error {
	db, err := devBuf(b)
	if err != nil {
		return err
	}
	p := db.ptr
	db.ptr, db.n = 0, 0
	if err := be.d.Free(p); err != nil {
		return fmt.Errorf("cuda backend: %w", err)
	}
	return nil
}

func span(db *buffer, off, n int) error {
	if off < 0 || n < 0 || off+n > db.n {
		return fmt.Errorf("cuda backend: elements [%d, %d) outside a buffer of %d", off, off+n, db.n)
	}
	return nil
}

// View is the device value over elements [off, off+Numel(shape)) of b.
func (be *Backend) View(b autograd.Buffer, off int, shape []int) (autograd.Value, error) {
	db, err := devBuf(b)
	if err != nil {
		return autograd.Value{}, err
	}
	if err := span(db, off, autograd.Numel(shape)); err != nil {
		return autograd.Value{}, err
	}
	return autograd.Value{Shape: append([]int(nil), shape...), Dev: db.ptr + DevicePtr(off*elemSize(db.dt))}, nil
}

func hostBytes(v autograd.Value, dt autograd.DType) (unsafe.Pointer, int) {
	if dt == autograd.Int64 {
		if len(v.I) == 0 {
			return nil, 0
		}
		return unsafe.Pointer(&v.I[0]), len(v.I)
	}
	if len(v.F) == 0 {
		return nil, 0
	}
	return unsafe.Pointer(&v.F[0]), len(v.F)
}

// CopyFromHost writes src.F (or src.I for an int64 buffer) at element off.
func (be *Backend) CopyFromHost(b autograd.Buffer, off int, src autograd.Value) error {
	db, err := devBuf(b)
	if err != nil {
		return err
	}
	p, n := hostBytes(src, db.dt)
	if err := span(db, off, n); err != nil {
		return err
	}
	es := elemSize(db.dt)
	if err := be.d.Upload(db.ptr+DevicePtr(off*es), p, n*es); err != nil {
		return fmt.Errorf("cuda backend: %w", err)
	}
	return nil
}

// CopyToHost reads len(dst.F) (or len(dst.I)) elements at off.
func (be *Backend) CopyToHost(dst autograd.Value, b autograd.Buffer, off int) error {
	db, err := devBuf(b)
	if err != nil {
		return err
	}
	p, n := hostBytes(dst, db.dt)
	if err := span(db, off, n); err != nil {
		return err
	}
	es := elemSize(db.dt)
	if err := be.d.Download(p, db.ptr+DevicePtr(off*es), n*es); err != nil {
		return fmt.Errorf("cuda backend: %w", err)
	}
	return nil
}

// Synchronize waits for the device.
func (be *Backend) Synchronize() error {
	if err := be.d.Synchronize(); err != nil {
		return fmt.Errorf("cuda backend: %w", err)
	}
	return nil
}

// state returns kernel k's saved buffers, (re)allocated to the given byte sizes.
func (be *Backend) state(k autograd.Kernel, sizes ...int) (*saved, error) {
	s := be.saved[k]
	if s == nil {
		s = &saved{}
		be.saved[k] = s
	}
	for len(s.bufs) < len(sizes) {
		s.bufs = append(s.bufs, 0)
		s.sizes = append(s.sizes, 0)
	}
	for i, n := range sizes {
		if s.sizes[i] >= n {
			continue
		}
		if err := be.d.Free(s.bufs[i]); err != nil {
			return nil, err
		}
		s.bufs[i], s.sizes[i] = 0, 0
		p, err := be.d.Alloc(n)
		if err != nil {
			return nil, err
		}
		s.bufs[i], s.sizes[i] = p, n
	}
	return s, nil
}

// Forward runs k's forward pass on the device.
func (be *Backend) Forward(k autograd.Kernel, in []autograd.Value, out autograd.Value) error {
	if err := be.forward(k, in, out); err != nil {
		return fmt.Errorf("cuda backend: %s forward: %w", k.Name(), err)
	}
	return nil
}

// Backward runs k's backward pass on the device. A gradient with Dev 0
// is not needed.
func (be *Backend) Backward(k autograd.Kernel, in []autograd.Value, out, dout autograd.Value, grads []autograd.Value) error {
	if err := be.backward(k, in, out, dout, grads); err != nil {
		return fmt.Errorf("cuda backend: %s backward: %w", k.Name(), err)
	}
	return nil
}

// Release frees the device memory kernel values saved and the backend's
// own; the backend must not be used afterwards.
func (be *Backend) Release() error {
	for k, s := range be.saved {
		for _, p := range s.bufs {
			if err := be.d.Free(p); err != nil {
				return fmt.Errorf("cuda backend: %w", err)
			}
		}
		delete(be.saved, k)
	}
	if err := be.d.Free(be.bad); err != nil {
		return fmt.Errorf("cuda backend: %w", err)
	}
	be.bad = 0
	if err := be.d.Close(); err != nil {
		return fmt.Errorf("cuda backend: %w", err)
	}
	return nil
}

var _ autograd.Backend = (*Backend)(nil)

// unsupported is the error for a kernel without a CUDA implementation.
func unsupported(a kern.Attrs, k autograd.Kernel) error {
	if a == nil {
		return fmt.Errorf("kernel %T declares no attributes; the CUDA backend maps kernels by their kern.Attrs", k)
	}
	return fmt.Errorf("kernel %q (%T) has no CUDA implementation yet", a.Kernel(), a)
}

// Zero clears elements [off, off+n) of b on the device.
func (be *Backend) Zero(b autograd.Buffer, off, n int) error {
	db, err := devBuf(b)
	if err != nil {
		return err
	}
	if err := span(db, off, n); err != nil {
		return err
	}
	es := elemSize(db.dt)
	if err := be.d.Zero(db.ptr+DevicePtr(off*es), n*es); err != nil {
		return fmt.Errorf("cuda backend: %w", err)
	}
	return nil
}
