package models

import (
	"math"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/backendtest"
	"github.com/gliner-go/gliner/losses"
)

// checkGoldensOn runs every golden fixture's forward pass and training
// step with the model placed on be and checks them against the reference
// (logits, intermediates, loss inputs, gradients) within the goldens'
// tolerances, and the training loss against the CPU's (bit for bit on the
// simulated device, within 1e-5 relative elsewhere).
func checkGoldensOn(t *testing.T, be autograd.Backend) {
	for _, f := range goldenFixtures {
		t.Run(f, func(t *testing.T) {
			m, dir, exp := loadFixtureModel(t, f)
			if err := m.Place(be); err != nil {
				t.Fatal(err)
			}
			out, err := m.Forward(fixtureBatch(t, dir, false, m.Cfg.MaxWidth))
			if err != nil {
				t.Fatal(err)
			}
			checkForward(t, out, exp)
			m.Loss = losses.DefaultOptions()
			if err := m.Store.ZeroGrads(); err != nil {
				t.Fatal(err)
			}
			b := fixtureBatch(t, dir, true, m.Cfg.MaxWidth)
			loss, err := m.StepLoss(b)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Store.SyncGradsToHost(); err != nil {
				t.Fatal(err)
			}
			checkGrads(t, m, exp.Grads)
			checkGradNorms(t, m, exp.GradNorms)

			// The same step on the CPU: the loss to 1e-5 relative on a
			// device (the CPU's own bits on the simulated one).
			c, _, _ := loadFixtureModel(t, f)
			c.Loss = losses.DefaultOptions()
			want, err := c.StepLoss(b)
			if err != nil {
				t.Fatal(err)
			}
			_, sim := be.(*backendtest.Device)
			switch {
			case sim && math.Float32bits(loss) != math.Float32bits(want):
				t.Errorf("loss %v on %s, %v on the cpu", loss, be.Name(), want)
			case math.Abs(float64(loss-want)) > 1e-5*math.Abs(float64(want)):
				t.Errorf("loss %v on %s, %v on the cpu", loss, be.Name(), want)
			}
		})
	}
}

// The fixtures' goldens hold with every model placed on the simulated
// device (memory the host reaches only by copies, the CPU's kernel
// bodies): forward outputs, gradients and the CPU's loss bits.
func TestGoldensOnSimulatedDevice(t *testing.T) {
	checkGoldensOn(t, backendtest.New())
}
