package data

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// TextEntity is an entity over characters of a raw text: code points
// [Start, End) (End exclusive), as in {"text": ..., "entities": [{"start",
// "end", "label"}]} records.
type TextEntity struct {
	Start int    `json:"start"`
	End   int    `json:"end"`
	Label string `json:"label"`
}

// TextRecord is one raw-text record with character-offset entities.
type TextRecord struct {
	Text     string       `json:"text"`
	Entities []TextEntity `json:"entities"`
}

// FromTextRecord splits rec.Text into words (SplitWords) and maps its
// character-offset entities to inclusive word spans. An entity whose start
// is not the first character of a word, or whose end is not the end of a
// word, is an error naming it.
func FromTextRecord(rec TextRecord) (Example, error) {
	ex := ExampleFromText(rec.Text)
	startWord := make(map[int]int, len(ex.Words))
	endWord := make(map[int]int, len(ex.Words))
	for i := range ex.Words {
		startWord[ex.CharStarts[i]] = i
		endWord[ex.CharEnds[i]] = i
	}
	for i, e := range rec.Entities {
		if e.Start < 0 || e.End < 0 || e.End <= e.Start {
			return Example{}, fmt.Errorf("entities[%d]: bad character span [%d, %d) (want 0 <= start < end)", i, e.Start, e.End)
		}
		s, ok1 := startWord[e.Start]
		t, ok2 := endWord[e.End]
		if !ok1 || !ok2 || t < s {
			return Example{}, fmt.Errorf("entities[%d] %q: characters [%d, %d) do not fall on word boundaries of the split text",
				i, e.Label, e.Start, e.End)
		}
		ex.Entities = append(ex.Entities, Entity{Start: s, End: t, Label: e.Label})
	}
	return ex, nil
}

// JoinWords joins words with single spaces and returns the text with each
// word's start and end (exclusive) character (rune) offsets in it: the text
// of an example that came from pre-split words.
func JoinWords(words []string) (text string, starts, ends []int) {
	var b strings.Builder
	starts, ends = make([]int, len(words)), make([]int, len(words))
	pos := 0
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
			pos++
		}
		starts[i] = pos
		b.WriteString(w)
		pos += utf8.RuneCountInString(w)
		ends[i] = pos
	}
	return b.String(), starts, ends
}

// ToTextRecord returns ex as a raw-text record with character offsets. When
// ex has no Text (it came from pre-split words) the words are joined with
// single spaces.
func ToTextRecord(ex Example) (TextRecord, error) {
	text, starts, ends := ex.Text, ex.CharStarts, ex.CharEnds
	if text == "" || len(starts) != len(ex.Words) || len(ends) != len(ex.Words) {
		text, starts, ends = JoinWords(ex.Words)
	}
	rec := TextRecord{Text: text, Entities: make([]TextEntity, 0, len(ex.Entities))}
	for i, e := range ex.Entities {
		if e.Start < 0 || e.End < e.Start || e.End >= len(starts) {
			return TextRecord{}, fmt.Errorf("ner[%d]: span [%d, %d] outside the text", i, e.Start, e.End)
		}
		rec.Entities = append(rec.Entities, TextEntity{Start: starts[e.Start], End: ends[e.End], Label: e.Label})
	}
	return rec, nil
}

func decodeTextRecord(m map[string]json.RawMessage) (Example, error) {
	text, err := jsonString(m["text"], "text")
	if err != nil {
		return Example{}, err
	}
	rec := TextRecord{Text: text}
	if raw, ok := m["entities"]; ok && !isNull(raw) {
		items, err := jsonList(raw, "entities")
		if err != nil {
			return Example{}, err
		}
		for i, it := range items {
			where := fmt.Sprintf("entities[%d]", i)
			if jsonKind(it) != "an object" {
				return Example{}, fmt.Errorf("%s is %s, want an object {start, end, label}", where, jsonKind(it))
			}
			f, _, err := jsonObject(it, where)
			if err != nil {
				return Example{}, err
			}
			var e TextEntity
			if e.Start, err = jsonInt(f["start"], where+".start"); err != nil {
				return Example{}, err
			}
			if e.End, err = jsonInt(f["end"], where+".end"); err != nil {
				return Example{}, err
			}
			if e.Label, err = jsonString(f["label"], where+".label"); err != nil {
				return Example{}, err
			}
			rec.Entities = append(rec.Entities, e)
		}
	}
	return FromTextRecord(rec)
}

// TextReader reads raw text, one document per line, split by SplitWords.
// Lines holding only whitespace separate nothing and are ignored.
type TextReader struct {
	lineScanner
}

// NewTextReader reads documents from r; name is used in errors.
func NewTextReader(r io.Reader, name string) *TextReader {
	return &TextReader{newLineScanner(r, name)}
}

// Next implements Reader.
func (r *TextReader) Next() (Example, error) {
	for {
		line, ok := r.nextLine()
		if !ok {
			return Example{}, r.err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		src := r.source()
		if !utf8.Valid(line) {
			return Example{}, problemf(src, "invalid UTF-8")
		}
		return validated(ExampleFromText(string(line)), src)
	}
}

// Close implements Reader.
func (r *TextReader) Close() error { return nil }

// TextWriter writes one document per line: the example's Text, or its words
// joined by spaces. Annotations cannot be written as plain text, so an
// example with entities or relations is an error (use text-jsonl).
type TextWriter struct{ bw *bufio.Writer }

// NewTextWriter writes plain text to w. Close flushes but does not close w.
func NewTextWriter(w io.Writer) *TextWriter { return &TextWriter{bw: bufio.NewWriter(w)} }

// Write implements Writer.
func (w *TextWriter) Write(ex Example) error {
	if len(ex.Entities) > 0 || len(ex.Relations) > 0 {
		return fmt.Errorf("%s: plain text cannot hold its %d entities and %d relations (use format text-jsonl)",
			exampleName(ex), len(ex.Entities), len(ex.Relations))
	}
	text := ex.Text
	if text == "" {
		text = strings.Join(ex.Words, " ")
	}
	if strings.ContainsAny(text, "\n\r") {
		return fmt.Errorf("%s: text contains a line break; plain text holds one document per line", exampleName(ex))
	}
	w.bw.WriteString(text)
	return w.bw.WriteByte('\n')
}

// Close implements Writer.
func (w *TextWriter) Close() error { return w.bw.Flush() }

// TextJSONLWriter writes raw-text records {"text", "entities"} with
// character offsets, one per line (see ToTextRecord). Relations and the
// optional label lists have no place in this schema: an example with any is
// an error.
type TextJSONLWriter struct{ bw *bufio.Writer }

// NewTextJSONLWriter writes raw-text JSONL to w. Close flushes but does not
// close w.
func NewTextJSONLWriter(w io.Writer) *TextJSONLWriter {
	return &TextJSONLWriter{bw: bufio.NewWriter(w)}
}

// Write implements Writer.
func (w *TextJSONLWriter) Write(ex Example) error {
	if len(ex.Relations)+len(ex.NegativeTypes)+len(ex.LabelSet)+len(ex.RelNegatives)+len(ex.RelLabels) > 0 {
		return fmt.Errorf("%s: text-jsonl records cannot hold relations or label lists", exampleName(ex))
	}
	rec, err := ToTextRecord(ex)
	if err != nil {
		return fmt.Errorf("%s: %w", exampleName(ex), err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil {
		return err
	}
	_, err = w.bw.Write(buf.Bytes())
	return err
}

// Close implements Writer.
func (w *TextJSONLWriter) Close() error { return w.bw.Flush() }

func exampleName(ex Example) string {
	if ex.Source != "" {
		return ex.Source
	}
	if len(ex.Words) > 0 {
		n := min(len(ex.Words), 6)
		return fmt.Sprintf("example %q", strings.Join(ex.Words[:n], " "))
	}
	return "example"
}
