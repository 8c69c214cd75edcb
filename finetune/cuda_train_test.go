//go:build glcuda

package finetune_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/cuda"
	"github.com/gliner-go/gliner/train"
)

func cudaOrNotRun(t *testing.T) *cuda.Backend {
	t.Helper()
	be, err := cuda.New(0, 1234)
	if err != nil {
		if os.Getenv("GLINER_REQUIRE_GPU") == "1" {
			t.Fatalf("GLINER_REQUIRE_GPU=1 but no CUDA device is usable: %v", err)
		}
		t.Skipf("NOT RUN: no usable CUDA device: %v", err)
	}
	t.Cleanup(func() { _ = be.Release() })
	return be
}

// 50 training steps of UniEncoderSpan and UniEncoderToken on the CPU and
// on CUDA: every loss within 1e-4 relative (the recipe's dropout is 0, so
// the device's dropout RNG plays no part).
func TestCUDATrainingMatchesCPU(t *testing.T) {
	be := cudaOrNotRun(t)
	for _, mode := range []string{"markerV0", "token_level"} {
		t.Run(mode, func(t *testing.T) {
			const steps = 50
			cpu := trainOn(t, autograd.CPU, nil, mode, "", "", steps, 0)
			dev := trainOn(t, be, nil, mode, "", "", steps, 0)
			for i := range cpu.losses {
				if d := math.Abs(dev.losses[i] - cpu.losses[i]); d > 1e-4*math.Abs(cpu.losses[i]) {
					t.Errorf("step %d: loss %v on cuda, %v on the cpu", i+1, dev.losses[i], cpu.losses[i])
				}
			}
		})
	}
}

// A checkpoint written on the CPU resumes on CUDA and one written on CUDA
// resumes on the CPU: the resumed losses within 1e-4 relative of an
// uninterrupted CPU run.
func TestCheckpointsResumeAcrossCPUAndCUDA(t *testing.T) {
	be := cudaOrNotRun(t)
	const mode = "markerV0"
	base := t.TempDir()
	full := trainOn(t, autograd.CPU, nil, mode, filepath.Join(base, "full"), "", 6, 0)
	for i, c := range [][2]autograd.Backend{{autograd.CPU, be}, {be, autograd.CPU}} {
		dir := filepath.Join(base, []string{"cpu-cuda", "cuda-cpu"}[i])
		trainOn(t, c[0], nil, mode, dir, "", 6, 3)
		resumed := trainOn(t, c[1], nil, mode, dir, train.CheckpointDir(dir, 3), 6, 0)
		for j, l := range resumed.losses {
			if d := math.Abs(l - full.losses[3+j]); d > 1e-4*math.Abs(full.losses[3+j]) {
				t.Errorf("%s → %s, step %d: loss %v, uninterrupted cpu %v", c[0].Name(), c[1].Name(), 4+j, l, full.losses[3+j])
			}
		}
	}
}
