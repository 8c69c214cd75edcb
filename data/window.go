package data

import (
	"fmt"
	"strings"
)

// WindowPolicy says what Window does with a text longer than the window.
type WindowPolicy int

const (
	// WindowSplit cuts the text into overlapping windows.
	WindowSplit WindowPolicy = iota
	// WindowReject makes a long text an error naming the example.
	WindowReject
	// WindowTruncate keeps the first maxWords words (as the reference does,
	// processor.py UniEncoderSpanProcessor.preprocess_example), counting the
	// words, entities and relations cut off.
	WindowTruncate
)

var windowPolicyNames = []string{"split", "reject", "truncate"}

// ParseWindowPolicy parses "split", "reject" or "truncate"; the error lists
// the valid values.
func ParseWindowPolicy(s string) (WindowPolicy, error) {
	for i, n := range windowPolicyNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return WindowPolicy(i), nil
		}
	}
	return WindowSplit, fmt.Errorf("unknown long-text policy %q (valid: %s)", s, strings.Join(windowPolicyNames, ", "))
}

// String returns the policy's name.
func (p WindowPolicy) String() string {
	if int(p) >= 0 && int(p) < len(windowPolicyNames) {
		return windowPolicyNames[p]
	}
	return fmt.Sprintf("WindowPolicy(%d)", int(p))
}

// WindowStats counts what windowing did, so that nothing is lost unseen.
type WindowStats struct {
	// Long counts examples longer than the window; Windows the examples
	// produced from them (split) or kept (truncate).
	Long, Windows int
	// CutEntities counts (entity, window) pairs where a window holds part
	// of an entity but not all of it (the entity is left out of that
	// window; with split it stays in the windows that hold it whole).
	CutEntities int
	// LostEntities counts entities that end up in no window at all
	// (longer than the overlap and cut by every window, or, with truncate,
	// past the end); LostRelations the relations likewise.
	LostEntities, LostRelations int
	// TruncatedWords counts words cut off by WindowTruncate.
	TruncatedWords int
}

// Add accumulates o into s.
func (s *WindowStats) Add(o WindowStats) {
	s.Long += o.Long
	s.Windows += o.Windows
	s.CutEntities += o.CutEntities
	s.LostEntities += o.LostEntities
	s.LostRelations += o.LostRelations
	s.TruncatedWords += o.TruncatedWords
}

// String summarizes the counts.
func (s WindowStats) String() string {
	return fmt.Sprintf("%d long texts -> %d windows, %d entity cuts, %d entities and %d relations in no window, %d words truncated",
		s.Long, s.Windows, s.CutEntities, s.LostEntities, s.LostRelations, s.TruncatedWords)
}

// WindowStarts returns the first word of each window Window makes for a text
// of n words: 0, stride, 2·stride, … until a window reaches the text's end.
// A text of at most maxWords words has the one start 0.
func WindowStarts(n, maxWords, stride int) []int {
	starts := []int{0}
	for s := 0; s+maxWords < n; {
		s += stride
		starts = append(starts, s)
	}
	return starts
}

// Window makes ex fit in maxWords words. A text of at most maxWords words is
// returned unchanged. A longer one, by policy:
//   - WindowSplit: windows of maxWords words starting every stride words
//     (0 < stride ≤ maxWords; the overlap is maxWords−stride), see
//     WindowStarts. Each window holds the entities that lie in it whole,
//     shifted to its word indices, and the relations whose head and tail
//     are both among them (re-indexed). Text is kept whole and
//     CharStarts/CharEnds are sliced, so they still index the original Text.
//     Source gets " window k (words a-b)".
//   - WindowReject: an error naming the example.
//   - WindowTruncate: the first window only.
//
// The stats count long texts, windows, cut and lost entities and relations.
func Window(ex Example, maxWords, stride int, policy WindowPolicy) ([]Example, WindowStats, error) {
	var st WindowStats
	if maxWords <= 0 {
		return nil, st, fmt.Errorf("window: max words %d must be positive", maxWords)
	}
	n := len(ex.Words)
	if n <= maxWords {
		return []Example{ex}, st, nil
	}
	st.Long = 1
	var starts []int
	switch policy {
	case WindowReject:
		return nil, st, fmt.Errorf("%s: text has %d words, more than the maximum %d", exampleName(ex), n, maxWords)
	case WindowTruncate:
		starts = []int{0}
		st.TruncatedWords = n - maxWords
	case WindowSplit:
		if stride <= 0 || stride > maxWords {
			return nil, st, fmt.Errorf("window: stride %d must be in 1..%d (max words)", stride, maxWords)
		}
		starts = WindowStarts(n, maxWords, stride)
	default:
		return nil, st, fmt.Errorf("window: unknown policy %v", policy)
	}
	entKept := make([]bool, len(ex.Entities))
	relKept := make([]bool, len(ex.Relations))
	out := make([]Example, 0, len(starts))
	for k, s := range starts {
		e := min(s+maxWords, n) // exclusive
		w := Example{
			Words:         ex.Words[s:e:e],
			NegativeTypes: ex.NegativeTypes,
			LabelSet:      ex.LabelSet,
			RelNegatives:  ex.RelNegatives,
			RelLabels:     ex.RelLabels,
			Text:          ex.Text,
			Source:        fmt.Sprintf("%s window %d (words %d-%d)", exampleName(ex), k, s, e-1),
		}
		if len(ex.CharStarts) == n && len(ex.CharEnds) == n {
			w.CharStarts, w.CharEnds = ex.CharStarts[s:e:e], ex.CharEnds[s:e:e]
		}
		newIdx := make([]int, len(ex.Entities))
		for i, ent := range ex.Entities {
			newIdx[i] = -1
			switch {
			case ent.Start >= s && ent.End < e:
				newIdx[i] = len(w.Entities)
				entKept[i] = true
				w.Entities = append(w.Entities, Entity{Start: ent.Start - s, End: ent.End - s, Label: ent.Label})
			case ent.Start < e && ent.End >= s:
				st.CutEntities++
			}
		}
		for i, r := range ex.Relations {
			if r.Head >= 0 && r.Head < len(newIdx) && r.Tail >= 0 && r.Tail < len(newIdx) &&
				newIdx[r.Head] >= 0 && newIdx[r.Tail] >= 0 {
				relKept[i] = true
				w.Relations = append(w.Relations, Relation{Head: newIdx[r.Head], Tail: newIdx[r.Tail], Label: r.Label})
			}
		}
		out = append(out, w)
	}
	for _, kept := range entKept {
		if !kept {
			st.LostEntities++
		}
	}
	for _, kept := range relKept {
		if !kept {
			st.LostRelations++
		}
	}
	st.Windows = len(out)
	return out, st, nil
}
