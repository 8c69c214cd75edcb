//go:build linux

package autograd

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// rssKB is the process's resident memory (VmRSS) in kB.
func rssKB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// A large CPU buffer is mapped outside the Go heap, resident only once
// touched, returned to the OS by Free, and handed out zeroed again.
func TestCPULargeBuffersAreMappedAndReturned(t *testing.T) {
	const n = 24 << 20 // 24 Mi float32 = 96 MiB
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap0 := ms.HeapSys
	before := rssKB(t)
	b, err := CPU.Alloc(Float32, n)
	if err != nil {
		t.Fatal(err)
	}
	cb := b.(*cpuBuffer)
	if cb.raw == nil || len(cb.f) != n {
		t.Fatalf("buffer of %d floats not mapped (raw %d bytes, %d floats)", n, len(cb.raw), len(cb.f))
	}
	if got := rssKB(t) - before; got > 16<<10 {
		t.Fatalf("untouched mapping made %d kB resident", got)
	}
	for i := range cb.f {
		cb.f[i] = float32(i%7) + 1
	}
	touched := rssKB(t)
	if got := touched - before; got < 90<<10 {
		t.Fatalf("writing 96 MiB made only %d kB resident", got)
	}
	runtime.ReadMemStats(&ms)
	if ms.HeapSys-heap0 > 32<<20 {
		t.Fatalf("the Go heap grew by %d MiB: the buffer is on the heap", (ms.HeapSys-heap0)>>20)
	}
	f := cb.f
	if err := CPU.Free(b); err != nil {
		t.Fatal(err)
	}
	if got := touched - rssKB(t); got < 90<<10 {
		t.Fatalf("Free returned only %d kB to the OS", got)
	}
	// A view kept past Free (against the rule) reads zeros, not a fault.
	if f[12345] != 0 {
		t.Fatalf("freed memory reads %v, want 0", f[12345])
	}
	b2, err := CPU.Alloc(Float32, n-1000)
	if err != nil {
		t.Fatal(err)
	}
	cb2 := b2.(*cpuBuffer)
	if &cb2.f[0] != &f[0] {
		t.Fatal("a buffer of the same size class did not reuse the pooled mapping")
	}
	for i, v := range cb2.f {
		if v != 0 {
			t.Fatalf("reused buffer: element %d is %v, want 0", i, v)
		}
	}
	if err := CPU.Free(b2); err != nil {
		t.Fatal(err)
	}
	// Small buffers stay on the Go heap.
	s, err := CPU.Alloc(Int64, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if s.(*cpuBuffer).raw != nil || s.DType() != Int64 || s.Len() != 1000 {
		t.Fatalf("small int64 buffer: mapped %v, dtype %v, len %d", s.(*cpuBuffer).raw != nil, s.DType(), s.Len())
	}
}
