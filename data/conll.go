package data

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CoNLLReader reads CoNLL/BIO files: one word per line, its columns
// separated by whitespace, the word in the first column and the tag in the
// last (2-column "word tag", 4-column CoNLL-2003 "word pos chunk tag"); a
// blank line ends a sentence; "-DOCSTART-" lines are skipped.
//
// Tags are "O", "B-label" or "I-label". Chunks follow conlleval: B- always
// starts an entity; I- continues the open entity only if it has the same
// label, otherwise (after O, after another label, at the sentence start —
// IOB1 style) it starts a new one. Labels are kept as written (see
// ReadOptions.LowercaseLabels). Problems name the line of the sentence's
// bad token, or of its first token: "train.conll:17".
type CoNLLReader struct {
	lineScanner
}

// NewCoNLLReader reads CoNLL from r; name is used in errors.
func NewCoNLLReader(r io.Reader, name string) *CoNLLReader {
	return &CoNLLReader{newLineScanner(r, name)}
}

type conllToken struct {
	word, tag string
	line      int
}

// Next implements Reader.
func (r *CoNLLReader) Next() (Example, error) {
	var toks []conllToken
	var bad *Problem
	for {
		line, ok := r.nextLine()
		if !ok {
			if r.err != io.EOF {
				return Example{}, r.err
			}
			break
		}
		src := r.source()
		if !utf8.Valid(line) {
			if bad == nil {
				bad = problemf(src, "invalid UTF-8")
			}
			continue
		}
		fields := strings.Fields(string(line))
		if len(fields) == 0 {
			if len(toks) > 0 || bad != nil {
				break
			}
			continue
		}
		if fields[0] == "-DOCSTART-" {
			continue
		}
		if len(fields) < 2 {
			if bad == nil {
				bad = problemf(src, "line has 1 column, want \"word tag\" or \"word pos chunk tag\"")
			}
			continue
		}
		toks = append(toks, conllToken{word: fields[0], tag: fields[len(fields)-1], line: r.line})
	}
	if bad != nil {
		return Example{}, bad
	}
	if len(toks) == 0 {
		return Example{}, r.err
	}
	src := fmt.Sprintf("%s:%d", r.name, toks[0].line)
	ex, err := tagsToExample(toks, r.name)
	if err != nil {
		return Example{}, err
	}
	return validated(ex, src)
}

// parseTag splits a BIO tag into its prefix ('O', 'B' or 'I') and label.
func parseTag(tag string) (byte, string, error) {
	if tag == "O" {
		return 'O', "", nil
	}
	if len(tag) >= 2 && (tag[0] == 'B' || tag[0] == 'I') && tag[1] == '-' {
		if strings.TrimSpace(tag[2:]) == "" {
			return 0, "", fmt.Errorf("malformed tag %q: empty label", tag)
		}
		return tag[0], tag[2:], nil
	}
	return 0, "", fmt.Errorf("malformed tag %q (want O, B-label or I-label)", tag)
}

func tagsToExample(toks []conllToken, name string) (Example, error) {
	var ex Example
	open := -1 // index in ex.Entities of the entity being extended
	for i, t := range toks {
		ex.Words = append(ex.Words, t.word)
		prefix, label, err := parseTag(t.tag)
		if err != nil {
			return Example{}, problemf(fmt.Sprintf("%s:%d", name, t.line), "%v", err)
		}
		switch {
		case prefix == 'O':
			open = -1
		case prefix == 'I' && open >= 0 && ex.Entities[open].Label == label:
			ex.Entities[open].End = i
		default: // B-, or I- that cannot continue: a new entity
			ex.Entities = append(ex.Entities, Entity{Start: i, End: i, Label: label})
			open = len(ex.Entities) - 1
		}
	}
	return ex, nil
}

// Close implements Reader.
func (r *CoNLLReader) Close() error { return nil }

// CoNLLWriter writes 2-column "word tag" BIO with a blank line after each
// sentence. BIO cannot hold overlapping or nested entities, relations,
// label lists, or words with whitespace: an example with any is an error
// naming it, never silently flattened.
type CoNLLWriter struct{ bw *bufio.Writer }

// NewCoNLLWriter writes CoNLL to w. Close flushes but does not close w.
func NewCoNLLWriter(w io.Writer) *CoNLLWriter { return &CoNLLWriter{bw: bufio.NewWriter(w)} }

// Write implements Writer.
func (w *CoNLLWriter) Write(ex Example) error {
	if len(ex.Relations)+len(ex.NegativeTypes)+len(ex.LabelSet)+len(ex.RelNegatives)+len(ex.RelLabels) > 0 {
		return fmt.Errorf("%s: CoNLL cannot hold relations or label lists", exampleName(ex))
	}
	tags := make([]string, len(ex.Words))
	for i := range tags {
		tags[i] = "O"
	}
	for i, e := range ex.Entities {
		if e.Start < 0 || e.End < e.Start || e.End >= len(ex.Words) {
			return fmt.Errorf("%s: ner[%d] span [%d, %d] outside the text", exampleName(ex), i, e.Start, e.End)
		}
		if strings.ContainsFunc(e.Label, unicode.IsSpace) || e.Label == "" {
			return fmt.Errorf("%s: ner[%d] label %q cannot be a CoNLL tag (empty or has whitespace)", exampleName(ex), i, e.Label)
		}
		for k := e.Start; k <= e.End; k++ {
			if tags[k] != "O" {
				return fmt.Errorf("%s: ner[%d] [%d, %d, %q] overlaps another entity; BIO cannot hold nested entities",
					exampleName(ex), i, e.Start, e.End, e.Label)
			}
			if k == e.Start {
				tags[k] = "B-" + e.Label
			} else {
				tags[k] = "I-" + e.Label
			}
		}
	}
	var buf bytes.Buffer
	for i, word := range ex.Words {
		if word == "" || strings.ContainsFunc(word, unicode.IsSpace) {
			return fmt.Errorf("%s: word %d %q is empty or has whitespace; CoNLL cannot hold it", exampleName(ex), i, word)
		}
		if i == 0 && word == "-DOCSTART-" {
			return fmt.Errorf("%s: a sentence starting with -DOCSTART- would be read back as a document marker", exampleName(ex))
		}
		buf.WriteString(word)
		buf.WriteByte(' ')
		buf.WriteString(tags[i])
		buf.WriteByte('\n')
	}
	buf.WriteByte('\n')
	_, err := w.bw.Write(buf.Bytes())
	return err
}

// Close implements Writer.
func (w *CoNLLWriter) Close() error { return w.bw.Flush() }
