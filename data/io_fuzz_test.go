package data

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// drain reads r to its end, skipping problems; it must never panic nor loop.
func drain(t *testing.T, r Reader) {
	for i := 0; i < 1<<16; i++ {
		ex, err := r.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		var p *Problem
		if err != nil && !errors.As(err, &p) {
			if _, err2 := r.Next(); err2 == nil {
				t.Fatalf("reader went on after a fatal error %v", err)
			}
			return
		}
		if err == nil {
			if bad := Validate(ex); bad != nil {
				t.Fatalf("reader returned an invalid example %+v: %v", ex, bad)
			}
		}
	}
	t.Fatal("reader did not finish")
}

func FuzzJSONReader(f *testing.F) {
	f.Add(`[{"tokenized_text": ["a", "b"], "ner": [[0, 1, "x"]], "relations": [[0, 0, "r"]]}]`)
	f.Add(`[{"tokenized_text": ["a"]}, 1, [], null, {"ner": [[0, -1, ""]]}]`)
	f.Add(`{"a": 1}`)
	f.Add(`[{"text": "A b", "entities": [{"start": 0, "end": 1, "label": "x"}]}]`)
	f.Fuzz(func(t *testing.T, in string) {
		drain(t, NewJSONReader(strings.NewReader(in), "f.json"))
	})
}

func FuzzJSONLReader(f *testing.F) {
	f.Add("{\"tokenized_text\": [\"a\", \"b\"], \"ner\": [[0, 1, \"x\"]]}\n{\"tokenized_text\": 3}\n")
	f.Add("{\"text\": \"Zoë 🚀 x-y\", \"entities\": [{\"start\": 0, \"end\": 3, \"label\": \"p\"}]}\n")
	f.Add("[1e400, -0, 1.5]\n\n\xff\n")
	f.Fuzz(func(t *testing.T, in string) {
		drain(t, NewJSONLReader(strings.NewReader(in), "f.jsonl"))
	})
}

func FuzzCoNLLReader(f *testing.F) {
	f.Add("-DOCSTART- -X- O O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter B-PER\nX I-LOC\n")
	f.Add("a\n\nb B-\nc X-Y\n\xff O\n")
	f.Fuzz(func(t *testing.T, in string) {
		drain(t, NewCoNLLReader(strings.NewReader(in), "f.conll"))
	})
}

func FuzzTextReader(f *testing.F) {
	f.Add("Hello wörld\n\n東京 🚀\n")
	f.Fuzz(func(t *testing.T, in string) {
		drain(t, NewTextReader(strings.NewReader(in), "f.txt"))
	})
}
