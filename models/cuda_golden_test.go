//go:build glcuda

package models

import (
	"os"
	"testing"

	"github.com/gliner-go/gliner/autograd/cuda"
)

// The fixtures' goldens through the CUDA backend. Without a usable GPU the
// test reports NOT RUN (a failure when GLINER_REQUIRE_GPU=1, as
// scripts/gpu_check.sh sets). A plan needing a kernel the backend lacks
// fails at compile time naming it.
func TestGoldensOnCUDA(t *testing.T) {
	be, err := cuda.New(0, 1234)
	if err != nil {
		if os.Getenv("GLINER_REQUIRE_GPU") == "1" {
			t.Fatalf("GLINER_REQUIRE_GPU=1 but no CUDA device is usable: %v", err)
		}
		t.Skipf("NOT RUN: no usable CUDA device: %v", err)
	}
	defer be.Release()
	checkGoldensOn(t, be)
}
