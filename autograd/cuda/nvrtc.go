//go:build glcuda

package cuda

/*
#include <stdint.h>
#include <stdlib.h>
typedef int nvrtcResult;
nvrtcResult gl_nvrtcVersion(int *a, int *b);
const char *gl_nvrtcErr(nvrtcResult r);
nvrtcResult gl_nvrtcNumArchs(int *n);
nvrtcResult gl_nvrtcArchs(int *a);
nvrtcResult gl_nvrtc_compile(const char *src, const char *name, const char **opts, int nopts,
                             char **ptx, size_t *ptxlen, char **log);
*/
import "C"

import (
	"fmt"
	"strings"
	"unsafe"
)

// NVRTCVersion is the (major, minor) version of the NVRTC library found at
// run time, or an error saying why none could be loaded.
func NVRTCVersion() (int, int, error) {
	if err := loadNVRTC(); err != nil {
		return 0, 0, err
	}
	var a, b C.int
	if r := C.gl_nvrtcVersion(&a, &b); r != 0 {
		return 0, 0, fmt.Errorf("cuda: nvrtcVersion: %s", C.GoString(C.gl_nvrtcErr(r)))
	}
	return int(a), int(b), nil
}

// NVRTCArchs lists the virtual architectures (compute capability ×10, e.g.
// 80, 90) the loaded NVRTC compiles for.
func NVRTCArchs() ([]int, error) {
	if err := loadNVRTC(); err != nil {
		return nil, err
	}
	var n C.int
	if r := C.gl_nvrtcNumArchs(&n); r != 0 {
		return nil, fmt.Errorf("cuda: nvrtcGetNumSupportedArchs: %s", C.GoString(C.gl_nvrtcErr(r)))
	}
	if n <= 0 {
		return nil, fmt.Errorf("cuda: NVRTC reports no supported architectures")
	}
	arr := make([]C.int, int(n))
	if r := C.gl_nvrtcArchs(&arr[0]); r != 0 {
		return nil, fmt.Errorf("cuda: nvrtcGetSupportedArchs: %s", C.GoString(C.gl_nvrtcErr(r)))
	}
	out := make([]int, len(arr))
	for i, a := range arr {
		out[i] = int(a)
	}
	return out, nil
}

// pickArch is the newest architecture NVRTC supports that does not exceed
// the device's compute capability cc (×10): PTX for an older virtual
// architecture is compiled on by the driver for newer devices.
func pickArch(archs []int, cc int) (int, error) {
	best := 0
	for _, a := range archs {
		if a <= cc && a > best {
			best = a
		}
	}
	if best == 0 {
		return 0, fmt.Errorf("cuda: NVRTC supports architectures %v, none at or below the device's %d", archs, cc)
	}
	return best, nil
}

// CompilePTX compiles one CUDA C source (named name in messages) to PTX for
// the virtual architecture compute_<arch> with NVRTC. It needs only
// libnvrtc, no GPU. The error carries NVRTC's compile log.
func CompilePTX(name, src string, arch int) (string, error) {
	if err := loadNVRTC(); err != nil {
		return "", err
	}
	opts := []string{fmt.Sprintf("--gpu-architecture=compute_%d", arch), "--std=c++14", "-default-device"}
	copts := make([]*C.char, len(opts))
	for i, o := range opts {
		copts[i] = C.CString(o)
		defer C.free(unsafe.Pointer(copts[i]))
	}
	csrc, cname := C.CString(src), C.CString(name)
	defer C.free(unsafe.Pointer(csrc))
	defer C.free(unsafe.Pointer(cname))
	var ptx, log *C.char
	var n C.size_t
	r := C.gl_nvrtc_compile(csrc, cname, &copts[0], C.int(len(copts)), &ptx, &n, &log)
	var logStr string
	if log != nil {
		logStr = strings.TrimSpace(C.GoString(log))
		C.free(unsafe.Pointer(log))
	}
	if r != 0 {
		return "", fmt.Errorf("cuda: NVRTC compiling %s for compute_%d: %s\n%s", name, arch, C.GoString(C.gl_nvrtcErr(r)), logStr)
	}
	defer C.free(unsafe.Pointer(ptx))
	return C.GoStringN(ptx, C.int(n)), nil
}
