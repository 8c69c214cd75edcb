//go:build linux

package autograd

import "syscall"

const hostMapping = true

// hostMap maps n bytes of private anonymous memory (zero, not resident
// until touched).
func hostMap(n int) ([]byte, error) {
	return syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
}

// hostRelease drops b's pages: the resident memory is returned at once and
// the range reads as zero when touched again.
func hostRelease(b []byte) error { return syscall.Madvise(b, syscall.MADV_DONTNEED) }
