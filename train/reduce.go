package train

import "github.com/gliner-go/gliner/autograd"

// StepReducer combines the replicas of a data-parallel run (package dist
// implements it over MPI). Run calls it once per optimizer step, after the
// micro-batches' backward passes and before the NaN/Inf guard, clipping and
// the optimizer, so that every replica clips by the norm of the global
// gradient and takes the same step.
type StepReducer interface {
	// ReduceStep replaces, on every replica, the gradients of the trainable
	// parameters with their sums over the replicas and returns the summed
	// loss. touched[i] reports whether this replica's micro-batches reached
	// trainable[i]; the result reports whether any replica's did (the
	// parameters the optimizer updates).
	ReduceStep(trainable []*autograd.Param, touched []bool, loss float64) ([]bool, float64, error)
}

// reduceStep applies cfg.Reducer to one step's gradients: it returns the
// summed loss and the parameters with a gradient on any replica.
func reduceStep(r StepReducer, trainable []*autograd.Param, hasGrad func(*autograd.Param) bool, loss float64) (float64, []*autograd.Param, map[*autograd.Param]bool, error) {
	mine := make([]bool, len(trainable))
	for i, p := range trainable {
		mine[i] = hasGrad(p)
	}
	all, sum, err := r.ReduceStep(trainable, mine, loss)
	if err != nil {
		return 0, nil, nil, err
	}
	withGrad := make([]*autograd.Param, 0, len(trainable))
	set := make(map[*autograd.Param]bool, len(trainable))
	for i, p := range trainable {
		if all[i] {
			withGrad = append(withGrad, p)
			set[p] = true
		}
	}
	return sum, withGrad, set, nil
}
