package models

import (
	"testing"

	"github.com/gliner-go/gliner/losses"
)

// The fixtures record the loss before each of 10 torch.optim.AdamW steps
// (one group, lr 1e-3, weight decay 0.01) on the same batch.
func TestTrainTrajectoryMatchesReference(t *testing.T) {
	for _, f := range goldenFixtures {
		t.Run(f, func(t *testing.T) {
			m, dir, exp := loadFixtureModel(t, f)
			m.Loss = losses.DefaultOptions()
			checkTrajectory(t, m, fixtureBatch(t, dir, true, m.Cfg.MaxWidth), exp.Trajectory)
		})
	}
}
