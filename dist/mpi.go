//go:build mpi && cgo

package dist

/*
#cgo pkg-config: ompi-c
#include <stdlib.h>
#include <stdint.h>
#include <mpi.h>

static int gl_init(int *provided) {
	int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided);
	if (rc != MPI_SUCCESS) return rc;
	// Errors come back as return codes, so the caller can report them and
	// abort the whole job instead of the library aborting silently.
	return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}
static int gl_rank(int *r) { return MPI_Comm_rank(MPI_COMM_WORLD, r); }
static int gl_size(int *s) { return MPI_Comm_size(MPI_COMM_WORLD, s); }
static int gl_sum_f32(float *buf, int n) {
	return MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}
static int gl_sum_f64(double *buf, int n) {
	return MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}
static int gl_gather_len(int64_t *mine, int64_t *all) {
	return MPI_Allgather(mine, 1, MPI_INT64_T, all, 1, MPI_INT64_T, MPI_COMM_WORLD);
}
static int gl_gatherv(void *mine, int n, void *all, int *counts, int *displs) {
	return MPI_Allgatherv(mine, n, MPI_BYTE, all, counts, displs, MPI_BYTE, MPI_COMM_WORLD);
}
static int gl_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
static void gl_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }
static int gl_finalize(void) { return MPI_Finalize(); }
static void gl_errstr(int code, char *buf) {
	int n = 0;
	MPI_Error_string(code, buf, &n);
	buf[n] = 0;
}
static int gl_max_string(void) { return MPI_MAX_ERROR_STRING; }
*/
import "C"

import (
	"fmt"
	"math"
	"os"
	"sync"
	"time"
	"unsafe"
)

// Enabled reports whether this binary was built with MPI support.
const Enabled = true

// mpiComm is MPI_COMM_WORLD. MPI is initialised for serialized use: calls
// may come from any OS thread (goroutines migrate) but never at once; mu
// serializes them.
type mpiComm struct {
	mu         sync.Mutex
	rank, size int
	closed     bool
	timeout    time.Duration
}

// guard is the watchdog of one collective: a rank that waits longer than
// the timeout for the others (a peer stopped or hung without dying, which
// mpirun does not notice) exits with status 3, and mpirun then ends the
// job. The returned function disarms it.
func (c *mpiComm) guard(what string) func() bool {
	if c.timeout <= 0 {
		return func() bool { return true }
	}
	t := time.AfterFunc(c.timeout, func() {
		fmt.Fprintf(os.Stderr, "dist: rank %d/%d: %s waited %v for the other ranks (%s): giving up\n", c.rank, c.size, what, c.timeout, TimeoutEnv)
		os.Exit(3)
	})
	return t.Stop
}

func initMPI(n int) (Comm, error) {
	var provided C.int
	if rc := C.gl_init(&provided); rc != C.MPI_SUCCESS {
		return nil, fmt.Errorf("dist: MPI_Init_thread: %s", mpiError(rc))
	}
	if provided < C.MPI_THREAD_SERIALIZED {
		return nil, fmt.Errorf("dist: the MPI library provides thread level %d, MPI_THREAD_SERIALIZED (%d) is needed", int(provided), int(C.MPI_THREAD_SERIALIZED))
	}
	timeout, err := collectiveTimeout()
	if err != nil {
		return nil, err
	}
	c := &mpiComm{timeout: timeout}
	var r, s C.int
	if rc := C.gl_rank(&r); rc != C.MPI_SUCCESS {
		return nil, fmt.Errorf("dist: MPI_Comm_rank: %s", mpiError(rc))
	}
	if rc := C.gl_size(&s); rc != C.MPI_SUCCESS {
		return nil, fmt.Errorf("dist: MPI_Comm_size: %s", mpiError(rc))
	}
	c.rank, c.size = int(r), int(s)
	if c.size != n {
		return nil, fmt.Errorf("dist: the launcher started %d processes but MPI_COMM_WORLD has %d", n, c.size)
	}
	return c, nil
}

func mpiError(rc C.int) string {
	buf := (*C.char)(C.malloc(C.size_t(C.gl_max_string() + 1)))
	defer C.free(unsafe.Pointer(buf))
	C.gl_errstr(rc, buf)
	return fmt.Sprintf("%s (MPI error %d)", C.GoString(buf), int(rc))
}

func (c *mpiComm) Rank() int { return c.rank }
func (c *mpiComm) Size() int { return c.size }

func (c *mpiComm) check(what string) error {
	if c.closed {
		return fmt.Errorf("dist: %s after Close", what)
	}
	return nil
}

// AllReduceSum implements Comm with MPI_Allreduce(MPI_IN_PLACE, MPI_SUM).
func (c *mpiComm) AllReduceSum(buf []float32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.guard("all-reduce")()
	if err := c.check("all-reduce"); err != nil {
		return err
	}
	for len(buf) > 0 {
		n := min(len(buf), math.MaxInt32)
		if rc := C.gl_sum_f32((*C.float)(unsafe.Pointer(&buf[0])), C.int(n)); rc != C.MPI_SUCCESS {
			return fmt.Errorf("dist: all-reduce of %d floats: %s", n, mpiError(rc))
		}
		buf = buf[n:]
	}
	return nil
}

// AllReduceSum64 implements Comm.
func (c *mpiComm) AllReduceSum64(buf []float64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.guard("all-reduce")()
	if err := c.check("all-reduce"); err != nil {
		return err
	}
	for len(buf) > 0 {
		n := min(len(buf), math.MaxInt32)
		if rc := C.gl_sum_f64((*C.double)(unsafe.Pointer(&buf[0])), C.int(n)); rc != C.MPI_SUCCESS {
			return fmt.Errorf("dist: all-reduce of %d doubles: %s", n, mpiError(rc))
		}
		buf = buf[n:]
	}
	return nil
}

// AllGather implements Comm: the lengths first, then MPI_Allgatherv.
func (c *mpiComm) AllGather(b []byte) ([][]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.guard("all-gather")()
	if err := c.check("all-gather"); err != nil {
		return nil, err
	}
	if len(b) > math.MaxInt32 {
		return nil, fmt.Errorf("dist: all-gather of %d bytes: at most %d", len(b), math.MaxInt32)
	}
	mine := C.int64_t(len(b))
	lens := make([]C.int64_t, c.size)
	if rc := C.gl_gather_len(&mine, &lens[0]); rc != C.MPI_SUCCESS {
		return nil, fmt.Errorf("dist: all-gather lengths: %s", mpiError(rc))
	}
	counts := make([]C.int, 2*c.size) // counts, then displacements
	total := 0
	for i, l := range lens {
		if total+int(l) > math.MaxInt32 {
			return nil, fmt.Errorf("dist: all-gather of %d bytes in all: at most %d", total+int(l), math.MaxInt32)
		}
		counts[i], counts[c.size+i] = C.int(l), C.int(total)
		total += int(l)
	}
	// One spare byte each, so that empty buffers still have an address.
	flat := make([]byte, total+1)
	src := append(append(make([]byte, 0, len(b)+1), b...), 0)
	if rc := C.gl_gatherv(unsafe.Pointer(&src[0]), C.int(len(b)), unsafe.Pointer(&flat[0]), &counts[0], &counts[c.size]); rc != C.MPI_SUCCESS {
		return nil, fmt.Errorf("dist: all-gather of %d bytes: %s", len(b), mpiError(rc))
	}
	out := make([][]byte, c.size)
	for i := range out {
		off := int(counts[c.size+i])
		out[i] = flat[off : off+int(counts[i]) : off+int(counts[i])]
	}
	return out, nil
}

// Barrier implements Comm.
func (c *mpiComm) Barrier() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.guard("barrier")()
	if err := c.check("barrier"); err != nil {
		return err
	}
	if rc := C.gl_barrier(); rc != C.MPI_SUCCESS {
		return fmt.Errorf("dist: barrier: %s", mpiError(rc))
	}
	return nil
}

// Abort implements Comm with MPI_Abort: mpirun ends every rank.
func (c *mpiComm) Abort(code int) {
	C.gl_abort(C.int(code))
}

// Close implements Comm with MPI_Finalize.
func (c *mpiComm) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if rc := C.gl_finalize(); rc != C.MPI_SUCCESS {
		return fmt.Errorf("dist: MPI_Finalize: %s", mpiError(rc))
	}
	return nil
}
