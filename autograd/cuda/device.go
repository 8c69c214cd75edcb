//go:build glcuda

package cuda

/*
#include <stdint.h>
#include <stdlib.h>
typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext;
typedef uint64_t CUdeviceptr;
typedef void *CUmodule;
typedef void *CUfunction;
typedef int cublasStatus_t;
typedef void *cublasHandle_t;
CUresult gl_cuDriverGetVersion(int *v);
CUresult gl_cuDeviceGetCount(int *n);
CUresult gl_cuDeviceGet(CUdevice *d, int i);
CUresult gl_cuDeviceGetName(char *s, int n, CUdevice d);
CUresult gl_cuDeviceGetAttribute(int *v, int a, CUdevice d);
CUresult gl_cuDevicePrimaryCtxRetain(CUcontext *c, CUdevice d);
CUresult gl_cuDevicePrimaryCtxRelease(CUdevice d);
CUresult gl_cuCtxSetCurrent(CUcontext c);
CUresult gl_cuCtxSynchronize(void);
CUresult gl_cuMemAlloc(CUdeviceptr *p, size_t n);
CUresult gl_cuMemFree(CUdeviceptr p);
CUresult gl_cuMemcpyHtoD(CUdeviceptr d, const void *s, size_t n);
CUresult gl_cuMemcpyDtoH(void *d, CUdeviceptr s, size_t n);
CUresult gl_cuMemcpyDtoD(CUdeviceptr d, CUdeviceptr s, size_t n);
CUresult gl_cuMemsetD8(CUdeviceptr d, unsigned char v, size_t n);
CUresult gl_cuModuleLoadData(CUmodule *m, const void *img);
CUresult gl_cuModuleUnload(CUmodule m);
CUresult gl_cuModuleGetFunction(CUfunction *f, CUmodule m, const char *n);
CUresult gl_launch(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                   unsigned shared, uint64_t *slots, int nargs);
cublasStatus_t gl_cublasCreate(cublasHandle_t *h);
cublasStatus_t gl_cublasDestroy(cublasHandle_t h);
cublasStatus_t gl_cublasSetMathMode(cublasHandle_t h, int m);
cublasStatus_t gl_cublasSgemm(cublasHandle_t h, int ta, int tb, int m, int n, int k, float alpha,
                              CUdeviceptr a, int lda, CUdeviceptr b, int ldb, float beta, CUdeviceptr c, int ldc);
cublasStatus_t gl_cublasSgemmStridedBatched(cublasHandle_t h, int ta, int tb, int m, int n, int k, float alpha,
                                            CUdeviceptr a, int lda, long long sa, CUdeviceptr b, int ldb,
                                            long long sb, float beta, CUdeviceptr c, int ldc, long long sc,
                                            int count);
*/
import "C"

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// Built reports whether this binary has the CUDA backend (built with -tags cuda).
const Built = true

// DevicePtr is a device address (CUdeviceptr).
type DevicePtr = uint64

// Device is one GPU with its primary context, the kernels compiled for it
// and a cuBLAS handle. Its methods lock the OS thread while the context is
// current; they are safe for use by one goroutine at a time (mu serialises).
type Device struct {
	mu      sync.Mutex
	ordinal int
	dev     C.CUdevice
	ctx     C.CUcontext
	Name    string
	// CC is the compute capability ×10 (90 for an H100/H200).
	CC    int
	arch  int
	funcs map[string]C.CUfunction
	mods  []C.CUmodule
	blas  C.cublasHandle_t
}

// DeviceCount is the number of CUDA devices the driver sees, or an error
// when the driver library cannot be loaded or initialised (no GPU or no
// NVIDIA driver on this machine).
func DeviceCount() (int, error) {
	if err := loadDriver(); err != nil {
		return 0, err
	}
	var n C.int
	if err := check("cuDeviceGetCount", C.gl_cuDeviceGetCount(&n)); err != nil {
		return 0, err
	}
	return int(n), nil
}

// OpenDevice binds device ordinal: loads the driver, cuBLAS and NVRTC,
// retains the primary context and compiles every embedded kernel source
// for the device's architecture.
func OpenDevice(ordinal int) (*Device, error) {
	n, err := DeviceCount()
	if err != nil {
		return nil, err
	}
	if ordinal < 0 || ordinal >= n {
		return nil, fmt.Errorf("cuda: device cuda:%d does not exist (%d CUDA devices)", ordinal, n)
	}
	if err := loadCUBLAS(); err != nil {
		return nil, err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	d := &Device{ordinal: ordinal, funcs: map[string]C.CUfunction{}}
	if err := check("cuDeviceGet", C.gl_cuDeviceGet(&d.dev, C.int(ordinal))); err != nil {
		return nil, err
	}
	var name [256]C.char
	if err := check("cuDeviceGetName", C.gl_cuDeviceGetName(&name[0], C.int(len(name)), d.dev)); err != nil {
		return nil, err
	}
	d.Name = C.GoString(&name[0])
	var maj, min C.int
	// CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75, _MINOR = 76.
	if err := check("cuDeviceGetAttribute", C.gl_cuDeviceGetAttribute(&maj, 75, d.dev)); err != nil {
		return nil, err
	}
	if err := check("cuDeviceGetAttribute", C.gl_cuDeviceGetAttribute(&min, 76, d.dev)); err != nil {
		return nil, err
	}
	d.CC = int(maj)*10 + int(min)
	if err := check("cuDevicePrimaryCtxRetain", C.gl_cuDevicePrimaryCtxRetain(&d.ctx, d.dev)); err != nil {
		return nil, err
	}
	if err := check("cuCtxSetCurrent", C.gl_cuCtxSetCurrent(d.ctx)); err != nil {
		return nil, err
	}
	if err := checkBLAS("cublasCreate", C.gl_cublasCreate(&d.blas)); err != nil {
		return nil, err
	}
	// CUBLAS_PEDANTIC_MATH (2): no TF32 or other reduced-precision paths,
	// so fp32 products match the CPU's to float32 rounding.
	if err := checkBLAS("cublasSetMathMode", C.gl_cublasSetMathMode(d.blas, 2)); err != nil {
		return nil, err
	}
	archs, err := NVRTCArchs()
	if err != nil {
		return nil, err
	}
	if d.arch, err = pickArch(archs, d.CC); err != nil {
		return nil, err
	}
	srcs, err := Sources()
	if err != nil {
		return nil, err
	}
	for _, s := range srcs {
		ptx, err := CompilePTX(s.Name, s.Text, d.arch)
		if err != nil {
			return nil, err
		}
		cptx := C.CString(ptx)
		var mod C.CUmodule
		r := C.gl_cuModuleLoadData(&mod, unsafe.Pointer(cptx))
		C.free(unsafe.Pointer(cptx))
		if err := check("cuModuleLoadData("+s.Name+")", r); err != nil {
			return nil, err
		}
		d.mods = append(d.mods, mod)
		for _, m := range globalNames(s.Text) {
			cn := C.CString(m)
			var f C.CUfunction
			r := C.gl_cuModuleGetFunction(&f, mod, cn)
			C.free(unsafe.Pointer(cn))
			if err := check("cuModuleGetFunction("+m+")", r); err != nil {
				return nil, err
			}
			d.funcs[m] = f
		}
	}
	return d, nil
}

// Close releases the modules, the cuBLAS handle and the primary context.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := check("cuCtxSetCurrent", C.gl_cuCtxSetCurrent(d.ctx)); err != nil {
		return err
	}
	for _, m := range d.mods {
		if err := check("cuModuleUnload", C.gl_cuModuleUnload(m)); err != nil {
			return err
		}
	}
	d.mods = nil
	if d.blas != nil {
		if err := checkBLAS("cublasDestroy", C.gl_cublasDestroy(d.blas)); err != nil {
			return err
		}
		d.blas = nil
	}
	return check("cuDevicePrimaryCtxRelease", C.gl_cuDevicePrimaryCtxRelease(d.dev))
}

// with runs f with d's context current on a locked OS thread.
func (d *Device) with(f func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := check("cuCtxSetCurrent", C.gl_cuCtxSetCurrent(d.ctx)); err != nil {
		return err
	}
	return f()
}

// Alloc returns bytes of zeroed device memory.
func (d *Device) Alloc(bytes int) (DevicePtr, error) {
	var p C.CUdeviceptr
	err := d.with(func() error {
		if bytes == 0 {
			return nil
		}
		if err := check(fmt.Sprintf("cuMemAlloc(%d bytes)", bytes), C.gl_cuMemAlloc(&p, C.size_t(bytes))); err != nil {
			return err
		}
		return check("cuMemsetD8", C.gl_cuMemsetD8(p, 0, C.size_t(bytes)))
	})
	return DevicePtr(p), err
}

// Free releases memory from Alloc (0 is a no-op).
func (d *Device) Free(p DevicePtr) error {
	if p == 0 {
		return nil
	}
	return d.with(func() error { return check("cuMemFree", C.gl_cuMemFree(C.CUdeviceptr(p))) })
}

// Upload copies bytes from host memory at src to dst.
func (d *Device) Upload(dst DevicePtr, src unsafe.Pointer, bytes int) error {
	if bytes == 0 {
		return nil
	}
	return d.with(func() error {
		return check("cuMemcpyHtoD", C.gl_cuMemcpyHtoD(C.CUdeviceptr(dst), src, C.size_t(bytes)))
	})
}

// Download copies bytes from src to host memory at dst (synchronous).
func (d *Device) Download(dst unsafe.Pointer, src DevicePtr, bytes int) error {
	if bytes == 0 {
		return nil
	}
	return d.with(func() error {
		return check("cuMemcpyDtoH", C.gl_cuMemcpyDtoH(dst, C.CUdeviceptr(src), C.size_t(bytes)))
	})
}

// CopyDevice copies bytes between device addresses.
func (d *Device) CopyDevice(dst, src DevicePtr, bytes int) error {
	if bytes == 0 {
		return nil
	}
	return d.with(func() error {
		return check("cuMemcpyDtoD", C.gl_cuMemcpyDtoD(C.CUdeviceptr(dst), C.CUdeviceptr(src), C.size_t(bytes)))
	})
}

// Zero sets bytes at p to zero.
func (d *Device) Zero(p DevicePtr, bytes int) error {
	if bytes == 0 {
		return nil
	}
	return d.with(func() error { return check("cuMemsetD8", C.gl_cuMemsetD8(C.CUdeviceptr(p), 0, C.size_t(bytes))) })
}

// Synchronize waits for every launched kernel and copy.
func (d *Device) Synchronize() error {
	return d.with(func() error { return check("cuCtxSynchronize", C.gl_cuCtxSynchronize()) })
}

// Launch runs kernel name on a 1-D grid of blocks×threads. Each argument
// is a DevicePtr, int (passed as a C long), uint32, float32, float64 or
// uint64, in the order of the kernel's parameters.
func (d *Device) Launch(name string, blocks, threads int, args ...any) error {
	f, ok := d.funcs[name]
	if !ok {
		return fmt.Errorf("cuda: no kernel %s in the compiled sources", name)
	}
	if blocks <= 0 {
		return nil
	}
	slots := make([]C.uint64_t, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case DevicePtr:
			slots[i] = C.uint64_t(v)
		case int:
			slots[i] = C.uint64_t(int64(v))
		case uint32:
			slots[i] = C.uint64_t(v)
		case float32:
			slots[i] = C.uint64_t(f32bits(v))
		case float64:
			slots[i] = C.uint64_t(f64bits(v))
		default:
			return fmt.Errorf("cuda: launching %s: argument %d has unsupported type %T", name, i, a)
		}
	}
	var p *C.uint64_t
	if len(slots) > 0 {
		p = &slots[0]
	}
	return d.with(func() error {
		return check("cuLaunchKernel("+name+")", C.gl_launch(f, C.uint(blocks), 1, 1, C.uint(threads), 1, 1, 0, p, C.int(len(slots))))
	})
}

// Sgemm is the row-major C = alpha·op(A)·op(B) + beta·C of kern.Sgemm on
// device memory, through cuBLAS's column-major sgemm: a row-major product
// is the column-major product of the transposes with A and B swapped.
func (d *Device) Sgemm(transA, transB bool, m, n, k int, alpha float32, a DevicePtr, lda int, b DevicePtr, ldb int, beta float32, c DevicePtr, ldc int) error {
	return d.SgemmStridedBatched(transA, transB, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1)
}

// SgemmStridedBatched is count row-major products, matrix i of A, B and C
// starting strideA, strideB, strideC elements after matrix i−1.
func (d *Device) SgemmStridedBatched(transA, transB bool, m, n, k int, alpha float32, a DevicePtr, lda, strideA int, b DevicePtr, ldb, strideB int, beta float32, c DevicePtr, ldc, strideC, count int) error {
	if m == 0 || n == 0 || count == 0 {
		return nil
	}
	op := func(t bool) C.int {
		if t {
			return 1 // CUBLAS_OP_T
		}
		return 0 // CUBLAS_OP_N
	}
	return d.with(func() error {
		if count == 1 {
			return checkBLAS("cublasSgemm", C.gl_cublasSgemm(d.blas, op(transB), op(transA), C.int(n), C.int(m), C.int(k),
				C.float(alpha), C.CUdeviceptr(b), C.int(ldb), C.CUdeviceptr(a), C.int(lda), C.float(beta), C.CUdeviceptr(c), C.int(ldc)))
		}
		return checkBLAS("cublasSgemmStridedBatched", C.gl_cublasSgemmStridedBatched(d.blas, op(transB), op(transA),
			C.int(n), C.int(m), C.int(k), C.float(alpha), C.CUdeviceptr(b), C.int(ldb), C.longlong(strideB),
			C.CUdeviceptr(a), C.int(lda), C.longlong(strideA), C.float(beta), C.CUdeviceptr(c), C.int(ldc),
			C.longlong(strideC), C.int(count)))
	})
}
