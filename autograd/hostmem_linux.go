//go:build linux

package autograd

import "syscall"

const hostMapping = true

// hostMap maps n bytes of private anonymous memory (zero, not resident
// until touched) and asks for transparent huge pages on it (MADV_HUGEPAGE;
// the kernel's default "madvise" mode gives them only to ranges that ask).
// An arena's first touch then faults once per 2 MiB instead of once per
// 4 KiB page (docs/engine_measurements.md: 6x fewer page faults in a
// training run, the same peak RSS). The advice is ignored where the kernel
// has no transparent huge pages, so its error is too.
func hostMap(n int) ([]byte, error) {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil, err
	}
	_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE)
	return b, nil
}

// hostRelease drops b's pages: the resident memory is returned at once and
// the range reads as zero when touched again.
func hostRelease(b []byte) error { return syscall.Madvise(b, syscall.MADV_DONTNEED) }
