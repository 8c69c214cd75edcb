package selftrain

import (
	"testing"

	"github.com/gliner-go/gliner/data"
)

func TestMaskerSpanBatch(t *testing.T) {
	// Two rows, W=4 words, K=2, C=2 classes; row 0 is weak:0, row 1 gold.
	w, k, c := 4, 2, 2
	b := &data.Batch{Architecture: data.UniEncoderSpan, MaxWidth: k, NumWords: w, NumClasses: c,
		Labels:    data.NewTensor[float32](2, w*k, c),
		IDToClass: [][]string{{"person", "place"}, {"person", "place"}},
		Words:     [][]string{{"a", "b", "c", "d"}, {"a", "b", "c", "d"}},
		Sources:   []string{"example 0 (weak:0)", "example 1 (gold.jsonl:3)"}}
	cell := func(row, start, end, cl int) int { return (row*w*k+data.SpanIndex(start, end, k))*c + cl }
	b.Labels.Data[cell(0, 1, 2, 0)] = 1 // a confident person at words 1..2
	m := NewMasker([]WeakExample{
		{Example: data.Example{Source: "weak:0"}, Uncertain: []UncertainSpan{
			{Start: 0, End: 0, Label: "place"},  // masked
			{Start: 1, End: 2, Label: "person"}, // a positive: never masked
			{Start: 1, End: 2, Label: "place"},  // masked (other class of the same span)
			{Start: 0, End: 3, Label: "person"}, // wider than K: outside
			{Start: 3, End: 3, Label: "event"},  // not a class of the row: outside
		}},
		{Example: data.Example{Source: "gold.jsonl:3"}}, // no uncertain spans
	})
	st, err := m.Apply(b)
	if err != nil {
		t.Fatal(err)
	}
	if st.Cells != 2 || st.Outside != 2 {
		t.Fatalf("stats %+v, want 2 cells masked, 2 outside", st)
	}
	for i, v := range b.Labels.Data {
		want := float32(0)
		switch i {
		case cell(0, 0, 0, 1), cell(0, 1, 2, 1):
			want = -100
		case cell(0, 1, 2, 0):
			want = 1
		}
		if v != want {
			t.Fatalf("labels[%d] = %v, want %v", i, v, want)
		}
	}
	// A nil masker and a batch without labels.
	if st, err := (*Masker)(nil).Apply(b); err != nil || st.Cells != 0 {
		t.Fatal("nil masker changed something")
	}
	if _, err := m.Apply(&data.Batch{Sources: []string{"weak:0"}}); err == nil {
		t.Fatal("inference batch accepted")
	}
}

func TestMaskerTokenBatch(t *testing.T) {
	w, c := 3, 1
	b := &data.Batch{Architecture: data.UniEncoderToken, NumWords: w, NumClasses: c,
		Labels: data.NewTensor[float32](1, w, c, 3), IDToClass: [][]string{{"person"}},
		Words: [][]string{{"a", "b", "c"}}, Sources: []string{"example 0 (weak:5)"}}
	m := NewMasker([]WeakExample{{Example: data.Example{Source: "weak:5"}, Uncertain: []UncertainSpan{{Start: 0, End: 1, Label: "person"}}}})
	st, err := m.Apply(b)
	if err != nil || st.Cells != 4 {
		t.Fatalf("cells %d err %v, want 4 (start@0, end@1, inside@0,1)", st.Cells, err)
	}
	want := []float32{-100, 0, -100, 0, -100, -100, 0, 0, 0}
	for i, v := range b.Labels.Data {
		if v != want[i] {
			t.Fatalf("labels %v, want %v", b.Labels.Data, want)
		}
	}
}
