package autograd

import (
	"math/bits"
	"sync"
	"unsafe"
)

// Host memory for large CPU buffers (arenas): mapped from the operating
// system outside the Go heap, where the platform allows it (hostmem_linux.go).
//
// Why: an arena is one large, long-lived allocation. On the Go heap it
// counts toward the garbage collector's goal (by default the heap may grow
// to twice its live size before a collection), and each time an arena
// grows its old buffer stays resident until the next collection, so a
// training run's peak RSS was about four times its activations. Mapped
// memory is outside both: the process's resident memory is the pages the
// plans touch plus a Go heap of a few tens of megabytes.
//
// Mappings are never unmapped. Free returns the pages to the operating
// system (madvise MADV_DONTNEED: the resident memory drops at once and the
// pages read as zero afterwards) and keeps the address range in a pool,
// by power-of-two size class, for the next allocation of that class. A
// view still held after its buffer was freed (a caller breaking the
// "valid until the next Set or Run" rule) therefore reads zeros or another
// plan's values, as it would read stale values on the Go heap, and never
// faults. A buffer dropped without Free (an arena no longer reachable) is
// freed by a runtime cleanup; so a view read after its machine and arena
// are unreachable may read zeros: keep the machine alive while reading
// (as Machine.Value says). Rounding a mapping up to its size class costs address space
// only: pages that no plan touches are never made resident (counted in
// 2 MiB huge pages where the kernel gives them, hostmem_linux.go).

// hostMinBytes is the smallest buffer mapped from the OS (16 MiB: the
// arenas of real batches); smaller ones are ordinary Go slices.
const hostMinBytes = 16 << 20

var hostPool struct {
	sync.Mutex
	free map[int][][]byte // by size class (log2 bytes)
}

// hostClass is the size class of a buffer of n bytes: ceil(log2(n)).
func hostClass(n int) int { return bits.Len(uint(n - 1)) }

// hostAlloc returns zeroed mapped memory of at least n bytes and true, or
// false when n is small or the platform maps nothing (then the caller
// uses the Go heap).
func hostAlloc(n int) ([]byte, bool) {
	if n < hostMinBytes || !hostMapping {
		return nil, false
	}
	c := hostClass(n)
	hostPool.Lock()
	if l := hostPool.free[c]; len(l) > 0 {
		b := l[len(l)-1]
		hostPool.free[c] = l[:len(l)-1]
		hostPool.Unlock()
		return b[:n], true
	}
	hostPool.Unlock()
	b, err := hostMap(1 << c)
	if err != nil {
		return nil, false
	}
	return b[:n], true
}

// hostFree returns b's pages to the OS and its range to the pool.
func hostFree(b []byte) {
	b = b[:cap(b)]
	if err := hostRelease(b); err != nil {
		clear(b) // the pool hands out zeroed memory
	}
	c := hostClass(len(b))
	hostPool.Lock()
	if hostPool.free == nil {
		hostPool.free = map[int][][]byte{}
	}
	hostPool.free[c] = append(hostPool.free[c], b)
	hostPool.Unlock()
}

// hostFloats and hostInts view mapped bytes as n elements.
func hostFloats(b []byte, n int) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

func hostInts(b []byte, n int) []int64 {
	return unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(b))), n)
}
