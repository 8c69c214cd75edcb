package dist

import (
	"context"
	"fmt"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/train"
)

// CheckHook verifies, every Every steps and at the last step, that all
// ranks hold bit-identical weights (they must: each applies the same
// all-reduced gradient). A difference is a bug or a broken all-reduce and
// stops training on every rank with an error naming the step.
type CheckHook struct {
	train.NopHook
	Comm  Comm
	Store *autograd.Store
	Every int // 0: the last step only
}

// OnStep implements train.Hook.
func (h *CheckHook) OnStep(_ context.Context, i *train.StepInfo) error {
	if h.Comm.Size() == 1 || !(i.Step == i.MaxSteps || (h.Every > 0 && i.Step%h.Every == 0)) {
		return nil
	}
	d := WeightsDigest(h.Store)
	if err := Agree(h.Comm, []Fingerprint{{What: fmt.Sprintf("weights after step %d", i.Step), Digest: d}}); err != nil {
		return fmt.Errorf("the replicas diverged: %w", err)
	}
	return nil
}
