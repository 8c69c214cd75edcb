//go:build glcuda

package models

import (
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/backendtest"
	"github.com/gliner-go/gliner/autograd/cuda"
	"github.com/gliner-go/gliner/losses"
)

// Which golden fixtures' plans (evaluation forward and training step) the
// CUDA backend's kernels cover, found without a GPU: the simulated device
// refuses exactly the kernels the CUDA backend's CheckKernel refuses, and
// a plan it compiles runs (on the CPU kernel bodies) to the goldens.
func TestCUDAKernelCoverage(t *testing.T) {
	be := &cuda.Backend{}
	for _, f := range goldenFixtures {
		t.Run(f, func(t *testing.T) {
			dev := backendtest.New()
			var missing []string
			dev.Missing = func(k autograd.Kernel, backward bool) bool {
				if err := be.CheckKernel(k, backward); err != nil {
					missing = append(missing, k.Name())
					return true
				}
				return false
			}
			m, dir, exp := loadFixtureModel(t, f)
			m.Loss = losses.DefaultOptions()
			if err := m.Place(dev); err != nil {
				t.Fatal(err)
			}
			out, ferr := m.Forward(fixtureBatch(t, dir, false, m.Cfg.MaxWidth))
			_, serr := m.StepLoss(fixtureBatch(t, dir, true, m.Cfg.MaxWidth))
			t.Logf("%s: forward %v; training step %v; missing %v", f, ferr, serr, missing)
			if ferr == nil {
				checkForward(t, out, exp)
			}
			// The span architectures are covered; the token ones lack the
			// token scorer (then the token loss).
			if covered := f != "uni_token_bert" && f != "uni_token_deberta" && f != "bi_token_deberta"; covered {
				if ferr != nil || serr != nil || len(missing) > 0 {
					t.Errorf("%s should compile on the CUDA kernels: forward %v, step %v", f, ferr, serr)
				}
			} else if len(missing) == 0 || missing[0] != "scorer_hidden" {
				t.Errorf("%s: missing kernels %v, want scorer_hidden first (update this test and the docs)", f, missing)
			}
		})
	}
}
