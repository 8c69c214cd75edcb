//go:build !mpi || !cgo

package main

import (
	"strings"
	"testing"
)

// TestRefusesMPIWithoutTag: started by mpirun as several processes, a
// selftrain binary built without -tags mpi refuses instead of running
// several copies into one output_dir.
func TestRefusesMPIWithoutTag(t *testing.T) {
	t.Setenv("OMPI_COMM_WORLD_SIZE", "2")
	code, out := runCLI(t, "--recipe", "whatever.yaml")
	if code != 1 || !strings.Contains(out, "built without MPI") {
		t.Fatalf("exit %d, output %q; want exit 1 and a refusal", code, out)
	}
}
