package data

import (
	"reflect"
	"strings"
	"testing"
)

func tenWords() Example {
	return Example{
		Words: strings.Fields("w0 w1 w2 w3 w4 w5 w6 w7 w8 w9"),
		Entities: []Entity{
			{2, 3, "a"}, // whole in window 0, cut by window 1
			{3, 4, "b"}, // cut by window 0, whole in window 1
			{5, 7, "c"}, // cut by windows 1 and 2: in no window
			{9, 9, "d"}, // window 2
			{7, 8, "e"}, // window 2
		},
		Relations: []Relation{{0, 1, "ab"}, {3, 4, "de"}, {2, 3, "cd"}},
		LabelSet:  []string{"a", "b"},
		Source:    "f.jsonl:7",
	}
}

func TestWindowSplit(t *testing.T) {
	got, st, err := Window(tenWords(), 4, 3, WindowSplit)
	if err != nil {
		t.Fatal(err)
	}
	want := []Example{
		{Words: strings.Fields("w0 w1 w2 w3"), Entities: []Entity{{2, 3, "a"}}, LabelSet: []string{"a", "b"},
			Source: "f.jsonl:7 window 0 (words 0-3)"},
		{Words: strings.Fields("w3 w4 w5 w6"), Entities: []Entity{{0, 1, "b"}}, LabelSet: []string{"a", "b"},
			Source: "f.jsonl:7 window 1 (words 3-6)"},
		{Words: strings.Fields("w6 w7 w8 w9"), Entities: []Entity{{3, 3, "d"}, {1, 2, "e"}}, Relations: []Relation{{0, 1, "de"}},
			LabelSet: []string{"a", "b"}, Source: "f.jsonl:7 window 2 (words 6-9)"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	// cuts: b@w0, a@w1, c@w1, c@w2; lost: c; relations lost: ab (never together), cd.
	wantSt := WindowStats{Long: 1, Windows: 3, CutEntities: 4, LostEntities: 1, LostRelations: 2}
	if st != wantSt {
		t.Errorf("stats %+v want %+v", st, wantSt)
	}
	if s := WindowStarts(10, 4, 3); !reflect.DeepEqual(s, []int{0, 3, 6}) {
		t.Errorf("starts %v", s)
	}
	if s := WindowStarts(11, 4, 4); !reflect.DeepEqual(s, []int{0, 4, 8}) {
		t.Errorf("starts %v", s)
	}
}

func TestWindowKeepsCharMaps(t *testing.T) {
	ex := ExampleFromText("Ann met Bob in Oslo today")
	got, _, err := Window(ex, 3, 2, WindowSplit)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1].Text != ex.Text || !reflect.DeepEqual(got[1].CharStarts, []int{8, 12, 15}) ||
		!reflect.DeepEqual(got[2].CharEnds, []int{19, 25}) {
		t.Errorf("got %+v", got)
	}
}

func TestWindowShortUnchanged(t *testing.T) {
	ex := tenWords()
	got, st, err := Window(ex, 10, 5, WindowReject)
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], ex) || st != (WindowStats{}) {
		t.Errorf("got %v %+v %v", got, st, err)
	}
}

func TestWindowRejectAndTruncate(t *testing.T) {
	_, _, err := Window(tenWords(), 8, 4, WindowReject)
	if err == nil || err.Error() != "f.jsonl:7: text has 10 words, more than the maximum 8" {
		t.Errorf("reject: %v", err)
	}
	got, st, err := Window(tenWords(), 8, 0, WindowTruncate)
	if err != nil {
		t.Fatal(err)
	}
	// e (7..8) is cut at word 8; d (9) is past the end.
	wantEnts := []Entity{{2, 3, "a"}, {3, 4, "b"}, {5, 7, "c"}}
	if len(got) != 1 || !reflect.DeepEqual(got[0].Entities, wantEnts) || !reflect.DeepEqual(got[0].Relations, []Relation{{0, 1, "ab"}}) {
		t.Errorf("truncate: %+v", got)
	}
	wantSt := WindowStats{Long: 1, Windows: 1, CutEntities: 1, LostEntities: 2, LostRelations: 2, TruncatedWords: 2}
	if st != wantSt {
		t.Errorf("truncate stats %+v want %+v", st, wantSt)
	}
	for _, c := range []struct{ max, stride int }{{0, 1}, {4, 0}, {4, 5}} {
		if _, _, err := Window(tenWords(), c.max, c.stride, WindowSplit); err == nil {
			t.Errorf("max %d stride %d: no error", c.max, c.stride)
		}
	}
}
