package models

import (
	"math"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/losses"
	"github.com/gliner-go/gliner/train"
)

// The fixtures record the loss before each of 10 torch.optim.AdamW steps
// (one group, lr 1e-3, weight decay 0.01) on the same batch.
func TestTrainTrajectoryMatchesReference(t *testing.T) {
	for _, f := range goldenFixtures {
		t.Run(f, func(t *testing.T) {
			m, dir, exp := loadFixtureModel(t, f)
			m.Loss = losses.DefaultOptions()
			b := fixtureBatch(t, dir, true, m.Cfg.MaxWidth)
			tr := exp.Trajectory
			if len(tr.Losses) != 10 {
				t.Fatalf("fixture has %d trajectory losses", len(tr.Losses))
			}
			opt, err := train.NewAdamW([]*train.Group{{Name: "all", BaseLR: tr.LR, LR: tr.LR, WeightDecay: tr.WeightDecay, Params: m.Store.Params()}},
				train.AdamWOptions{Beta1: tr.Betas[0], Beta2: tr.Betas[1], Eps: tr.Eps})
			if err != nil {
				t.Fatal(err)
			}
			trained := map[*autograd.Param]bool{}
			for _, p := range m.TrainedParams(b) {
				trained[p] = true
			}
			for step, want := range tr.Losses {
				m.Store.ZeroGrad()
				out, err := m.Step(b)
				if err != nil {
					t.Fatal(err)
				}
				if rel := math.Abs(float64(out.Loss)-want) / math.Abs(want); rel > 1e-3 {
					t.Fatalf("step %d: loss %v, reference %v (rel %.3g)", step, out.Loss, want, rel)
				}
				opt.Step(func(p *autograd.Param) bool { return trained[p] })
			}
		})
	}
}
