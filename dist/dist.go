// Package dist runs training data-parallel over several processes: an MPI
// communicator (Open MPI, in binaries built with -tags mpi), the gradient
// all-reduce the training loop calls between the backward pass and
// clipping, the deterministic split of a global batch over the ranks, and
// the fingerprints that make ranks which disagree on the recipe, the data
// or the initial weights refuse to start.
//
// Without mpirun (or in a binary built without the mpi tag) Init returns
// Single, a one-process communicator whose operations do nothing, so a
// single process trains exactly as it does without this package.
package dist

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// TimeoutEnv names the environment variable that bounds how long a rank
// waits in one collective for the others (a Go duration, e.g. "30m"; "0"
// waits forever); DefaultTimeout applies when it is unset. A rank that dies
// is noticed by mpirun at once, which ends the job; the timeout catches a
// rank that hangs without dying.
const TimeoutEnv = "GLINER_DIST_TIMEOUT"

// DefaultTimeout is the collective timeout without TimeoutEnv.
const DefaultTimeout = 10 * time.Minute

func collectiveTimeout() (time.Duration, error) {
	v := os.Getenv(TimeoutEnv)
	if v == "" {
		return DefaultTimeout, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("dist: %s=%q: want a duration ≥ 0 such as 30m", TimeoutEnv, v)
	}
	return d, nil
}

// AllReducer sums float32 buffers over all ranks. It is the seam for a
// device all-reduce: a CUDA build would implement it with NCCL on device
// buffers (not done: there is no CUDA build yet); MPI implements it on
// host memory.
type AllReducer interface {
	// AllReduceSum replaces buf, on every rank, with the element-wise sum
	// of every rank's buf (all ranks pass the same length). Every rank
	// receives the same bits.
	AllReduceSum(buf []float32) error
}

// Comm is a communicator over Size processes, this one being Rank.
// Every collective must be called by every rank in the same order.
type Comm interface {
	AllReducer
	Rank() int
	Size() int
	// AllReduceSum64 is AllReduceSum for float64.
	AllReduceSum64(buf []float64) error
	// AllGather returns every rank's b, indexed by rank (lengths may
	// differ).
	AllGather(b []byte) ([][]byte, error)
	// Barrier returns once every rank has entered it.
	Barrier() error
	// Abort ends every rank of the job with code (it does not return).
	Abort(code int)
	// Close finalizes the communicator; no collective may follow.
	Close() error
}

// Single is the communicator of a process trained alone.
type Single struct{}

// Rank implements Comm.
func (Single) Rank() int { return 0 }

// Size implements Comm.
func (Single) Size() int { return 1 }

// AllReduceSum implements Comm: the sum over one rank is buf.
func (Single) AllReduceSum([]float32) error { return nil }

// AllReduceSum64 implements Comm.
func (Single) AllReduceSum64([]float64) error { return nil }

// AllGather implements Comm.
func (Single) AllGather(b []byte) ([][]byte, error) { return [][]byte{append([]byte(nil), b...)}, nil }

// Barrier implements Comm.
func (Single) Barrier() error { return nil }

// Abort implements Comm.
func (Single) Abort(code int) { os.Exit(code) }

// Close implements Comm.
func (Single) Close() error { return nil }

// LaunchedSize is the number of processes the launcher (mpirun) started,
// read from its environment; 0 when the process was not started by an MPI
// launcher.
func LaunchedSize() int {
	for _, k := range []string{"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"} {
		if v := os.Getenv(k); v != "" {
			if n, err := strconv.Atoi(v); err == nil {
				return n
			}
		}
	}
	return 0
}

// Shard is the part [lo, hi) of n items rank takes of size ranks:
// contiguous, in rank order, sizes differing by at most one.
func Shard(n, rank, size int) (lo, hi int) {
	if size < 1 {
		return 0, n
	}
	return n * rank / size, n * (rank + 1) / size
}

// Init returns the job's communicator: Single when the process was not
// launched by mpirun (or by mpirun -np 1), MPI otherwise. A binary built
// without the mpi tag that mpirun starts several times is an error rather
// than several independent trainings writing the same output_dir.
func Init() (Comm, error) {
	n := LaunchedSize()
	if n <= 1 {
		return Single{}, nil
	}
	return initMPI(n)
}

// Label prefixes messages of rank r of a multi-rank job ("rank r/N: "),
// and is empty for a single process.
func Label(c Comm) string {
	if c == nil || c.Size() == 1 {
		return ""
	}
	return fmt.Sprintf("rank %d/%d: ", c.Rank(), c.Size())
}
