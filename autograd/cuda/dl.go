//go:build glcuda

package cuda

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext;
typedef uint64_t CUdeviceptr;
typedef void *CUmodule;
typedef void *CUfunction;
typedef void *CUstream;
typedef int nvrtcResult;
typedef void *nvrtcProgram;
typedef int cublasStatus_t;
typedef void *cublasHandle_t;

// ---- symbol tables, filled by gl_load_* ----

static CUresult (*p_cuInit)(unsigned);
static CUresult (*p_cuDriverGetVersion)(int *);
static CUresult (*p_cuDeviceGetCount)(int *);
static CUresult (*p_cuDeviceGet)(CUdevice *, int);
static CUresult (*p_cuDeviceGetName)(char *, int, CUdevice);
static CUresult (*p_cuDeviceGetAttribute)(int *, int, CUdevice);
static CUresult (*p_cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
static CUresult (*p_cuDevicePrimaryCtxRelease)(CUdevice);
static CUresult (*p_cuCtxSetCurrent)(CUcontext);
static CUresult (*p_cuCtxSynchronize)(void);
static CUresult (*p_cuMemAlloc)(CUdeviceptr *, size_t);
static CUresult (*p_cuMemFree)(CUdeviceptr);
static CUresult (*p_cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
static CUresult (*p_cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
static CUresult (*p_cuMemcpyDtoD)(CUdeviceptr, CUdeviceptr, size_t);
static CUresult (*p_cuMemsetD8)(CUdeviceptr, unsigned char, size_t);
static CUresult (*p_cuModuleLoadData)(CUmodule *, const void *);
static CUresult (*p_cuModuleUnload)(CUmodule);
static CUresult (*p_cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
static CUresult (*p_cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                                     unsigned, CUstream, void **, void **);
static CUresult (*p_cuGetErrorName)(CUresult, const char **);

static nvrtcResult (*p_nvrtcVersion)(int *, int *);
static nvrtcResult (*p_nvrtcCreateProgram)(nvrtcProgram *, const char *, const char *, int, const char *const *,
                                           const char *const *);
static nvrtcResult (*p_nvrtcCompileProgram)(nvrtcProgram, int, const char *const *);
static nvrtcResult (*p_nvrtcGetProgramLogSize)(nvrtcProgram, size_t *);
static nvrtcResult (*p_nvrtcGetProgramLog)(nvrtcProgram, char *);
static nvrtcResult (*p_nvrtcGetPTXSize)(nvrtcProgram, size_t *);
static nvrtcResult (*p_nvrtcGetPTX)(nvrtcProgram, char *);
static nvrtcResult (*p_nvrtcDestroyProgram)(nvrtcProgram *);
static const char *(*p_nvrtcGetErrorString)(nvrtcResult);
static nvrtcResult (*p_nvrtcGetNumSupportedArchs)(int *);
static nvrtcResult (*p_nvrtcGetSupportedArchs)(int *);

static cublasStatus_t (*p_cublasCreate)(cublasHandle_t *);
static cublasStatus_t (*p_cublasDestroy)(cublasHandle_t);
static cublasStatus_t (*p_cublasSgemm)(cublasHandle_t, int, int, int, int, int, const float *, const float *, int,
                                      const float *, int, const float *, float *, int);
static cublasStatus_t (*p_cublasSgemmStridedBatched)(cublasHandle_t, int, int, int, int, int, const float *,
                                                    const float *, int, long long, const float *, int, long long,
                                                    const float *, float *, int, long long, int);
static cublasStatus_t (*p_cublasSetMathMode)(cublasHandle_t, int);

// gl_open tries each colon-separated candidate path in turn and returns the
// first handle, or NULL with the last dlerror in *err.
static void *gl_open(const char *candidates, char *err, size_t errlen) {
	char *list = strdup(candidates);
	void *h = NULL;
	err[0] = 0;
	for (char *tok = strtok(list, ":"); tok != NULL; tok = strtok(NULL, ":")) {
		h = dlopen(tok, RTLD_NOW | RTLD_LOCAL);
		if (h != NULL) break;
		const char *e = dlerror();
		if (e != NULL) { strncpy(err, e, errlen - 1); err[errlen - 1] = 0; }
	}
	free(list);
	return h;
}

// gl_sym resolves one symbol; a missing one names itself in err.
#define GL_SYM(h, var, name) do { *(void **)(&var) = dlsym(h, name); \
	if (var == NULL) { strncpy(err, name, errlen - 1); err[errlen - 1] = 0; return 1; } } while (0)

int gl_load_driver(void *h, char *err, size_t errlen) {
	GL_SYM(h, p_cuInit, "cuInit");
	GL_SYM(h, p_cuDriverGetVersion, "cuDriverGetVersion");
	GL_SYM(h, p_cuDeviceGetCount, "cuDeviceGetCount");
	GL_SYM(h, p_cuDeviceGet, "cuDeviceGet");
	GL_SYM(h, p_cuDeviceGetName, "cuDeviceGetName");
	GL_SYM(h, p_cuDeviceGetAttribute, "cuDeviceGetAttribute");
	GL_SYM(h, p_cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
	GL_SYM(h, p_cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
	GL_SYM(h, p_cuCtxSetCurrent, "cuCtxSetCurrent");
	GL_SYM(h, p_cuCtxSynchronize, "cuCtxSynchronize");
	GL_SYM(h, p_cuMemAlloc, "cuMemAlloc_v2");
	GL_SYM(h, p_cuMemFree, "cuMemFree_v2");
	GL_SYM(h, p_cuMemcpyHtoD, "cuMemcpyHtoD_v2");
	GL_SYM(h, p_cuMemcpyDtoH, "cuMemcpyDtoH_v2");
	GL_SYM(h, p_cuMemcpyDtoD, "cuMemcpyDtoD_v2");
	GL_SYM(h, p_cuMemsetD8, "cuMemsetD8_v2");
	GL_SYM(h, p_cuModuleLoadData, "cuModuleLoadData");
	GL_SYM(h, p_cuModuleUnload, "cuModuleUnload");
	GL_SYM(h, p_cuModuleGetFunction, "cuModuleGetFunction");
	GL_SYM(h, p_cuLaunchKernel, "cuLaunchKernel");
	GL_SYM(h, p_cuGetErrorName, "cuGetErrorName");
	return 0;
}

int gl_load_nvrtc(void *h, char *err, size_t errlen) {
	GL_SYM(h, p_nvrtcVersion, "nvrtcVersion");
	GL_SYM(h, p_nvrtcCreateProgram, "nvrtcCreateProgram");
	GL_SYM(h, p_nvrtcCompileProgram, "nvrtcCompileProgram");
	GL_SYM(h, p_nvrtcGetProgramLogSize, "nvrtcGetProgramLogSize");
	GL_SYM(h, p_nvrtcGetProgramLog, "nvrtcGetProgramLog");
	GL_SYM(h, p_nvrtcGetPTXSize, "nvrtcGetPTXSize");
	GL_SYM(h, p_nvrtcGetPTX, "nvrtcGetPTX");
	GL_SYM(h, p_nvrtcDestroyProgram, "nvrtcDestroyProgram");
	GL_SYM(h, p_nvrtcGetErrorString, "nvrtcGetErrorString");
	GL_SYM(h, p_nvrtcGetNumSupportedArchs, "nvrtcGetNumSupportedArchs");
	GL_SYM(h, p_nvrtcGetSupportedArchs, "nvrtcGetSupportedArchs");
	return 0;
}

int gl_load_cublas(void *h, char *err, size_t errlen) {
	GL_SYM(h, p_cublasCreate, "cublasCreate_v2");
	GL_SYM(h, p_cublasDestroy, "cublasDestroy_v2");
	GL_SYM(h, p_cublasSgemm, "cublasSgemm_v2");
	GL_SYM(h, p_cublasSgemmStridedBatched, "cublasSgemmStridedBatched");
	GL_SYM(h, p_cublasSetMathMode, "cublasSetMathMode");
	return 0;
}

// ---- trampolines: cgo cannot call C function pointers directly ----

CUresult gl_cuInit(unsigned f) { return p_cuInit(f); }
CUresult gl_cuDriverGetVersion(int *v) { return p_cuDriverGetVersion(v); }
CUresult gl_cuDeviceGetCount(int *n) { return p_cuDeviceGetCount(n); }
CUresult gl_cuDeviceGet(CUdevice *d, int i) { return p_cuDeviceGet(d, i); }
CUresult gl_cuDeviceGetName(char *s, int n, CUdevice d) { return p_cuDeviceGetName(s, n, d); }
CUresult gl_cuDeviceGetAttribute(int *v, int a, CUdevice d) { return p_cuDeviceGetAttribute(v, a, d); }
CUresult gl_cuDevicePrimaryCtxRetain(CUcontext *c, CUdevice d) { return p_cuDevicePrimaryCtxRetain(c, d); }
CUresult gl_cuDevicePrimaryCtxRelease(CUdevice d) { return p_cuDevicePrimaryCtxRelease(d); }
CUresult gl_cuCtxSetCurrent(CUcontext c) { return p_cuCtxSetCurrent(c); }
CUresult gl_cuCtxSynchronize(void) { return p_cuCtxSynchronize(); }
CUresult gl_cuMemAlloc(CUdeviceptr *p, size_t n) { return p_cuMemAlloc(p, n); }
CUresult gl_cuMemFree(CUdeviceptr p) { return p_cuMemFree(p); }
CUresult gl_cuMemcpyHtoD(CUdeviceptr d, const void *s, size_t n) { return p_cuMemcpyHtoD(d, s, n); }
CUresult gl_cuMemcpyDtoH(void *d, CUdeviceptr s, size_t n) { return p_cuMemcpyDtoH(d, s, n); }
CUresult gl_cuMemcpyDtoD(CUdeviceptr d, CUdeviceptr s, size_t n) { return p_cuMemcpyDtoD(d, s, n); }
CUresult gl_cuMemsetD8(CUdeviceptr d, unsigned char v, size_t n) { return p_cuMemsetD8(d, v, n); }
CUresult gl_cuModuleLoadData(CUmodule *m, const void *img) { return p_cuModuleLoadData(m, img); }
CUresult gl_cuModuleUnload(CUmodule m) { return p_cuModuleUnload(m); }
CUresult gl_cuModuleGetFunction(CUfunction *f, CUmodule m, const char *n) { return p_cuModuleGetFunction(f, m, n); }
const char *gl_cuErrorName(CUresult r) {
	const char *s = NULL;
	if (p_cuGetErrorName == NULL || p_cuGetErrorName(r, &s) != 0 || s == NULL) return "CUDA_ERROR_UNKNOWN";
	return s;
}

// gl_launch passes the kernel arguments as an array of 8-byte slots (device
// pointers, int64 and double values, or float/int32 in the low bytes): the
// kernels of this package take only such parameters.
CUresult gl_launch(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                          unsigned shared, uint64_t *slots, int nargs) {
	void *params[32];
	if (nargs > 32) return 1;
	for (int i = 0; i < nargs; i++) params[i] = &slots[i];
	return p_cuLaunchKernel(f, gx, gy, gz, bx, by, bz, shared, NULL, params, NULL);
}

nvrtcResult gl_nvrtcVersion(int *a, int *b) { return p_nvrtcVersion(a, b); }
const char *gl_nvrtcErr(nvrtcResult r) { return p_nvrtcGetErrorString ? p_nvrtcGetErrorString(r) : "NVRTC error"; }
nvrtcResult gl_nvrtcNumArchs(int *n) { return p_nvrtcGetNumSupportedArchs(n); }
nvrtcResult gl_nvrtcArchs(int *a) { return p_nvrtcGetSupportedArchs(a); }

// gl_nvrtc_compile compiles src to PTX. On success *ptx (malloc'd) holds the
// PTX; the compile log (malloc'd, possibly empty) is in *log either way.
nvrtcResult gl_nvrtc_compile(const char *src, const char *name, const char **opts, int nopts,
                                    char **ptx, size_t *ptxlen, char **log) {
	nvrtcProgram prog;
	*ptx = NULL; *log = NULL; *ptxlen = 0;
	nvrtcResult r = p_nvrtcCreateProgram(&prog, src, name, 0, NULL, NULL);
	if (r != 0) return r;
	nvrtcResult cr = p_nvrtcCompileProgram(prog, nopts, opts);
	size_t n = 0;
	if (p_nvrtcGetProgramLogSize(prog, &n) == 0 && n > 0) {
		*log = malloc(n + 1);
		if (*log != NULL && p_nvrtcGetProgramLog(prog, *log) != 0) (*log)[0] = 0;
		if (*log != NULL) (*log)[n] = 0;
	}
	if (cr == 0) {
		r = p_nvrtcGetPTXSize(prog, &n);
		if (r == 0) {
			*ptx = malloc(n + 1);
			r = p_nvrtcGetPTX(prog, *ptx);
			(*ptx)[n] = 0;
			*ptxlen = n;
		}
	} else {
		r = cr;
	}
	p_nvrtcDestroyProgram(&prog);
	return r;
}

cublasStatus_t gl_cublasCreate(cublasHandle_t *h) { return p_cublasCreate(h); }
cublasStatus_t gl_cublasDestroy(cublasHandle_t h) { return p_cublasDestroy(h); }
cublasStatus_t gl_cublasSetMathMode(cublasHandle_t h, int m) { return p_cublasSetMathMode(h, m); }
cublasStatus_t gl_cublasSgemm(cublasHandle_t h, int ta, int tb, int m, int n, int k, float alpha,
                                     CUdeviceptr a, int lda, CUdeviceptr b, int ldb, float beta, CUdeviceptr c, int ldc) {
	return p_cublasSgemm(h, ta, tb, m, n, k, &alpha, (const float *)a, lda, (const float *)b, ldb, &beta, (float *)c, ldc);
}
cublasStatus_t gl_cublasSgemmStridedBatched(cublasHandle_t h, int ta, int tb, int m, int n, int k, float alpha,
                                                   CUdeviceptr a, int lda, long long sa, CUdeviceptr b, int ldb,
                                                   long long sb, float beta, CUdeviceptr c, int ldc, long long sc,
                                                   int count) {
	return p_cublasSgemmStridedBatched(h, ta, tb, m, n, k, &alpha, (const float *)a, lda, sa, (const float *)b, ldb,
	                                   sb, &beta, (float *)c, ldc, sc, count);
}
*/
import "C"

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"
)

// libCandidates lists where each library is looked for: the names the
// dynamic loader resolves (LD_LIBRARY_PATH, ld.so.cache), then the same
// names in the directories of GLINER_CUDA_LIB_DIRS (colon-separated) and
// /usr/local/cuda/lib64, so a toolkit or a pip wheel outside the loader's
// path is found when named.
func libCandidates(names ...string) string {
	var out []string
	out = append(out, names...)
	dirs := filepath.SplitList(os.Getenv("GLINER_CUDA_LIB_DIRS"))
	dirs = append(dirs, "/usr/local/cuda/lib64")
	for _, d := range dirs {
		if d == "" {
			continue
		}
		for _, n := range names {
			out = append(out, filepath.Join(d, n))
		}
	}
	return strings.Join(out, ":")
}

func openLib(what string, names []string, load func(h unsafe.Pointer, err *C.char, n C.size_t) C.int) error {
	var errBuf [512]C.char
	cands := C.CString(libCandidates(names...))
	defer C.free(unsafe.Pointer(cands))
	h := C.gl_open(cands, &errBuf[0], C.size_t(len(errBuf)))
	if h == nil {
		return fmt.Errorf("cuda: loading %s (tried %s; set GLINER_CUDA_LIB_DIRS to its directory): %s",
			what, strings.Join(names, ", "), C.GoString(&errBuf[0]))
	}
	if load(h, &errBuf[0], C.size_t(len(errBuf))) != 0 {
		return fmt.Errorf("cuda: %s lacks symbol %s (library too old?)", what, C.GoString(&errBuf[0]))
	}
	return nil
}

var (
	driverOnce, nvrtcOnce, cublasOnce sync.Once
	driverErr, nvrtcErr, cublasErr    error
)

// loadDriver binds libcuda (the driver API), once per process.
func loadDriver() error {
	driverOnce.Do(func() {
		driverErr = openLib("the CUDA driver library", []string{"libcuda.so.1", "libcuda.so"},
			func(h unsafe.Pointer, e *C.char, n C.size_t) C.int { return C.gl_load_driver(h, e, n) })
		if driverErr == nil {
			driverErr = check("cuInit", C.gl_cuInit(0))
		}
	})
	return driverErr
}

// loadNVRTC binds libnvrtc (the run-time compiler), once per process.
func loadNVRTC() error {
	nvrtcOnce.Do(func() {
		nvrtcErr = openLib("NVRTC", []string{"libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2"},
			func(h unsafe.Pointer, e *C.char, n C.size_t) C.int { return C.gl_load_nvrtc(h, e, n) })
	})
	return nvrtcErr
}

// loadCUBLAS binds libcublas, once per process.
func loadCUBLAS() error {
	cublasOnce.Do(func() {
		cublasErr = openLib("cuBLAS", []string{"libcublas.so", "libcublas.so.13", "libcublas.so.12", "libcublas.so.11"},
			func(h unsafe.Pointer, e *C.char, n C.size_t) C.int { return C.gl_load_cublas(h, e, n) })
	})
	return cublasErr
}

// check turns a driver API result into an error naming the call.
func check(call string, r C.CUresult) error {
	if r == 0 {
		return nil
	}
	return fmt.Errorf("cuda: %s: %s (%d)", call, C.GoString(C.gl_cuErrorName(r)), int(r))
}

func checkBLAS(call string, r C.cublasStatus_t) error {
	if r == 0 {
		return nil
	}
	return fmt.Errorf("cuda: %s: cuBLAS status %d", call, int(r))
}
