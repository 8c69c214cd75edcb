package decode

import (
	"slices"
	"testing"
)

// Hand-built (W=3, C=2) probabilities: class 0 starts at words 0 and 1 and
// ends at 1 and 2, with word 2 inside only barely below the threshold;
// class 1 starts and ends at word 2.
func TestTokenSpanRows(t *testing.T) {
	p := make([]float32, 3*2*3)
	set := func(w, c, ch int, v float32) { p[(w*2+c)*3+ch] = v }
	set(0, 0, 0, 0.9)
	set(1, 0, 0, 0.8)
	set(1, 0, 1, 0.7)
	set(2, 0, 1, 0.95)
	for w := 0; w < 2; w++ {
		set(w, 0, 2, 0.6)
	}
	set(2, 0, 2, 0.5) // not > 0.5: spans of class 0 ending at word 2 fail
	set(2, 1, 0, 0.6)
	set(2, 1, 1, 0.6)
	set(2, 1, 2, 0.6)
	rows, err := TokenSpanRows(p, 3, 2, 3, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]int{{0, 1}, {1, 1}, {2, 2}}
	if !slices.Equal(rows, want) {
		t.Errorf("rows %v, want %v", rows, want)
	}
	// Two words only: the class-1 span at word 2 is outside the text.
	rows, err = TokenSpanRows(p, 3, 2, 2, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][2]int{{0, 1}, {1, 1}}; !slices.Equal(rows, want) {
		t.Errorf("two words: rows %v, want %v", rows, want)
	}
	if _, err := TokenSpanRows(p[:5], 3, 2, 3, 0.5); err == nil {
		t.Error("short probs accepted")
	}
}
