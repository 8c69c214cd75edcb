// Package data turns researchers' datasets into exactly the tensors the
// reference GLiNER implementation builds: tokenizers (data/tokenizer),
// dataset readers and writers, validation, windowing of long texts, the
// collator and length-bucketed batching. It knows nothing of graphs.
package data

// Entity is a gold or predicted entity over words: Start and End are
// inclusive word indices into Example.Words, as in the reference's
// "ner": [[start, end, label], ...].
type Entity struct {
	Start int    `json:"start"`
	End   int    `json:"end"`
	Label string `json:"label"`
}

// Relation links two entities of the same example: Head and Tail index the
// example's Entities (the reference's "relations": [[head, tail, type]]).
type Relation struct {
	Head  int    `json:"head"`
	Tail  int    `json:"tail"`
	Label string `json:"label"`
}

// Example is one training or evaluation record in the reference's GLiNER
// JSON schema ({"tokenized_text": [...], "ner": [...], "relations": [...]}).
type Example struct {
	// Words is "tokenized_text": the text already split into words.
	Words []string
	// Entities is "ner".
	Entities []Entity
	// Relations is "relations" (relation-extraction models only).
	Relations []Relation
	// NegativeTypes is the optional "ner_negatives": fixed negative types.
	NegativeTypes []string
	// LabelSet is the optional "ner_labels": a fixed label set for the example.
	LabelSet []string
	// RelNegatives and RelLabels are "rel_negatives" / "rel_labels".
	RelNegatives []string
	RelLabels    []string

	// Text and CharStarts/CharEnds are set when the example came from raw
	// text: word w covers Text's code points [CharStarts[w], CharEnds[w]).
	Text       string
	CharStarts []int
	CharEnds   []int

	// Source names where the example came from ("train.jsonl:12"), for
	// error messages.
	Source string

	// Warnings are what the reader noticed but accepted, such as a key it
	// does not know (a misspelled "entites"). Each moves them into its
	// Report (see Report.Warnings), so examples it passes on carry none.
	Warnings []string
}
