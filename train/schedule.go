package train

import (
	"fmt"
	"math"
	"strings"
)

// SchedulerType is a Hugging Face learning-rate schedule
// (lr_scheduler_type).
type SchedulerType int

// The supported schedules, as transformers' get_scheduler names them.
const (
	Linear SchedulerType = iota
	Cosine
	Constant
	ConstantWithWarmup
)

var schedulerNames = []string{"linear", "cosine", "constant", "constant_with_warmup"}

// String returns the Hugging Face name.
func (s SchedulerType) String() string {
	if s < 0 || int(s) >= len(schedulerNames) {
		return fmt.Sprintf("SchedulerType(%d)", int(s))
	}
	return schedulerNames[s]
}

// ParseSchedulerType parses a Hugging Face scheduler name.
func ParseSchedulerType(s string) (SchedulerType, error) {
	for i, n := range schedulerNames {
		if s == n {
			return SchedulerType(i), nil
		}
	}
	return 0, fmt.Errorf("unknown lr scheduler type %q (valid: %s)", s, strings.Join(schedulerNames, ", "))
}

// MarshalText implements encoding.TextMarshaler.
func (s SchedulerType) MarshalText() ([]byte, error) {
	if s < 0 || int(s) >= len(schedulerNames) {
		return nil, fmt.Errorf("invalid scheduler type %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler (YAML and JSON recipes).
func (s *SchedulerType) UnmarshalText(b []byte) error {
	v, err := ParseSchedulerType(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Schedule is a step-based multiplicative learning-rate schedule (torch
// LambdaLR built by transformers' get_*_schedule_with_warmup): after step
// optimizer steps the learning rate is BaseLR·Factor(step).
type Schedule struct {
	Type        SchedulerType
	WarmupSteps int
	TotalSteps  int
	// NumCycles is the cosine schedule's number of waves (0.5: from the
	// peak down to 0).
	NumCycles float64
}

// NewSchedule returns a schedule over totalSteps optimizer steps. As
// transformers' TrainingArguments.get_warmup_steps, warmupSteps > 0 wins,
// else the warmup is ceil(warmupRatio·totalSteps).
func NewSchedule(typ SchedulerType, totalSteps, warmupSteps int, warmupRatio float64) (Schedule, error) {
	if typ < 0 || int(typ) >= len(schedulerNames) {
		return Schedule{}, fmt.Errorf("schedule: invalid type %d", int(typ))
	}
	if totalSteps < 1 {
		return Schedule{}, fmt.Errorf("schedule: total steps %d must be ≥ 1", totalSteps)
	}
	if warmupSteps < 0 || !(warmupRatio >= 0 && warmupRatio <= 1) {
		return Schedule{}, fmt.Errorf("schedule: warmup steps %d must be ≥ 0 and warmup ratio %g in [0, 1]", warmupSteps, warmupRatio)
	}
	w := warmupSteps
	if w == 0 {
		w = int(math.Ceil(float64(totalSteps) * warmupRatio))
	}
	return Schedule{Type: typ, WarmupSteps: w, TotalSteps: totalSteps, NumCycles: 0.5}, nil
}

// Factor is the learning-rate multiplier after step optimizer steps
// (the lr_lambda of transformers, evaluated in float64 like Python).
func (s Schedule) Factor(step int) float64 {
	cur, w, n := float64(step), float64(s.WarmupSteps), float64(s.TotalSteps)
	if s.Type != Constant && step < s.WarmupSteps {
		return cur / math.Max(1, w)
	}
	switch s.Type {
	case Linear:
		return math.Max(0, (n-cur)/math.Max(1, n-w))
	case Cosine:
		progress := (cur - w) / math.Max(1, n-w)
		return math.Max(0, 0.5*(1+math.Cos(math.Pi*s.NumCycles*2*progress)))
	default:
		return 1
	}
}
