package data

import (
	"reflect"
	"strings"
	"testing"
)

func TestCoNLLChunkRules(t *testing.T) {
	// Each case: tags for words w0..wn and the entities conlleval finds.
	cases := []struct {
		name string
		tags []string
		want []Entity
	}{
		{"bio", []string{"B-PER", "I-PER", "O", "B-LOC"}, []Entity{{0, 1, "PER"}, {3, 3, "LOC"}}},
		{"adjacent B of same type", []string{"B-PER", "B-PER", "I-PER"}, []Entity{{0, 0, "PER"}, {1, 2, "PER"}}},
		{"iob1 I at start", []string{"I-ORG", "I-ORG", "O"}, []Entity{{0, 1, "ORG"}}},
		{"I after O starts", []string{"O", "I-LOC", "I-LOC"}, []Entity{{1, 2, "LOC"}}},
		{"I after other type starts", []string{"B-PER", "I-LOC", "I-LOC", "I-PER"}, []Entity{{0, 0, "PER"}, {1, 2, "LOC"}, {3, 3, "PER"}}},
		{"multi-word label", []string{"B-person_name", "I-person_name"}, []Entity{{0, 1, "person_name"}}},
		{"label with dash", []string{"B-B-X", "I-B-X"}, []Entity{{0, 1, "B-X"}}},
		{"all O", []string{"O", "O"}, nil},
	}
	for _, c := range cases {
		var b strings.Builder
		for i, tag := range c.tags {
			b.WriteString("w" + string(rune('a'+i)) + " NNP B-NP " + tag + "\n")
		}
		got, err := ReadAll(NewCoNLLReader(strings.NewReader(b.String()), "t.conll"), FailFast, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(got) != 1 || !reflect.DeepEqual(got[0].Entities, c.want) {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestCoNLLDocumentStructure(t *testing.T) {
	in := "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n\n\n" +
		"Peter\tB-PER\nBlackburn\tI-PER\n\n-DOCSTART- -X- O O\n\nBRUSSELS B-LOC\r\n"
	got, err := ReadAll(NewCoNLLReader(strings.NewReader(in), "c.conll"), FailFast, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Example{
		{Words: []string{"EU", "rejects", "German"}, Entities: []Entity{{0, 0, "ORG"}, {2, 2, "MISC"}}, Source: "c.conll:3"},
		{Words: []string{"Peter", "Blackburn"}, Entities: []Entity{{0, 1, "PER"}}, Source: "c.conll:8"},
		{Words: []string{"BRUSSELS"}, Entities: []Entity{{0, 0, "LOC"}}, Source: "c.conll:13"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestCoNLLWriter(t *testing.T) {
	var b strings.Builder
	w := NewCoNLLWriter(&b)
	ex := Example{Words: []string{"Ann", "Lee", "met", "Bo", "Li"}, Entities: []Entity{{0, 1, "PER"}, {3, 3, "PER"}, {4, 4, "PER"}}}
	if err := w.Write(ex); err != nil {
		t.Fatal(err)
	}
	w.Close()
	want := "Ann B-PER\nLee I-PER\nmet O\nBo B-PER\nLi B-PER\n\n"
	if b.String() != want {
		t.Errorf("got %q want %q", b.String(), want)
	}
	back, err := ReadAll(NewCoNLLReader(strings.NewReader(b.String()), "x"), FailFast, nil)
	if err != nil || !reflect.DeepEqual(back[0].Entities, ex.Entities) {
		t.Errorf("read back %+v %v", back, err)
	}
	for _, c := range []struct {
		ex   Example
		want string
	}{
		{Example{Words: []string{"a", "b"}, Entities: []Entity{{0, 1, "x"}, {1, 1, "y"}}, Source: "n.json[4]"}, "n.json[4]: ner[1] [1, 1, \"y\"] overlaps another entity"},
		{Example{Words: []string{"a b"}, Source: "s.jsonl:2"}, "s.jsonl:2: word 0 \"a b\" is empty or has whitespace"},
		{Example{Words: []string{"a"}, Entities: []Entity{{0, 0, "x"}}, Relations: []Relation{{0, 0, "r"}}, Source: "r:1"}, "r:1: CoNLL cannot hold relations"},
		{Example{Words: []string{"a"}, Entities: []Entity{{0, 0, "two words"}}, Source: "l:1"}, "cannot be a CoNLL tag"},
	} {
		err := NewCoNLLWriter(&strings.Builder{}).Write(c.ex)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}
