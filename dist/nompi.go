//go:build !mpi || !cgo

package dist

import "fmt"

// Enabled reports whether this binary was built with MPI support.
const Enabled = false

func initMPI(n int) (Comm, error) {
	return nil, fmt.Errorf("dist: started by an MPI launcher as one of %d processes, but this binary was built without MPI: build it with `go build -tags mpi` (needs Open MPI: libopenmpi-dev)", n)
}
