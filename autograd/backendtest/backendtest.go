// Package backendtest is a simulated device for testing device residency
// without a GPU: an autograd.Backend whose buffers are opaque handles
// into memory the host cannot reach except through CopyFromHost and
// CopyToHost, which count the bytes they move. Its kernels are the CPU
// kernels (their Go bodies) run on that private memory, so a plan run on
// it computes exactly what the CPU backend computes, and a test can check
// both the numbers and the host traffic a device backend would have.
//
// Values it hands out carry only a fake device address (Value.Dev, never
// 0) and no host slices; a kernel given host memory (a Value with F or I
// and no Dev) fails, so a plan that kept anything on the host is caught.
package backendtest

import (
	"fmt"
	"sort"
	"sync"

	"github.com/gliner-go/gliner/autograd"
)

// Device is the simulated device. The zero value is not usable; call New.
type Device struct {
	mu   sync.Mutex
	bufs []*buffer // by base address, ascending
	next uint64
	st   Stats
	// Missing, when set, makes the device report the kernels it returns
	// true for as lacking a device version (autograd.KernelChecker), as a
	// device backend without every kernel does.
	Missing func(k autograd.Kernel, backward bool) bool
}

// Stats are the device's host traffic and work counters.
type Stats struct {
	BytesIn, BytesOut   int64 // host to device, device to host
	CopiesIn, CopiesOut int
	Launches            int // kernel forward and backward calls
	Allocs              int
	LiveBytes           int64
}

type buffer struct {
	base uint64
	dt   autograd.DType
	n    int
	f    []float32
	i    []int64
}

func (b *buffer) DType() autograd.DType { return b.dt }
func (b *buffer) Len() int              { return b.n }

func elem(dt autograd.DType) int {
	if dt == autograd.Int64 {
		return 8
	}
	return 4
}

// New returns an empty simulated device.
func New() *Device { return &Device{next: 1 << 32} }

// Stats returns the counters so far.
func (d *Device) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.st
}

// ResetTraffic zeroes the copy counters (not the allocation ones).
func (d *Device) ResetTraffic() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.st.BytesIn, d.st.BytesOut, d.st.CopiesIn, d.st.CopiesOut, d.st.Launches = 0, 0, 0, 0, 0
}

// Name is "simdevice".
func (d *Device) Name() string { return "simdevice" }

// Alloc implements autograd.Backend.
func (d *Device) Alloc(dt autograd.DType, n int) (autograd.Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("simdevice: allocating %d elements", n)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	b := &buffer{base: d.next, dt: dt, n: n}
	if dt == autograd.Int64 {
		b.i = make([]int64, n)
	} else {
		b.f = make([]float32, n)
	}
	// A gap after every buffer, so an address past one's end is no other's.
	d.next += uint64(n*elem(dt)+4096+255) &^ 255
	d.bufs = append(d.bufs, b)
	d.st.Allocs++
	d.st.LiveBytes += int64(n * elem(dt))
	return b, nil
}

func (d *Device) own(b autograd.Buffer) (*buffer, error) {
	db, ok := b.(*buffer)
	if !ok {
		return nil, fmt.Errorf("simdevice: buffer is a %T, not this device's", b)
	}
	if db.f == nil && db.i == nil && db.n > 0 {
		return nil, fmt.Errorf("simdevice: buffer used after Free")
	}
	return db, nil
}

// Free implements autograd.Backend.
func (d *Device) Free(b autograd.Buffer) error {
	db, err := d.own(b)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for j, x := range d.bufs {
		if x == db {
			d.bufs = append(d.bufs[:j], d.bufs[j+1:]...)
			break
		}
	}
	d.st.LiveBytes -= int64(db.n * elem(db.dt))
	db.f, db.i = nil, nil
	return nil
}

func span(db *buffer, off, n int) error {
	if off < 0 || n < 0 || off+n > db.n {
		return fmt.Errorf("simdevice: elements [%d, %d) outside a buffer of %d", off, off+n, db.n)
	}
	return nil
}

// View implements autograd.Backend: the value carries only the address.
func (d *Device) View(b autograd.Buffer, off int, shape []int) (autograd.Value, error) {
	db, err := d.own(b)
	if err != nil {
		return autograd.Value{}, err
	}
	if err := span(db, off, autograd.Numel(shape)); err != nil {
		return autograd.Value{}, err
	}
	return autograd.Value{Shape: append([]int(nil), shape...), Dev: db.base + uint64(off*elem(db.dt))}, nil
}

func hostLen(v autograd.Value, dt autograd.DType) int {
	if dt == autograd.Int64 {
		return len(v.I)
	}
	return len(v.F)
}

// CopyFromHost implements autograd.Backend and counts the bytes.
func (d *Device) CopyFromHost(b autograd.Buffer, off int, src autograd.Value) error {
	db, err := d.own(b)
	if err != nil {
		return err
	}
	n := hostLen(src, db.dt)
	if err := span(db, off, n); err != nil {
		return err
	}
	if db.dt == autograd.Int64 {
		copy(db.i[off:], src.I)
	} else {
		copy(db.f[off:], src.F)
	}
	d.mu.Lock()
	d.st.BytesIn += int64(n * elem(db.dt))
	d.st.CopiesIn++
	d.mu.Unlock()
	return nil
}

// CopyToHost implements autograd.Backend and counts the bytes.
func (d *Device) CopyToHost(dst autograd.Value, b autograd.Buffer, off int) error {
	db, err := d.own(b)
	if err != nil {
		return err
	}
	n := hostLen(dst, db.dt)
	if err := span(db, off, n); err != nil {
		return err
	}
	if db.dt == autograd.Int64 {
		copy(dst.I, db.i[off:off+n])
	} else {
		copy(dst.F, db.f[off:off+n])
	}
	d.mu.Lock()
	d.st.BytesOut += int64(n * elem(db.dt))
	d.st.CopiesOut++
	d.mu.Unlock()
	return nil
}

// Zero implements autograd.Backend (no host traffic).
func (d *Device) Zero(b autograd.Buffer, off, n int) error {
	db, err := d.own(b)
	if err != nil {
		return err
	}
	if err := span(db, off, n); err != nil {
		return err
	}
	if db.dt == autograd.Int64 {
		clear(db.i[off : off+n])
	} else {
		clear(db.f[off : off+n])
	}
	return nil
}

// Synchronize implements autograd.Backend (every call completes before it
// returns).
func (d *Device) Synchronize() error { return nil }

// resolve turns a device value into a host value over the device's
// private memory, for the CPU kernel bodies. A value with Dev 0 and no
// data is an absent (not needed) gradient; one with host data is an error.
func (d *Device) resolve(v autograd.Value, what string) (autograd.Value, error) {
	if v.Dev == 0 {
		if v.F != nil || v.I != nil {
			return autograd.Value{}, fmt.Errorf("simdevice: %s is host memory (%v), not a device value", what, v.Shape)
		}
		return v, nil
	}
	j := sort.Search(len(d.bufs), func(j int) bool { return d.bufs[j].base > v.Dev }) - 1
	if j < 0 {
		return autograd.Value{}, fmt.Errorf("simdevice: %s: address %#x is not device memory", what, v.Dev)
	}
	b := d.bufs[j]
	es := uint64(elem(b.dt))
	rel := v.Dev - b.base
	if rel%es != 0 {
		return autograd.Value{}, fmt.Errorf("simdevice: %s: misaligned address %#x", what, v.Dev)
	}
	off, n := int(rel/es), v.Size()
	if err := span(b, off, n); err != nil {
		return autograd.Value{}, fmt.Errorf("%s: %w", what, err)
	}
	out := autograd.Value{Shape: v.Shape}
	if b.dt == autograd.Int64 {
		out.I = b.i[off : off+n : off+n]
	} else {
		out.F = b.f[off : off+n : off+n]
	}
	return out, nil
}

func (d *Device) resolveAll(vs []autograd.Value, what string) ([]autograd.Value, error) {
	out := make([]autograd.Value, len(vs))
	for i, v := range vs {
		r, err := d.resolve(v, fmt.Sprintf("%s %d", what, i))
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// CheckKernel implements autograd.KernelChecker through Missing.
func (d *Device) CheckKernel(k autograd.Kernel, backward bool) error {
	if d.Missing != nil && d.Missing(k, backward) {
		return fmt.Errorf("kernel %q has no simdevice implementation", k.Name())
	}
	return nil
}

// Forward runs k's CPU forward on the device's memory.
func (d *Device) Forward(k autograd.Kernel, in []autograd.Value, out autograd.Value) error {
	d.mu.Lock()
	hin, err := d.resolveAll(in, "input")
	var hout autograd.Value
	if err == nil {
		hout, err = d.resolve(out, "output")
	}
	d.st.Launches++
	d.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%s: %w", k.Name(), err)
	}
	return k.Forward(hin, hout)
}

// Backward runs k's CPU backward on the device's memory.
func (d *Device) Backward(k autograd.Kernel, in []autograd.Value, out, dout autograd.Value, grads []autograd.Value) error {
	d.mu.Lock()
	hin, err := d.resolveAll(in, "input")
	var hout, hdout autograd.Value
	var hg []autograd.Value
	if err == nil {
		hout, err = d.resolve(out, "output")
	}
	if err == nil {
		hdout, err = d.resolve(dout, "output gradient")
	}
	if err == nil {
		hg, err = d.resolveAll(grads, "gradient")
	}
	d.st.Launches++
	d.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%s backward: %w", k.Name(), err)
	}
	return k.Backward(hin, hout, hdout, hg)
}

// RunsHostKernels implements autograd.HostKernelRunner: the device runs
// the kernels' Go bodies, which keep saved activations and scratch in
// their Buffered slices.
func (d *Device) RunsHostKernels() bool { return true }

var (
	_ autograd.Backend       = (*Device)(nil)
	_ autograd.KernelChecker = (*Device)(nil)
)
