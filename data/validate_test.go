package data

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMalformedInputs: every bad example is reported with its place
// (file:line, [index]) and the reason, the good examples around it are
// still read, and nothing is dropped without a count.
func TestMalformedInputs(t *testing.T) {
	const good = `{"tokenized_text": ["ok"], "ner": []}`
	jsonl := func(bad string) string { return good + "\n" + bad + "\n" + good + "\n" }
	cases := []struct {
		name, file, content string
		format              Format
		wantSource          string
		wantReason          string
		wantGood            int
	}{
		{"end before start", "bad.jsonl", jsonl(`{"tokenized_text": ["a", "b"], "ner": [[1, 0, "x"]]}`), 0, "bad.jsonl:2", "ner[0]: end 0 < start 1", 2},
		{"span past text", "bad.jsonl", jsonl(`{"tokenized_text": ["a", "b"], "ner": [[0, 5, "x"]]}`), 0, "bad.jsonl:2", "ner[0]: span [0, 5] runs past the text (2 words", 2},
		{"end equals length", "bad.jsonl", jsonl(`{"tokenized_text": ["a", "b"], "ner": [[1, 2, "x"]]}`), 0, "bad.jsonl:2", "runs past the text", 2},
		{"negative index", "bad.jsonl", jsonl(`{"tokenized_text": ["a"], "ner": [[-1, 0, "x"]]}`), 0, "bad.jsonl:2", "ner[0]: negative word index [-1, 0]", 2},
		{"relation tail unknown", "bad.jsonl", jsonl(`{"tokenized_text": ["a"], "ner": [[0, 0, "x"]], "relations": [[0, 3, "r"]]}`), 0, "bad.jsonl:2", "relations[0]: tail 3 is not an entity index (1 entities)", 2},
		{"relation head negative", "bad.jsonl", jsonl(`{"tokenized_text": ["a"], "ner": [[0, 0, "x"]], "relations": [[-1, 0, "r"]]}`), 0, "bad.jsonl:2", "relations[0]: head -1 is not an entity index", 2},
		{"relation empty label", "bad.jsonl", jsonl(`{"tokenized_text": ["a"], "ner": [[0, 0, "x"]], "relations": [[0, 0, " "]]}`), 0, "bad.jsonl:2", "relations[0]: empty label", 2},
		{"empty text", "bad.jsonl", jsonl(`{"tokenized_text": [], "ner": []}`), 0, "bad.jsonl:2", "empty text (no words)", 2},
		{"empty word", "bad.jsonl", jsonl(`{"tokenized_text": ["a", ""]}`), 0, "bad.jsonl:2", "tokenized_text[1] is an empty string", 2},
		{"label not a string", "bad.jsonl", jsonl(`{"tokenized_text": ["a"], "ner": [[0, 0, 5]]}`), 0, "bad.jsonl:2", "ner[0][2] is a number, want a string", 2},
		{"empty label", "bad.jsonl", jsonl(`{"tokenized_text": ["a"], "ner": [[0, 0, ""]]}`), 0, "bad.jsonl:2", "ner[0]: empty label", 2},
		{"invalid utf-8", "bad.jsonl", jsonl("{\"tokenized_text\": [\"a\xff\"]}"), 0, "bad.jsonl:2", "invalid UTF-8 at byte 22", 2},
		{"text is a string", "bad.jsonl", jsonl(`{"tokenized_text": "a b"}`), 0, "bad.jsonl:2", "tokenized_text is a string, want a list", 2},
		{"word is a number", "bad.jsonl", jsonl(`{"tokenized_text": [1, 2]}`), 0, "bad.jsonl:2", "tokenized_text[0] is a number, want a string", 2},
		{"index is a string", "bad.jsonl", jsonl(`{"tokenized_text": ["a", "b"], "ner": [[0, "1", "x"]]}`), 0, "bad.jsonl:2", "ner[0][1] is a string, want an integer", 2},
		{"entity with two items", "bad.jsonl", jsonl(`{"tokenized_text": ["a"], "ner": [[0, 0]]}`), 0, "bad.jsonl:2", "ner[0] has 2 items, want 3", 2},
		{"fractional index", "bad.jsonl", jsonl(`{"tokenized_text": ["a"], "ner": [[0.5, 0, "x"]]}`), 0, "bad.jsonl:2", "ner[0][0] is 0.5, want an integer", 2},
		{"record is a list", "bad.jsonl", jsonl(`[1, 2]`), 0, "bad.jsonl:2", "record is a list, want an object", 2},
		{"missing tokenized_text", "bad.jsonl", jsonl(`{"ner": []}`), 0, "bad.jsonl:2", `missing "tokenized_text"`, 2},
		{"ner is an object", "bad.jsonl", jsonl(`{"tokenized_text": ["a"], "ner": {"x": 1}}`), 0, "bad.jsonl:2", "ner is an object, want a list", 2},
		{"empty string in ner_labels", "bad.jsonl", jsonl(`{"tokenized_text": ["a"], "ner_labels": ["person", ""]}`), 0, "bad.jsonl:2", "ner_labels[1]: empty label", 2},
		{"broken JSON line", "bad.jsonl", jsonl(`{"tokenized_text": [`), 0, "bad.jsonl:2", "record: unexpected end of JSON input", 2},
		{"char entity off word boundary", "bad.jsonl", jsonl(`{"text": "Bill Gates", "entities": [{"start": 1, "end": 10, "label": "person"}]}`), 0, "bad.jsonl:2", `entities[0] "person": characters [1, 10) do not fall on word boundaries`, 2},
		{"char entity reversed", "bad.jsonl", jsonl(`{"text": "Bill Gates", "entities": [{"start": 4, "end": 4, "label": "person"}]}`), 0, "bad.jsonl:2", "entities[0]: bad character span [4, 4)", 2},
		{"char entity start missing", "bad.jsonl", jsonl(`{"text": "Bill", "entities": [{"end": 4, "label": "p"}]}`), 0, "bad.jsonl:2", "entities[0].start is nothing, want an integer", 2},
		{"json array element", "bad.json", `[` + good + `, {"tokenized_text": ["a"], "ner": [[0, 1, "x"]]}, ` + good + `]`, 0, "bad.json[1]", "ner[0]: span [0, 1] runs past the text", 2},
		{"json array wrong type", "bad.json", `[` + good + `, {"tokenized_text": ["a"], "ner": [[0, 0, null]]}]`, 0, "bad.json[1]", "ner[0][2] is null, want a string", 1},
		{"conll malformed tag", "bad.conll", "Ann B-PER\n\nBill B-PER\nGates X-PER\n\nOslo B-LOC\n", 0, "bad.conll:4", `malformed tag "X-PER" (want O, B-label or I-label)`, 2},
		{"conll empty label", "bad.conll", "Ann B-\n\nOslo B-LOC\n", 0, "bad.conll:1", `malformed tag "B-": empty label`, 1},
		{"conll one column", "bad.conll", "Ann B-PER\n\nBill\nGates O\n\nOslo B-LOC\n", 0, "bad.conll:3", "line has 1 column", 2},
		{"conll invalid utf-8", "bad.conll", "Ann B-PER\n\nB\xffill O\n\nOslo B-LOC\n", 0, "bad.conll:3", "invalid UTF-8", 2},
		{"text invalid utf-8", "bad.txt", "one doc\nbad \xfe doc\nthird doc\n", 0, "bad.txt:2", "invalid UTF-8", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), c.file)
			if err := os.WriteFile(path, []byte(c.content), 0o644); err != nil {
				t.Fatal(err)
			}
			// Skip: everything read, the bad example reported and counted.
			rep := &Report{}
			got, err := ReadFile(path, ReadOptions{Format: c.format}, Skip, rep)
			if err != nil {
				t.Fatalf("skip policy: %v", err)
			}
			if len(got) != c.wantGood || rep.Skipped != 1 || rep.Read != c.wantGood+1 || len(rep.Problems) != 1 {
				t.Fatalf("got %d good, report %+v; want %d good and one problem", len(got), rep, c.wantGood)
			}
			p := rep.Problems[0]
			if p.Source != c.wantSource || !strings.Contains(p.Reason, c.wantReason) {
				t.Errorf("problem = %q\nwant source %q and reason containing %q", p.Error(), c.wantSource, c.wantReason)
			}
			// FailFast: the same problem ends the read.
			_, err = ReadFile(path, ReadOptions{Format: c.format}, FailFast, nil)
			var pe *Problem
			if !errors.As(err, &pe) || pe.Source != c.wantSource {
				t.Errorf("fail policy: got %v, want a *Problem at %s", err, c.wantSource)
			}
		})
	}
}

func TestFatalFileErrors(t *testing.T) {
	cases := []struct{ file, content, want string }{
		{"obj.json", `{"tokenized_text": ["a"]}`, "obj.json: top-level value starts with {, want a JSON list"},
		{"empty.json", ``, "empty.json: empty file"},
		{"trunc.json", `[{"tokenized_text": ["a"]}, {"tokenized_text": [`, "trunc.json[1]: unexpected EOF"},
		{"trail.json", `[{"tokenized_text": ["a"]}] []`, "trail.json: unexpected data after the closing ]"},
	}
	for _, c := range cases {
		path := filepath.Join(t.TempDir(), c.file)
		os.WriteFile(path, []byte(c.content), 0o644)
		_, err := ReadFile(path, ReadOptions{}, Skip, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.file, err, c.want)
		}
	}
	if _, err := OpenReader(filepath.Join(t.TempDir(), "missing.jsonl"), ReadOptions{}); err == nil || !strings.Contains(err.Error(), "missing.jsonl") {
		t.Errorf("missing file: %v", err)
	}
}

func TestValidateListsEveryReason(t *testing.T) {
	bad := Validate(Example{
		Words:     []string{"a", ""},
		Entities:  []Entity{{1, 0, "x"}, {0, 0, ""}},
		Relations: []Relation{{0, 2, "r"}},
	})
	want := []string{
		"tokenized_text[1] is an empty string",
		"ner[0]: end 0 < start 1",
		"ner[1]: empty label",
		"relations[0]: tail 2 is not an entity index (2 entities)",
	}
	if strings.Join(bad, "|") != strings.Join(want, "|") {
		t.Errorf("got %q\nwant %q", bad, want)
	}
	if v := Validate(roundTripExamples()[0]); v != nil {
		t.Errorf("valid example reported %v", v)
	}
}

func TestReportString(t *testing.T) {
	r := Report{Read: 10, Skipped: 2}
	if got := r.String(); got != "10 examples read, 8 kept, 2 skipped" {
		t.Errorf("got %q", got)
	}
}
