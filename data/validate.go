package data

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Problem is one bad example: where it is and why it was rejected. It is
// the error a Reader returns for a bad example.
type Problem struct {
	// Source names the place: "train.jsonl:12" (file:line for JSONL,
	// CoNLL and text), "train.json[3]" (array index for JSON),
	// "train.parquet row 7" (Parquet and Arrow).
	Source string
	// Reason says what is wrong, e.g. `ner[2]: end 9 is past the text (5 words)`.
	Reason string
}

// Error implements error as "source: reason".
func (p *Problem) Error() string { return p.Source + ": " + p.Reason }

func problemf(source, format string, args ...any) *Problem {
	return &Problem{Source: source, Reason: fmt.Sprintf(format, args...)}
}

// ErrorPolicy says what a read does with a bad example.
type ErrorPolicy int

const (
	// FailFast stops at the first bad example with its error.
	FailFast ErrorPolicy = iota
	// Skip records the bad example in the Report and goes on.
	Skip
)

// ParseErrorPolicy parses "fail" or "skip"; the error lists the valid values.
func ParseErrorPolicy(s string) (ErrorPolicy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "fail", "fail-fast", "failfast":
		return FailFast, nil
	case "skip":
		return Skip, nil
	}
	return FailFast, fmt.Errorf("unknown error policy %q (valid: fail, skip)", s)
}

// String returns "fail" or "skip".
func (p ErrorPolicy) String() string {
	if p == Skip {
		return "skip"
	}
	return "fail"
}

// Report counts what a read (and optional windowing) did. Nothing is dropped
// without being counted here. The training code fills one per dataset.
type Report struct {
	// Read counts examples read, good and bad.
	Read int
	// Skipped counts bad examples left out; Problems says why, one each.
	Skipped  int
	Problems []Problem
	// Warnings are what was accepted but looks wrong (an unknown key), one
	// per distinct reason: the first place it was seen and how often.
	Warnings []Warning
	// Window counts what windowing did (zero when none was applied).
	Window WindowStats
}

// Warning is a reason a reader gave for examples it accepted, where it was
// first seen and in how many examples.
type Warning struct {
	Source string // the first example with it: "train.jsonl:3"
	Reason string
	Count  int
}

// String is "warning: source: reason", with the count when above one.
func (w Warning) String() string {
	s := "warning: " + w.Source + ": " + w.Reason
	if w.Count > 1 {
		s += fmt.Sprintf(" (%d examples, the first here)", w.Count)
	}
	return s
}

// warn records reason for the example at source.
func (r *Report) warn(source, reason string) {
	for i := range r.Warnings {
		if r.Warnings[i].Reason == reason {
			r.Warnings[i].Count++
			return
		}
	}
	r.Warnings = append(r.Warnings, Warning{Source: source, Reason: reason, Count: 1})
}

// Kept is the number of good examples (Read - Skipped).
func (r *Report) Kept() int { return r.Read - r.Skipped }

// String summarizes the report in one line.
func (r *Report) String() string {
	s := fmt.Sprintf("%d examples read, %d kept, %d skipped", r.Read, r.Kept(), r.Skipped)
	if n := len(r.Warnings); n == 1 {
		s += ", 1 warning"
	} else if n > 1 {
		s += fmt.Sprintf(", %d warnings", n)
	}
	if w := r.Window; w != (WindowStats{}) {
		s += "; " + w.String()
	}
	return s
}

// Validate checks one example and returns every reason it is unusable (nil
// when it is fine): no words, empty words, invalid UTF-8, entity spans that
// are negative, reversed (end < start) or run past the text, empty labels,
// relations whose head or tail is not an entity index, empty strings in the
// optional label lists.
func Validate(ex Example) []string {
	var bad []string
	add := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	n := len(ex.Words)
	if n == 0 {
		add("empty text (no words)")
	}
	for i, w := range ex.Words {
		if w == "" {
			add("tokenized_text[%d] is an empty string", i)
		} else if !utf8.ValidString(w) {
			add("tokenized_text[%d] is not valid UTF-8", i)
		}
	}
	for i, e := range ex.Entities {
		switch {
		case e.Start < 0 || e.End < 0:
			add("ner[%d]: negative word index [%d, %d]", i, e.Start, e.End)
		case e.End < e.Start:
			add("ner[%d]: end %d < start %d", i, e.End, e.Start)
		case e.End >= n:
			add("ner[%d]: span [%d, %d] runs past the text (%d words; end is inclusive)", i, e.Start, e.End, n)
		}
		checkLabel(add, fmt.Sprintf("ner[%d]", i), e.Label)
	}
	for i, r := range ex.Relations {
		if r.Head < 0 || r.Head >= len(ex.Entities) {
			add("relations[%d]: head %d is not an entity index (%d entities)", i, r.Head, len(ex.Entities))
		}
		if r.Tail < 0 || r.Tail >= len(ex.Entities) {
			add("relations[%d]: tail %d is not an entity index (%d entities)", i, r.Tail, len(ex.Entities))
		}
		checkLabel(add, fmt.Sprintf("relations[%d]", i), r.Label)
	}
	for _, l := range []struct {
		name string
		list []string
	}{{"ner_negatives", ex.NegativeTypes}, {"ner_labels", ex.LabelSet}, {"rel_negatives", ex.RelNegatives}, {"rel_labels", ex.RelLabels}} {
		for i, s := range l.list {
			checkLabel(add, fmt.Sprintf("%s[%d]", l.name, i), s)
		}
	}
	if ex.Text != "" || ex.CharStarts != nil || ex.CharEnds != nil {
		if len(ex.CharStarts) != n || len(ex.CharEnds) != n {
			add("character maps cover %d/%d words, want %d", len(ex.CharStarts), len(ex.CharEnds), n)
		}
	}
	return bad
}

func checkLabel(add func(string, ...any), where, label string) {
	switch {
	case strings.TrimSpace(label) == "":
		add("%s: empty label", where)
	case !utf8.ValidString(label):
		add("%s: label is not valid UTF-8", where)
	}
}

// validated returns ex, or a *Problem at source listing Validate's reasons.
func validated(ex Example, source string) (Example, error) {
	ex.Source = source
	if bad := Validate(ex); len(bad) > 0 {
		return Example{}, &Problem{Source: source, Reason: strings.Join(bad, "; ")}
	}
	return ex, nil
}
