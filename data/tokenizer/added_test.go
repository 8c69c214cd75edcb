package tokenizer

import (
	"reflect"
	"testing"
)

func TestAddedVocabSplit(t *testing.T) {
	a := NewAddedVocab()
	for _, tok := range []AddedToken{
		{ID: 101, Content: "[CLS]", Special: true},
		{ID: 7, Content: "<<", Special: true},
		{ID: 8, Content: "<<ENT>>", Special: true},
		{ID: 9, Content: "[L]", Special: true, LStrip: true},
		{ID: 10, Content: "[R]", Special: true, RStrip: true},
		{ID: 11, Content: "sw", Special: true, SingleWord: true},
	} {
		if err := a.Insert(tok); err != nil {
			t.Fatal(err)
		}
	}
	seg := func(s string) Segment { return Segment{Text: s, ID: -1} }
	add := func(s string, id int) Segment { return Segment{Text: s, ID: id, IsAdded: true} }
	cases := []struct {
		in   string
		want []Segment
	}{
		{"", nil},
		{"plain", []Segment{seg("plain")}},
		{"a<<ENT>>b", []Segment{seg("a"), add("<<ENT>>", 8), seg("b")}},
		{"a<<EN b", []Segment{seg("a"), add("<<", 7), seg("EN b")}},
		{"[CLS][cls]", []Segment{add("[CLS]", 101), seg("[cls]")}},
		{"x  [L] y", []Segment{seg("x"), add("[L]", 9), seg(" y")}},
		{"x [R]  y", []Segment{seg("x "), add("[R]", 10), seg("y")}},
		{"a sw b", []Segment{seg("a "), add("sw", 11), seg(" b")}},
		{"swim sw", []Segment{seg("swim "), add("sw", 11)}},
		{"é<<ENT>>", []Segment{seg("é"), add("<<ENT>>", 8)}},
	}
	for _, c := range cases {
		if got := a.Split(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Split(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestAddedVocabAddTokens(t *testing.T) {
	a := NewAddedVocab()
	model := map[string]int{"[CLS]": 101, "[SEP]": 102}
	lookup := func(s string) (int, bool) { id, ok := model[s]; return id, ok }
	if err := a.Insert(AddedToken{ID: 101, Content: "[CLS]", Special: true}); err != nil {
		t.Fatal(err)
	}
	got := a.AddTokens(lookup, 30522, true, "[FLERT]", "<<ENT>>", "[SEP]", "<<SEP>>", "<<ENT>>")
	want := []int{30522, 30523, 102, 30524, 30523}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("AddTokens = %v, want %v", got, want)
	}
	if err := a.Insert(AddedToken{ID: 5, Content: "<<ENT>>"}); err == nil {
		t.Fatal("conflicting id accepted")
	}
}
