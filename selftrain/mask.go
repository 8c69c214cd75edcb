package selftrain

import (
	"fmt"
	"strings"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/losses"
)

// Masker sets the training labels of uncertain spans to
// losses.IgnoreIndex (-100) in collated batches, so the loss skips them
// instead of counting them as negatives. It is keyed by Example.Source
// (weak examples are "weak:<row>"), which the collator keeps in
// data.Batch.Sources as "example <i> (<source>)"; rows of other sources (gold data) are
// left alone.
type Masker struct {
	bySource map[string][]UncertainSpan
}

// NewMasker indexes the uncertain spans of weak examples by source.
func NewMasker(weak []WeakExample) *Masker {
	m := &Masker{bySource: make(map[string][]UncertainSpan, len(weak))}
	for _, w := range weak {
		if len(w.Uncertain) > 0 {
			m.bySource[w.Example.Source] = w.Uncertain
		}
	}
	return m
}

// exampleSource recovers Example.Source from a batch's source name: the
// collator writes "example <i> (<source>)".
func exampleSource(s string) string {
	if strings.HasSuffix(s, ")") {
		if i := strings.Index(s, " ("); i >= 0 {
			return s[i+2 : len(s)-1]
		}
	}
	return s
}

// MaskStats counts what Apply did.
type MaskStats struct {
	// Cells is the number of label cells set to -100.
	Cells int
	// Outside counts uncertain spans the batch cannot hold (past the
	// collated words, wider than max_width, or a label not among the
	// example's classes); they stay unmasked, as the collator leaves such
	// gold entities out.
	Outside int
}

// Apply masks the uncertain spans of b's rows in place. Span models
// (labels (B, W·K, C)) get the (span, class) cell masked; token models
// (labels (B, W, C, 3)) get the start cell at the first word, the end cell
// at the last word and the inside cells of every word of the span. A cell
// that is a positive (1) is never masked.
func (m *Masker) Apply(b *data.Batch) (MaskStats, error) {
	var st MaskStats
	if m == nil || len(m.bySource) == 0 {
		return st, nil
	}
	if b.Labels.Shape == nil {
		return st, fmt.Errorf("mask uncertain spans: batch has no labels (not a training batch)")
	}
	bs := len(b.Sources)
	w, c, k := b.NumWords, b.NumClasses, b.MaxWidth
	token := b.Architecture.TokenLevel()
	want := []int{bs, w * k, c}
	if token {
		want = []int{bs, w, c, 3}
	}
	if fmt.Sprint(b.Labels.Shape) != fmt.Sprint(want) {
		return st, fmt.Errorf("mask uncertain spans: labels have shape %v, want %v", b.Labels.Shape, want)
	}
	ign := float32(losses.IgnoreIndex)
	set := func(i int) {
		if b.Labels.Data[i] == 0 {
			b.Labels.Data[i] = ign
			st.Cells++
		}
	}
	for row, src := range b.Sources {
		spans := m.bySource[exampleSource(src)]
		if len(spans) == 0 {
			continue
		}
		class := make(map[string]int, len(b.IDToClass[row]))
		for j, l := range b.IDToClass[row] {
			class[l] = j
		}
		n := len(b.Words[row])
		for _, u := range spans {
			cl, ok := class[u.Label]
			if !ok || u.Start < 0 || u.End < u.Start || u.End >= n || (!token && u.End-u.Start >= k) {
				st.Outside++
				continue
			}
			if token {
				base := row * w * c * 3
				set(base + (u.Start*c+cl)*3)
				set(base + (u.End*c+cl)*3 + 1)
				for ww := u.Start; ww <= u.End; ww++ {
					set(base + (ww*c+cl)*3 + 2)
				}
				continue
			}
			set((row*w*k+data.SpanIndex(u.Start, u.End, k))*c + cl)
		}
	}
	return st, nil
}
