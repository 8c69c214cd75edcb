package data

import (
	"reflect"
	"strings"
	"testing"
)

// issue 12 B4: a UTF-8 byte-order mark on line 1 gave "record is a number".
func TestByteOrderMarkAccepted(t *testing.T) {
	const bom = "\xef\xbb\xbf"
	for name, c := range map[string]struct {
		r    Reader
		want []string
	}{
		"jsonl": {NewJSONLReader(strings.NewReader(bom+`{"tokenized_text": ["Ann", "ran"], "ner": [[0, 0, "person"]]}`+"\n"), "a.jsonl"), []string{"Ann", "ran"}},
		"json":  {NewJSONReader(strings.NewReader(bom+`[{"tokenized_text": ["Ann", "ran"], "ner": [[0, 0, "person"]]}]`), "a.json"), []string{"Ann", "ran"}},
		"conll": {NewCoNLLReader(strings.NewReader(bom+"Ann B-person\nran O\n"), "a.conll"), []string{"Ann", "ran"}},
		"text":  {NewTextReader(strings.NewReader(bom+"Ann ran\n"), "a.txt"), []string{"Ann", "ran"}},
	} {
		exs, err := ReadAll(c.r, FailFast, nil)
		if err != nil || len(exs) != 1 || !reflect.DeepEqual(exs[0].Words, c.want) {
			t.Errorf("%s: %+v, %v", name, exs, err)
			continue
		}
		if name != "text" && (len(exs[0].Entities) != 1 || exs[0].Entities[0] != (Entity{Start: 0, End: 0, Label: "person"})) {
			t.Errorf("%s: entities %+v", name, exs[0].Entities)
		}
	}
	// Only at the start of the file: a BOM further on stays in the text.
	exs, err := ReadAll(NewTextReader(strings.NewReader("a\n"+bom+"b\n"), "a.txt"), FailFast, nil)
	if err != nil || len(exs) != 2 || exs[1].Text != bom+"b" {
		t.Errorf("BOM on line 2: %+v, %v", exs, err)
	}
}

// A key that appears twice is an error naming the key and the place
// (encoding/json kept the last one).
func TestDuplicateKeyIsAnError(t *testing.T) {
	rec := `{"tokenized_text": ["a", "b"], "ner": [], "tokenized_text": ["c"]}`
	_, err := ReadAll(NewJSONLReader(strings.NewReader(`{"tokenized_text": ["x"]}`+"\n"+rec+"\n"), "d.jsonl"), FailFast, nil)
	if err == nil || err.Error() != `d.jsonl:2: record: duplicate key "tokenized_text" (a JSON object may hold each key once)` {
		t.Errorf("jsonl: %v", err)
	}
	_, err = ReadAll(NewJSONReader(strings.NewReader("["+rec+"]"), "d.json"), FailFast, nil)
	if err == nil || err.Error() != `d.json[0]: record: duplicate key "tokenized_text" (a JSON object may hold each key once)` {
		t.Errorf("json: %v", err)
	}
	_, err = ReadAll(NewJSONLReader(strings.NewReader(`{"text": "Ann ran", "entities": [{"start": 0, "end": 3, "label": "p", "end": 4}]}`+"\n"), "t.jsonl"), FailFast, nil)
	if err == nil || err.Error() != `t.jsonl:1: entities[0]: duplicate key "end" (a JSON object may hold each key once)` {
		t.Errorf("raw-text entity: %v", err)
	}
	// Syntax errors keep encoding/json's message.
	_, err = ReadAll(NewJSONLReader(strings.NewReader(`{"tokenized_text": ["a"],}`+"\n"), "s.jsonl"), FailFast, nil)
	if err == nil || !strings.Contains(err.Error(), "s.jsonl:1: record: invalid character '}'") {
		t.Errorf("syntax: %v", err)
	}
}

// A misspelled key ("entites") gave examples without entities silently: the
// example is read (the reference ignores unknown keys) and the report
// warns, naming the key and the first line, with a count.
func TestUnknownKeyWarns(t *testing.T) {
	in := `{"tokenized_text": ["Ann", "ran"], "ner": [[0, 0, "person"]]}` + "\n" +
		`{"tokenized_text": ["Bo", "ran"], "entites": [[0, 0, "person"]]}` + "\n" +
		`{"tokenized_text": ["Cy", "ran"], "entites": [[0, 0, "person"]], "id": 7}` + "\n" +
		`{"text": "Di ran", "entities": [], "lang": "en"}` + "\n"
	rep := &Report{}
	exs, err := ReadAll(NewJSONLReader(strings.NewReader(in), "u.jsonl"), FailFast, rep)
	if err != nil || len(exs) != 4 {
		t.Fatalf("%d examples, %v", len(exs), err)
	}
	for _, ex := range exs {
		if ex.Warnings != nil {
			t.Errorf("%s still carries %v", ex.Source, ex.Warnings)
		}
	}
	known := "(known keys: tokenized_text, ner, relations, ner_negatives, ner_labels, rel_negatives, rel_labels)"
	want := []Warning{
		{Source: "u.jsonl:2", Reason: `unknown key "entites" ignored ` + known, Count: 2},
		{Source: "u.jsonl:3", Reason: `unknown key "id" ignored ` + known, Count: 1},
		{Source: "u.jsonl:4", Reason: `unknown key "lang" ignored (known keys: text, entities)`, Count: 1},
	}
	if !reflect.DeepEqual(rep.Warnings, want) {
		t.Errorf("warnings\n%+v\nwant\n%+v", rep.Warnings, want)
	}
	if got := rep.String(); got != "4 examples read, 4 kept, 0 skipped, 3 warnings" {
		t.Errorf("report %q", got)
	}
	if got := rep.Warnings[0].String(); got != `warning: u.jsonl:2: unknown key "entites" ignored `+known+" (2 examples, the first here)" {
		t.Errorf("warning line %q", got)
	}
}
