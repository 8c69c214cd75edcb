package data

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// roundTripExamples covers every field of the schema, non-ASCII text,
// overlapping entities and an example without entities.
func roundTripExamples() []Example {
	return []Example{
		{
			Words:    []string{"Bill", "Gates", "founded", "Microsoft", "in", "Albuquerque", "."},
			Entities: []Entity{{0, 1, "person"}, {3, 3, "organization"}, {5, 5, "location"}},
			Relations: []Relation{
				{Head: 0, Tail: 1, Label: "founder of"}, {Head: 1, Tail: 2, Label: "located in"},
			},
			NegativeTypes: []string{"date"},
			LabelSet:      []string{"person", "organization", "location", "date"},
			RelNegatives:  []string{"employee of"},
			RelLabels:     []string{"founder of", "located in", "employee of"},
		},
		{
			Words:    []string{"Zoë", "visited", "東京", "with", "🚀", "\"quotes\"", "<b>&"},
			Entities: []Entity{{0, 0, "person"}, {2, 2, "location"}, {0, 2, "event"}},
		},
		{Words: []string{"Nothing", "here", "."}},
	}
}

func TestRoundTripTextFormats(t *testing.T) {
	dir := t.TempDir()
	want := roundTripExamples()
	for _, f := range []Format{FormatJSON, FormatJSONL} {
		path := filepath.Join(dir, "data."+f.String())
		if err := WriteFile(path, FormatAuto, want); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(path, ReadOptions{}, FailFast, nil)
		if err != nil {
			t.Fatal(err)
		}
		assertSameExamples(t, f.String(), got, want)
	}
}

// assertSameExamples compares examples ignoring Source (where they were read).
func assertSameExamples(t *testing.T, what string, got, want []Example) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d examples, want %d", what, len(got), len(want))
	}
	for i := range want {
		g := got[i]
		g.Source = ""
		if !reflect.DeepEqual(g, want[i]) {
			t.Errorf("%s: example %d:\n got %+v\nwant %+v", what, i, g, want[i])
		}
	}
}

func TestJSONWriterExactBytes(t *testing.T) {
	var b strings.Builder
	w := NewJSONWriter(&b)
	if err := w.Write(Example{Words: []string{"A", "<b>"}, Entities: []Entity{{0, 1, "x"}}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(Example{Words: []string{"B"}, Relations: nil}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "[\n{\"tokenized_text\":[\"A\",\"<b>\"],\"ner\":[[0,1,\"x\"]]},\n{\"tokenized_text\":[\"B\"],\"ner\":[]}\n]\n"
	if b.String() != want {
		t.Errorf("got %q\nwant %q", b.String(), want)
	}
	var empty strings.Builder
	ew := NewJSONWriter(&empty)
	ew.Close()
	if empty.String() != "[\n]\n" {
		t.Errorf("empty list: got %q", empty.String())
	}
	r := NewJSONReader(strings.NewReader(empty.String()), "e.json")
	if _, err := r.Next(); !errors.Is(err, errEOF()) {
		t.Errorf("empty list: got %v, want io.EOF", err)
	}
}

func TestJSONLAcceptsMixedRecordsAndNulls(t *testing.T) {
	in := `{"tokenized_text": ["Anna", "runs"], "ner": [[0, 0, "person"]], "relations": null, "id": 7}

{"text": "Anna met Bob in Oslo.", "entities": [{"start": 9, "end": 12, "label": "person"}, {"start": 16, "end": 20, "label": "location"}]}
{"tokenized_text": ["x"], "ner": [[0, 0.0, "y"]]}`
	got, err := ReadAll(NewJSONLReader(strings.NewReader(in), "m.jsonl"), FailFast, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Example{
		{Words: []string{"Anna", "runs"}, Entities: []Entity{{0, 0, "person"}}, Source: "m.jsonl:1"},
		{
			Words: []string{"Anna", "met", "Bob", "in", "Oslo", "."}, Entities: []Entity{{2, 2, "person"}, {4, 4, "location"}},
			Text: "Anna met Bob in Oslo.", CharStarts: []int{0, 5, 9, 13, 16, 20}, CharEnds: []int{4, 8, 12, 15, 20, 21},
			Source: "m.jsonl:3",
		},
		{Words: []string{"x"}, Entities: []Entity{{0, 0, "y"}}, Source: "m.jsonl:4"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestTextJSONLRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := []Example{{Words: []string{"Ann", "Lee", "saw", "New", "York"}, Entities: []Entity{{0, 1, "person"}, {3, 4, "location"}}}}
	path := filepath.Join(dir, "t.jsonl")
	if err := WriteFile(path, FormatTextJSONL, in); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	wantLine := `{"text":"Ann Lee saw New York","entities":[{"start":0,"end":7,"label":"person"},{"start":12,"end":20,"label":"location"}]}` + "\n"
	if string(raw) != wantLine {
		t.Fatalf("got %q want %q", raw, wantLine)
	}
	got, err := ReadFile(path, ReadOptions{Format: FormatTextJSONL}, FailFast, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got[0].Words, in[0].Words) || !reflect.DeepEqual(got[0].Entities, in[0].Entities) {
		t.Errorf("got %+v", got[0])
	}
	if got[0].Text != "Ann Lee saw New York" || !reflect.DeepEqual(got[0].CharStarts, []int{0, 4, 8, 12, 16}) {
		t.Errorf("text/char maps: %q %v", got[0].Text, got[0].CharStarts)
	}
}

func TestTextReaderAndWriter(t *testing.T) {
	in := "Hello, wörld!\n\n   \nSecond doc\r\n"
	got, err := ReadAll(NewTextReader(strings.NewReader(in), "c.txt"), FailFast, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Source != "c.txt:1" || got[1].Source != "c.txt:4" {
		t.Fatalf("got %+v", got)
	}
	if !reflect.DeepEqual(got[0].Words, []string{"Hello", ",", "wörld", "!"}) || !reflect.DeepEqual(got[0].CharEnds, []int{5, 6, 12, 13}) {
		t.Errorf("doc 1: %+v", got[0])
	}
	if got[1].Text != "Second doc" {
		t.Errorf("doc 2 text %q", got[1].Text)
	}
	var b strings.Builder
	w := NewTextWriter(&b)
	for _, ex := range got {
		if err := w.Write(ex); err != nil {
			t.Fatal(err)
		}
	}
	err = w.Write(Example{Words: []string{"a"}, Entities: []Entity{{0, 0, "x"}}, Source: "s.json[2]"})
	if err == nil || !strings.Contains(err.Error(), "s.json[2]") || !strings.Contains(err.Error(), "text-jsonl") {
		t.Errorf("entities to plain text: got %v", err)
	}
	w.Close()
	if b.String() != "Hello, wörld!\nSecond doc\n" {
		t.Errorf("written %q", b.String())
	}
}

func TestLowercaseLabelsOnRequestOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.conll")
	os.WriteFile(path, []byte("Ann B-PER\nin O\nOslo B-LOC\n"), 0o644)
	got, err := ReadFile(path, ReadOptions{}, FailFast, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Entities[0].Label != "PER" {
		t.Errorf("labels changed without request: %v", got[0].Entities)
	}
	got, err = ReadFile(path, ReadOptions{LowercaseLabels: true}, FailFast, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got[0].Entities, []Entity{{0, 0, "per"}, {2, 2, "loc"}}) {
		t.Errorf("lowercased: %v", got[0].Entities)
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"json": FormatJSON, "JSONL": FormatJSONL, "ipc": FormatArrow, "bio": FormatCoNLL,
		"text-jsonl": FormatTextJSONL, "": FormatAuto, "parquet": FormatParquet, "txt": FormatText} {
		got, err := ParseFormat(in)
		if err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	_, err := ParseFormat("xml")
	if err == nil || !strings.Contains(err.Error(), `"xml"`) || !strings.Contains(err.Error(), "jsonl") || !strings.Contains(err.Error(), "parquet") {
		t.Errorf("ParseFormat(xml) error %v should list valid formats", err)
	}
	for path, want := range map[string]Format{"a/b.JSON": FormatJSON, "x.jsonl": FormatJSONL, "x.parquet": FormatParquet,
		"x.arrow": FormatArrow, "x.ipc": FormatArrow, "x.conll": FormatCoNLL, "x.bio": FormatCoNLL, "corpus.txt": FormatText} {
		got, err := FormatFromPath(path)
		if err != nil || got != want {
			t.Errorf("FormatFromPath(%q) = %v, %v; want %v", path, got, err, want)
		}
	}
	if _, err := FormatFromPath("data.csv"); err == nil || !strings.Contains(err.Error(), "data.csv") {
		t.Errorf("FormatFromPath(data.csv) error %v", err)
	}
}

func TestParsePolicies(t *testing.T) {
	if p, err := ParseErrorPolicy("skip"); err != nil || p != Skip {
		t.Errorf("skip: %v %v", p, err)
	}
	if _, err := ParseErrorPolicy("ignore"); err == nil || !strings.Contains(err.Error(), "fail, skip") {
		t.Errorf("bad error policy: %v", err)
	}
	if p, err := ParseWindowPolicy("Truncate"); err != nil || p != WindowTruncate {
		t.Errorf("truncate: %v %v", p, err)
	}
	if _, err := ParseWindowPolicy("drop"); err == nil || !strings.Contains(err.Error(), "split, reject, truncate") {
		t.Errorf("bad window policy: %v", err)
	}
}

// A GLiNER .json list cut at a record boundary was read as complete: the
// decoder's io.EOF, wrapped, ended data.Each (issue 12 B1). It is an error
// naming the file and the offset.
func TestJSONListCutAtRecordBoundary(t *testing.T) {
	rec := `{"tokenized_text": ["a", "b"], "ner": [[0, 0, "x"]]}`
	for name, text := range map[string]string{
		"trailing comma": "[" + rec + ",",
		"no closing ]":   "[" + rec + ",\n" + rec + "\n",
		"cut in record":  "[" + rec + `, {"tokenized_text": ["a"`,
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "train.json")
			if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			exs, err := ReadFile(p, ReadOptions{}, Skip, nil)
			if err == nil {
				t.Fatalf("read %d examples and no error", len(exs))
			}
			if !strings.Contains(err.Error(), "train.json") || !strings.Contains(err.Error(), "at offset ") || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("error %q", err)
			}
		})
	}
	p := filepath.Join(t.TempDir(), "ok.json")
	os.WriteFile(p, []byte("["+rec+",\n"+rec+"]\n"), 0o644)
	if exs, err := ReadFile(p, ReadOptions{}, FailFast, nil); err != nil || len(exs) != 2 {
		t.Errorf("complete list: %d examples, %v", len(exs), err)
	}
}
