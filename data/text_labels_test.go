package data

import (
	"slices"
	"testing"
)

func TestJoinWordsGivesRuneOffsets(t *testing.T) {
	text, starts, ends := JoinWords([]string{"Zoë", "lives", "in", "Köln"})
	if text != "Zoë lives in Köln" {
		t.Errorf("text %q", text)
	}
	if !slices.Equal(starts, []int{0, 4, 10, 13}) || !slices.Equal(ends, []int{3, 9, 12, 17}) {
		t.Errorf("starts %v ends %v, want [0 4 10 13] [3 9 12 17]", starts, ends)
	}
	if text, starts, ends := JoinWords(nil); text != "" || len(starts) != 0 || len(ends) != 0 {
		t.Errorf("no words: %q %v %v", text, starts, ends)
	}
}

func TestEntityAndRelationLabelsAreSortedAndDistinct(t *testing.T) {
	exs := []Example{
		{Entities: []Entity{{Label: "person"}, {Label: "city"}, {Label: "person"}},
			Relations: []Relation{{Label: "lives in"}}},
		{},
		{Entities: []Entity{{Label: "city"}, {Label: "company"}},
			Relations: []Relation{{Label: "works for"}, {Label: "lives in"}}},
	}
	if got := EntityLabels(exs); !slices.Equal(got, []string{"city", "company", "person"}) {
		t.Errorf("EntityLabels = %q", got)
	}
	if got := RelationLabels(exs); !slices.Equal(got, []string{"lives in", "works for"}) {
		t.Errorf("RelationLabels = %q", got)
	}
	if got := EntityLabels(exs[1:2]); got != nil {
		t.Errorf("no entities: %q, want nil", got)
	}
}
