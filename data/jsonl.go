package data

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// jsonKind names the JSON type of raw for error messages.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '[':
		return "a list"
	case '{':
		return "an object"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

func jsonList(raw json.RawMessage, where string) ([]json.RawMessage, error) {
	if jsonKind(raw) != "a list" {
		return nil, fmt.Errorf("%s is %s, want a list", where, jsonKind(raw))
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("%s: %v", where, err)
	}
	return items, nil
}

func jsonString(raw json.RawMessage, where string) (string, error) {
	if jsonKind(raw) != "a string" {
		return "", fmt.Errorf("%s is %s, want a string", where, jsonKind(raw))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s: %v", where, err)
	}
	return s, nil
}

func jsonInt(raw json.RawMessage, where string) (int, error) {
	if jsonKind(raw) != "a number" {
		return 0, fmt.Errorf("%s is %s, want an integer", where, jsonKind(raw))
	}
	s := string(bytes.TrimSpace(raw))
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int64(f)) || f > 1<<53 || f < -(1<<53) {
			return 0, fmt.Errorf("%s is %s, want an integer", where, s)
		}
		v = int64(f)
	}
	if v > 1<<40 || v < -(1<<40) {
		return 0, fmt.Errorf("%s = %d is out of range", where, v)
	}
	return int(v), nil
}

func jsonStrings(raw json.RawMessage, where string) ([]string, error) {
	items, err := jsonList(raw, where)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, nil
	}
	out := make([]string, len(items))
	for i, it := range items {
		if out[i], err = jsonString(it, fmt.Sprintf("%s[%d]", where, i)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// jsonTriple decodes [int, int, string] (an entity or a relation).
func jsonTriple(raw json.RawMessage, where string) (a, b int, label string, err error) {
	items, err := jsonList(raw, where)
	if err != nil {
		return 0, 0, "", err
	}
	if len(items) != 3 {
		return 0, 0, "", fmt.Errorf("%s has %d items, want 3 ([start, end, label])", where, len(items))
	}
	if a, err = jsonInt(items[0], where+"[0]"); err != nil {
		return
	}
	if b, err = jsonInt(items[1], where+"[1]"); err != nil {
		return
	}
	label, err = jsonString(items[2], where+"[2]")
	return
}

// recordKeys are the top-level keys of a GLiNER record (the reference's
// data_processing/processor.py reads these), textRecordKeys those of a
// raw-text record.
var (
	recordKeys     = []string{"tokenized_text", "ner", "relations", "ner_negatives", "ner_labels", "rel_negatives", "rel_labels"}
	textRecordKeys = []string{"text", "entities"}
)

// jsonObject decodes a JSON object into its members, refusing a key that
// appears twice (encoding/json would keep the last one silently). keys
// lists the keys in order.
func jsonObject(raw json.RawMessage, where string) (m map[string]json.RawMessage, keys []string, err error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	fail := func(err error) (map[string]json.RawMessage, []string, error) {
		// encoding/json's message for a syntax error says more.
		var x map[string]json.RawMessage
		if uerr := json.Unmarshal(raw, &x); uerr != nil {
			err = uerr
		}
		return nil, nil, fmt.Errorf("%s: %v", where, err)
	}
	if _, err := dec.Token(); err != nil { // '{' (the caller checked the kind)
		return fail(err)
	}
	m = map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail(err)
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return fail(err)
		}
		if _, dup := m[key]; dup {
			return nil, nil, fmt.Errorf("%s: duplicate key %q (a JSON object may hold each key once)", where, key)
		}
		m[key] = v
		keys = append(keys, key)
	}
	if _, err := dec.Token(); err != nil { // '}'
		return fail(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fail(errors.New("data after the record"))
	}
	return m, keys, nil
}

// unknownKeys returns a warning for each key not in known.
func unknownKeys(keys, known []string) []string {
	var out []string
	for _, k := range keys {
		ok := false
		for _, want := range known {
			ok = ok || k == want
		}
		if !ok {
			out = append(out, fmt.Sprintf("unknown key %q ignored (known keys: %s)", k, strings.Join(known, ", ")))
		}
	}
	return out
}

// decodeRecord decodes one JSON record: the GLiNER schema
// ({"tokenized_text", "ner", ...}) or, when it has "text" and no
// "tokenized_text", a raw-text record ({"text", "entities"}). A key that
// appears twice is an error; an unknown key (a misspelled "entites") is
// ignored, as the reference does, with a warning in ex.Warnings. The
// example is not yet validated.
func decodeRecord(raw json.RawMessage) (Example, error) {
	if !utf8.Valid(raw) {
		off := 0
		for off < len(raw) {
			r, size := utf8.DecodeRune(raw[off:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			off += size
		}
		return Example{}, fmt.Errorf("invalid UTF-8 at byte %d of the record", off)
	}
	if jsonKind(raw) != "an object" {
		return Example{}, fmt.Errorf("record is %s, want an object", jsonKind(raw))
	}
	m, keys, err := jsonObject(raw, "record")
	if err != nil {
		return Example{}, err
	}
	if _, ok := m["tokenized_text"]; !ok {
		if _, ok := m["text"]; ok {
			ex, err := decodeTextRecord(m)
			if err == nil {
				ex.Warnings = unknownKeys(keys, textRecordKeys)
			}
			return ex, err
		}
		if len(keys) == 0 {
			return Example{}, errors.New(`empty record: missing "tokenized_text" (or "text" for a raw-text record)`)
		}
		return Example{}, fmt.Errorf(`missing "tokenized_text" (or "text" for a raw-text record); its keys: %s`, strings.Join(keys, ", "))
	}
	ex := Example{Warnings: unknownKeys(keys, recordKeys)}
	if ex.Words, err = jsonStrings(m["tokenized_text"], "tokenized_text"); err != nil {
		return Example{}, err
	}
	if raw, ok := m["ner"]; ok && !isNull(raw) {
		items, err := jsonList(raw, "ner")
		if err != nil {
			return Example{}, err
		}
		for i, it := range items {
			s, e, l, err := jsonTriple(it, fmt.Sprintf("ner[%d]", i))
			if err != nil {
				return Example{}, err
			}
			ex.Entities = append(ex.Entities, Entity{Start: s, End: e, Label: l})
		}
	}
	if raw, ok := m["relations"]; ok && !isNull(raw) {
		items, err := jsonList(raw, "relations")
		if err != nil {
			return Example{}, err
		}
		for i, it := range items {
			h, t, l, err := jsonTriple(it, fmt.Sprintf("relations[%d]", i))
			if err != nil {
				return Example{}, err
			}
			ex.Relations = append(ex.Relations, Relation{Head: h, Tail: t, Label: l})
		}
	}
	for _, opt := range []struct {
		key string
		dst *[]string
	}{{"ner_negatives", &ex.NegativeTypes}, {"ner_labels", &ex.LabelSet}, {"rel_negatives", &ex.RelNegatives}, {"rel_labels", &ex.RelLabels}} {
		if raw, ok := m[opt.key]; ok && !isNull(raw) {
			if *opt.dst, err = jsonStrings(raw, opt.key); err != nil {
				return Example{}, err
			}
		}
	}
	return ex, nil
}

// JSONReader streams the elements of a top-level JSON list one at a time
// (json.Decoder tokens; the file is never loaded whole). Problems name the
// element's index: "train.json[3]".
type JSONReader struct {
	dec     *json.Decoder
	name    string
	index   int
	started bool
	err     error
}

// NewJSONReader reads the GLiNER JSON list from r; name is used in errors.
func NewJSONReader(r io.Reader, name string) *JSONReader {
	return &JSONReader{dec: json.NewDecoder(skipBOM(bufio.NewReaderSize(r, 1<<16))), name: name}
}

// Next implements Reader.
func (r *JSONReader) Next() (Example, error) {
	if r.err != nil {
		return Example{}, r.err
	}
	if !r.started {
		r.started = true
		tok, err := r.dec.Token()
		if err == io.EOF {
			r.err = fmt.Errorf("%s: empty file, want a JSON list of examples", r.name)
			return Example{}, r.err
		}
		if err != nil {
			r.err = fmt.Errorf("%s: %w", r.name, err)
			return Example{}, r.err
		}
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			r.err = fmt.Errorf("%s: top-level value starts with %v, want a JSON list of examples", r.name, tok)
			return Example{}, r.err
		}
	}
	if !r.dec.More() {
		tok, err := r.dec.Token()
		if err != nil {
			r.err = r.cut(err, fmt.Sprintf("%s: after element %d", r.name, r.index))
			return Example{}, r.err
		}
		if d, ok := tok.(json.Delim); !ok || d != ']' {
			r.err = fmt.Errorf("%s: after element %d: unexpected %v", r.name, r.index, tok)
			return Example{}, r.err
		}
		if _, err := r.dec.Token(); err != io.EOF {
			r.err = fmt.Errorf("%s: unexpected data after the closing ]", r.name)
			return Example{}, r.err
		}
		r.err = io.EOF
		return Example{}, io.EOF
	}
	var raw json.RawMessage
	src := fmt.Sprintf("%s[%d]", r.name, r.index)
	if err := r.dec.Decode(&raw); err != nil {
		r.err = r.cut(err, src)
		return Example{}, r.err
	}
	r.index++
	ex, err := decodeRecord(raw)
	if err != nil {
		return Example{}, &Problem{Source: src, Reason: err.Error()}
	}
	return validated(ex, src)
}

// cut wraps a read error at where ("train.json[3]", or "train.json: after
// element 3"). The end of the input inside the list (after "[{...}," or
// with no closing "]") is a truncated file, not the end of the examples: it
// becomes io.ErrUnexpectedEOF with the byte offset, never a wrapped io.EOF
// (which data.Each would take for the end).
func (r *JSONReader) cut(err error, where string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: %w at offset %d: the JSON list ends without its closing ] (truncated file?)",
			where, io.ErrUnexpectedEOF, r.dec.InputOffset())
	}
	return fmt.Errorf("%s: offset %d: %w", where, r.dec.InputOffset(), err)
}

// Close implements Reader; it does not close the underlying io.Reader.
func (r *JSONReader) Close() error { return nil }

// JSONLReader reads one JSON record per line; blank lines are ignored.
// Records in the GLiNER schema and raw-text records ({"text", "entities"}
// with character offsets, see TextRecord) may be mixed. Problems name the
// line: "train.jsonl:12".
type JSONLReader struct {
	lineScanner
}

// NewJSONLReader reads JSONL from r; name is used in errors.
func NewJSONLReader(r io.Reader, name string) *JSONLReader {
	return &JSONLReader{newLineScanner(r, name)}
}

// Next implements Reader.
func (r *JSONLReader) Next() (Example, error) {
	for {
		line, ok := r.nextLine()
		if !ok {
			return Example{}, r.err
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		src := r.source()
		ex, derr := decodeRecord(line)
		if derr != nil {
			return Example{}, &Problem{Source: src, Reason: derr.Error()}
		}
		return validated(ex, src)
	}
}

// Close implements Reader; it does not close the underlying io.Reader.
func (r *JSONLReader) Close() error { return nil }

// jsonRecord is the GLiNER schema as written: ner and tokenized_text always,
// the others only when non-empty.
type jsonRecord struct {
	TokenizedText []string `json:"tokenized_text"`
	NER           [][3]any `json:"ner"`
	Relations     [][3]any `json:"relations,omitempty"`
	NERNegatives  []string `json:"ner_negatives,omitempty"`
	NERLabels     []string `json:"ner_labels,omitempty"`
	RelNegatives  []string `json:"rel_negatives,omitempty"`
	RelLabels     []string `json:"rel_labels,omitempty"`
}

// MarshalExample encodes ex as one GLiNER JSON record (no trailing newline).
// Text, character maps and Source are not part of the schema and are not
// written.
func MarshalExample(ex Example) ([]byte, error) {
	rec := jsonRecord{
		TokenizedText: ex.Words,
		NER:           make([][3]any, len(ex.Entities)),
		NERNegatives:  ex.NegativeTypes,
		NERLabels:     ex.LabelSet,
		RelNegatives:  ex.RelNegatives,
		RelLabels:     ex.RelLabels,
	}
	if rec.TokenizedText == nil {
		rec.TokenizedText = []string{}
	}
	for i, e := range ex.Entities {
		rec.NER[i] = [3]any{e.Start, e.End, e.Label}
	}
	for _, r := range ex.Relations {
		rec.Relations = append(rec.Relations, [3]any{r.Head, r.Tail, r.Label})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// JSONLWriter writes one GLiNER record per line.
type JSONLWriter struct {
	bw *bufio.Writer
}

// NewJSONLWriter writes JSONL to w. Close flushes but does not close w.
func NewJSONLWriter(w io.Writer) *JSONLWriter { return &JSONLWriter{bw: bufio.NewWriter(w)} }

// Write implements Writer.
func (w *JSONLWriter) Write(ex Example) error {
	b, err := MarshalExample(ex)
	if err != nil {
		return err
	}
	w.bw.Write(b)
	return w.bw.WriteByte('\n')
}

// Close implements Writer.
func (w *JSONLWriter) Close() error { return w.bw.Flush() }

// JSONWriter writes a top-level JSON list, one record per line.
type JSONWriter struct {
	bw *bufio.Writer
	n  int
}

// NewJSONWriter writes a JSON list to w. Close writes the closing bracket and
// flushes but does not close w.
func NewJSONWriter(w io.Writer) *JSONWriter { return &JSONWriter{bw: bufio.NewWriter(w)} }

// Write implements Writer.
func (w *JSONWriter) Write(ex Example) error {
	b, err := MarshalExample(ex)
	if err != nil {
		return err
	}
	if w.n == 0 {
		w.bw.WriteString("[\n")
	} else {
		w.bw.WriteString(",\n")
	}
	w.n++
	_, err = w.bw.Write(b)
	return err
}

// Close implements Writer.
func (w *JSONWriter) Close() error {
	if w.n == 0 {
		w.bw.WriteString("[")
	}
	w.bw.WriteString("\n]\n")
	return w.bw.Flush()
}
