package selftrain

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// RuleMode selects how a prediction becomes a confident weak label.
type RuleMode int

// Rule modes.
const (
	// ModeThreshold keeps predictions whose score reaches the label's
	// threshold (Rules.Thresholds, else Rules.Threshold).
	ModeThreshold RuleMode = iota
	// ModeTopFraction keeps, per label, the top Rules.TopFraction of the
	// teacher's predictions over the whole corpus (by score).
	ModeTopFraction
	// ModeAgree keeps a prediction only when both rules agree (threshold
	// and top fraction); a prediction only one of them keeps is uncertain.
	ModeAgree
)

var ruleModeNames = []string{"threshold", "top_fraction", "agree"}

// String returns the mode's recipe name.
func (m RuleMode) String() string {
	if m < 0 || int(m) >= len(ruleModeNames) {
		return fmt.Sprintf("RuleMode(%d)", int(m))
	}
	return ruleModeNames[m]
}

// ParseRuleMode parses "threshold", "top_fraction" or "agree".
func ParseRuleMode(s string) (RuleMode, error) {
	for i, n := range ruleModeNames {
		if s == n {
			return RuleMode(i), nil
		}
	}
	return 0, fmt.Errorf("unknown weak-label rule %q (valid: %s)", s, strings.Join(ruleModeNames, ", "))
}

// MarshalText implements encoding.TextMarshaler.
func (m RuleMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *RuleMode) UnmarshalText(b []byte) error {
	v, err := ParseRuleMode(string(b))
	*m = v
	return err
}

// Rules turn a teacher's predictions into weak labels.
//
// A prediction is confident when the mode's rule keeps it (and, with a
// second teacher, when that teacher predicts the same span and label with a
// score of at least AgreeThreshold). A prediction that is not confident but
// scores at least Low is uncertain: masked from the loss when MaskUncertain
// is set, else an ordinary negative. Predictions below Low are negatives.
// A label with fewer confident entities over the corpus than its minimum
// count is dropped for the round: its entities are removed and it leaves
// the examples' label set (neither positive nor negative).
type Rules struct {
	// Labels the teacher is asked for (also the weak examples' label set).
	Labels []string `json:"labels"`
	Mode   RuleMode `json:"mode"`
	// Threshold is the default confident threshold; Thresholds overrides
	// it per label.
	Threshold  float64            `json:"threshold"`
	Thresholds map[string]float64 `json:"thresholds,omitempty"`
	// Low is the bottom of the uncertain band (0 < Low ≤ every threshold);
	// the teacher decodes at this threshold.
	Low float64 `json:"low"`
	// TopFraction in (0, 1] is the share of each label's predictions kept
	// by ModeTopFraction and ModeAgree.
	TopFraction float64 `json:"top_fraction,omitempty"`
	// MinCount is the minimum number of confident entities per label
	// (MinCounts overrides it per label); 0 means no minimum.
	MinCount  int            `json:"min_count"`
	MinCounts map[string]int `json:"min_counts,omitempty"`
	// AgreeThreshold is the second teacher's confident threshold (0: the
	// label's threshold).
	AgreeThreshold float64 `json:"agree_threshold,omitempty"`
	// MaskUncertain masks uncertain spans from the loss (default on in
	// recipes).
	MaskUncertain bool `json:"mask_uncertain"`
}

// High is label's confident threshold.
func (r *Rules) High(label string) float64 {
	if t, ok := r.Thresholds[label]; ok {
		return t
	}
	return r.Threshold
}

func (r *Rules) agree(label string) float64 {
	if r.AgreeThreshold > 0 {
		return r.AgreeThreshold
	}
	return r.High(label)
}

func (r *Rules) minCount(label string) int {
	if n, ok := r.MinCounts[label]; ok {
		return n
	}
	return r.MinCount
}

// Validate checks the rules.
func (r *Rules) Validate() error {
	if len(r.Labels) == 0 {
		return fmt.Errorf("weak labels: no labels")
	}
	seen := map[string]bool{}
	for _, l := range r.Labels {
		if l == "" || seen[l] {
			return fmt.Errorf("weak labels: label %q empty or repeated", l)
		}
		seen[l] = true
	}
	for l := range r.Thresholds {
		if !seen[l] {
			return fmt.Errorf("weak labels: threshold for %q, which is not among the labels %v", l, r.Labels)
		}
	}
	for l, n := range r.MinCounts {
		if !seen[l] || n < 0 {
			return fmt.Errorf("weak labels: min count %d for %q: not a label or negative", n, l)
		}
	}
	if r.MinCount < 0 {
		return fmt.Errorf("weak labels: min count %d must be ≥ 0", r.MinCount)
	}
	if !(r.Low > 0 && r.Low < 1) {
		return fmt.Errorf("weak labels: low threshold %g must be in (0, 1)", r.Low)
	}
	if r.Mode != ModeTopFraction {
		for _, l := range r.Labels {
			if h := r.High(l); !(h >= r.Low && h <= 1) {
				return fmt.Errorf("weak labels: threshold %g of %q must be in [low %g, 1]", h, l, r.Low)
			}
		}
	}
	if r.Mode != ModeThreshold && !(r.TopFraction > 0 && r.TopFraction <= 1) {
		return fmt.Errorf("weak labels: rule %v needs top_fraction in (0, 1], got %g", r.Mode, r.TopFraction)
	}
	if r.Mode < ModeThreshold || r.Mode > ModeAgree {
		return fmt.Errorf("weak labels: unknown rule %v", r.Mode)
	}
	if r.AgreeThreshold != 0 && !(r.AgreeThreshold >= r.Low && r.AgreeThreshold <= 1) {
		return fmt.Errorf("weak labels: agree threshold %g must be in [low %g, 1]", r.AgreeThreshold, r.Low)
	}
	return nil
}

// TopFractionCutoffs returns, per label, the score of the ceil(f·n)-th
// best of its n predictions: predictions scoring at least that are in the
// label's top fraction. A label without predictions gets +Inf.
func TopFractionCutoffs(scores map[string][]float64, labels []string, f float64) map[string]float64 {
	out := make(map[string]float64, len(labels))
	for _, l := range labels {
		s := append([]float64(nil), scores[l]...)
		if len(s) == 0 {
			out[l] = math.Inf(1)
			continue
		}
		sort.Sort(sort.Reverse(sort.Float64Slice(s)))
		n := int(math.Ceil(f * float64(len(s))))
		n = min(max(n, 1), len(s))
		out[l] = s[n-1]
	}
	return out
}

type spanKey struct {
	start, end int
	label      string
}

// Decide splits one document's predictions into confident entities and
// uncertain spans. cutoffs are TopFractionCutoffs (unused by
// ModeThreshold); second is the second teacher's predictions (nil without
// one). Both results are sorted by (start, end, label).
func (r *Rules) Decide(primary, second []Prediction, cutoffs map[string]float64, haveSecond bool) (confident, uncertain []Prediction) {
	var secondScore map[spanKey]float64
	if haveSecond {
		secondScore = make(map[spanKey]float64, len(second))
		for _, p := range second {
			secondScore[spanKey{p.Start, p.End, p.Label}] = p.Score
		}
	}
	seen := make(map[spanKey]bool, len(primary))
	for _, p := range primary {
		k := spanKey{p.Start, p.End, p.Label}
		seen[k] = true
		abs := p.Score >= r.High(p.Label)
		top := p.Score >= cutoffs[p.Label]
		var ok bool
		switch r.Mode {
		case ModeThreshold:
			ok = abs
		case ModeTopFraction:
			ok = top
		case ModeAgree:
			ok = abs && top
		}
		if ok && haveSecond {
			s, found := secondScore[k]
			ok = found && s >= r.agree(p.Label)
		}
		switch {
		case ok:
			confident = append(confident, p)
		case p.Score >= r.Low:
			uncertain = append(uncertain, p)
		}
	}
	// A span only the second teacher is sure of is uncertain too.
	for _, p := range second {
		if !seen[spanKey{p.Start, p.End, p.Label}] && p.Score >= r.agree(p.Label) {
			uncertain = append(uncertain, p)
		}
	}
	sortPredictions(confident)
	sortPredictions(uncertain)
	return confident, uncertain
}

func sortPredictions(ps []Prediction) {
	sort.Slice(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Start != b.Start {
			return a.Start < b.Start
		}
		if a.End != b.End {
			return a.End < b.End
		}
		return a.Label < b.Label
	})
}
