package data_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gliner-go/gliner/data"
)

// Read a dataset, skipping bad examples but reporting each one.
func ExampleEach() {
	in := `{"tokenized_text": ["Bill", "Gates", "founded", "Microsoft"], "ner": [[0, 1, "person"], [3, 3, "organization"]]}
{"tokenized_text": ["Oslo"], "ner": [[0, 2, "location"]]}
`
	r := data.NewJSONLReader(strings.NewReader(in), "train.jsonl")
	rep := &data.Report{}
	err := data.Each(r, data.Skip, rep, func(ex data.Example) error {
		fmt.Println(ex.Source, ex.Words, ex.Entities)
		return nil
	})
	fmt.Println(err)
	fmt.Println(rep)
	for _, p := range rep.Problems {
		fmt.Println(p.Error())
	}
	// Output:
	// train.jsonl:1 [Bill Gates founded Microsoft] [{0 1 person} {3 3 organization}]
	// <nil>
	// 2 examples read, 1 kept, 1 skipped
	// train.jsonl:2: ner[0]: span [0, 2] runs past the text (1 words; end is inclusive)
}

// Convert between formats by extension (here JSONL to CoNLL).
func ExampleReadFile() {
	dir, _ := os.MkdirTemp("", "gliner-example")
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "train.jsonl")
	os.WriteFile(in, []byte(`{"tokenized_text": ["Ann", "Lee", "visited", "Oslo"], "ner": [[0, 1, "PER"], [3, 3, "LOC"]]}`+"\n"), 0o644)
	exs, err := data.ReadFile(in, data.ReadOptions{LowercaseLabels: true}, data.FailFast, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	out := filepath.Join(dir, "train.conll")
	if err := data.WriteFile(out, data.FormatAuto, exs); err != nil {
		fmt.Println(err)
		return
	}
	b, _ := os.ReadFile(out)
	fmt.Print(string(b))
	// Output:
	// Ann B-per
	// Lee I-per
	// visited O
	// Oslo B-loc
}

// Split raw text into words with code-point offsets, as the reference does.
func ExampleSplitWords() {
	for _, w := range data.SplitWords("Zoë visited 東京 — state-of-the-art!") {
		fmt.Printf("%q [%d,%d) ", w.Text, w.Start, w.End)
	}
	fmt.Println()
	// Output:
	// "Zoë" [0,3) "visited" [4,11) "東京" [12,14) "—" [15,16) "state-of-the-art" [17,33) "!" [33,34)
}

// Split a long text into overlapping windows instead of truncating it.
func ExampleWindow() {
	ex := data.Example{
		Words:    strings.Fields("a b c d e f g"),
		Entities: []data.Entity{{Start: 1, End: 2, Label: "x"}, {Start: 5, End: 6, Label: "y"}},
		Source:   "doc.jsonl:1",
	}
	wins, st, err := data.Window(ex, 4, 3, data.WindowSplit)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range wins {
		fmt.Println(w.Source, w.Words, w.Entities)
	}
	fmt.Println(st)
	// Output:
	// doc.jsonl:1 window 0 (words 0-3) [a b c d] [{1 2 x}]
	// doc.jsonl:1 window 1 (words 3-6) [d e f g] [{2 3 y}]
	// 1 long texts -> 2 windows, 0 entity cuts, 0 entities and 0 relations in no window, 0 words truncated
}
