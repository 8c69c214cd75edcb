package data

import (
	"fmt"
	"io"
	"sort"
)

// Stats summarizes a dataset: counts of examples, words, entities and
// relations per label, and the longest text in words and (when sub-token
// counts are added) in sub-tokens.
type Stats struct {
	Examples, Words, Entities, Relations int
	// EntityLabels and RelationLabels count entities / relations per label.
	EntityLabels, RelationLabels map[string]int
	// LongestWords is the largest number of words in one example, first
	// seen at LongestWordsSource.
	LongestWords       int
	LongestWordsSource string
	// LongestSubTokens is the largest number of text sub-tokens (special
	// tokens and the label prompt not counted) of one example, when
	// AddSubTokens was called; first seen at LongestSubTokensSource.
	LongestSubTokens       int
	LongestSubTokensSource string
	// SubTokens is the total of the counts passed to AddSubTokens.
	SubTokens int
}

// Add counts one example.
func (s *Stats) Add(ex Example) {
	if s.EntityLabels == nil {
		s.EntityLabels, s.RelationLabels = map[string]int{}, map[string]int{}
	}
	s.Examples++
	s.Words += len(ex.Words)
	s.Entities += len(ex.Entities)
	s.Relations += len(ex.Relations)
	for _, e := range ex.Entities {
		s.EntityLabels[e.Label]++
	}
	for _, r := range ex.Relations {
		s.RelationLabels[r.Label]++
	}
	if len(ex.Words) > s.LongestWords {
		s.LongestWords, s.LongestWordsSource = len(ex.Words), ex.Source
	}
}

// AddSubTokens records that ex tokenizes to n text sub-tokens.
func (s *Stats) AddSubTokens(ex Example, n int) {
	s.SubTokens += n
	if n > s.LongestSubTokens {
		s.LongestSubTokens, s.LongestSubTokensSource = n, ex.Source
	}
}

// WriteTo prints the statistics as aligned text, labels sorted by count
// (then name).
func (s *Stats) WriteTo(w io.Writer) (int64, error) {
	var n int64
	p := func(format string, args ...any) {
		k, _ := fmt.Fprintf(w, format, args...)
		n += int64(k)
	}
	p("examples           %d\n", s.Examples)
	p("words              %d\n", s.Words)
	if s.Examples > 0 {
		p("words per example  %.1f\n", float64(s.Words)/float64(s.Examples))
	}
	p("longest (words)    %d  (%s)\n", s.LongestWords, s.LongestWordsSource)
	if s.LongestSubTokens > 0 {
		p("sub-tokens         %d\n", s.SubTokens)
		p("longest (sub-tokens, text only) %d  (%s)\n", s.LongestSubTokens, s.LongestSubTokensSource)
	}
	p("entities           %d\n", s.Entities)
	for _, l := range sortedCounts(s.EntityLabels) {
		p("  %-24s %d\n", l, s.EntityLabels[l])
	}
	if s.Relations > 0 {
		p("relations          %d\n", s.Relations)
		for _, l := range sortedCounts(s.RelationLabels) {
			p("  %-24s %d\n", l, s.RelationLabels[l])
		}
	}
	return n, nil
}

func sortedCounts(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}
