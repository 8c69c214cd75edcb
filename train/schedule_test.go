package train_test

import (
	"math"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/train"
)

func TestScheduleFactors(t *testing.T) {
	cases := []struct {
		typ    train.SchedulerType
		total  int
		warmup int
		ratio  float64
		want   map[int]float64
	}{
		{train.Linear, 10, 2, 0, map[int]float64{0: 0, 1: 0.5, 2: 1, 3: 0.875, 6: 0.5, 10: 0, 12: 0}},
		{train.Cosine, 10, 2, 0, map[int]float64{0: 0, 1: 0.5, 2: 1, 4: (2 + math.Sqrt2) / 4, 6: 0.5, 8: (2 - math.Sqrt2) / 4, 10: 0}},
		{train.Constant, 10, 2, 0, map[int]float64{0: 1, 1: 1, 9: 1}},
		{train.ConstantWithWarmup, 10, 4, 0, map[int]float64{0: 0, 1: 0.25, 3: 0.75, 4: 1, 9: 1}},
		// warmup ratio: ceil(0.15·10) = 2 (HF get_warmup_steps).
		{train.Linear, 10, 0, 0.15, map[int]float64{1: 0.5, 2: 1, 6: 0.5}},
		// Recipe: cosine, 15000 steps, warmup 0.05 → 750 steps.
		{train.Cosine, 15000, 0, 0.05, map[int]float64{375: 0.5, 750: 1, 7875: 0.5}},
	}
	for _, c := range cases {
		s, err := train.NewSchedule(c.typ, c.total, c.warmup, c.ratio)
		if err != nil {
			t.Fatal(err)
		}
		for step, want := range c.want {
			if got := s.Factor(step); math.Abs(got-want) > 1e-12 {
				t.Errorf("%s total %d warmup %d ratio %g: factor(%d) = %.15g, want %.15g", c.typ, c.total, c.warmup, c.ratio, step, got, want)
			}
		}
	}
}

func TestParseSchedulerType(t *testing.T) {
	for _, n := range []string{"linear", "cosine", "constant", "constant_with_warmup"} {
		s, err := train.ParseSchedulerType(n)
		if err != nil || s.String() != n {
			t.Errorf("%q: %v %v", n, s, err)
		}
	}
	_, err := train.ParseSchedulerType("cosine_with_restarts")
	if err == nil || !strings.Contains(err.Error(), "linear, cosine, constant, constant_with_warmup") {
		t.Fatalf("error %v does not list the valid values", err)
	}
	var s train.SchedulerType
	if err := s.UnmarshalText([]byte("constant_with_warmup")); err != nil || s != train.ConstantWithWarmup {
		t.Fatalf("UnmarshalText: %v %v", s, err)
	}
	if _, err := train.NewSchedule(train.Linear, 0, 0, 0); err == nil {
		t.Fatal("zero total steps accepted")
	}
}
