package data

import (
	"bufio"
	"fmt"
	"io"
)

// lineScanner reads a line-based file (JSONL, raw text, CoNLL) one line at
// a time, counting lines so that problems can name them ("train.jsonl:12").
// The readers of those formats embed it.
type lineScanner struct {
	br   *bufio.Reader
	name string
	line int   // lines read so far: the number of the last line returned
	err  error // io.EOF once the last line is returned, or the read error
}

func newLineScanner(r io.Reader, name string) lineScanner {
	return lineScanner{br: skipBOM(bufio.NewReaderSize(r, 1<<16)), name: name}
}

// skipBOM drops a UTF-8 byte-order mark (EF BB BF) at the start of br, as
// editors on Windows write one and Python's "utf-8-sig" codec drops it.
func skipBOM(br *bufio.Reader) *bufio.Reader {
	if b, err := br.Peek(3); err == nil && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf {
		br.Discard(3)
	}
	return br
}

// nextLine returns the next line, line ending included, or false once
// there is none; s.err then says why (io.EOF at the end, else a read error
// naming the line). A last line without a newline is returned, with s.err
// already io.EOF.
func (s *lineScanner) nextLine() ([]byte, bool) {
	if s.err != nil {
		return nil, false
	}
	line, err := s.br.ReadBytes('\n')
	if err != nil && err != io.EOF {
		s.err = fmt.Errorf("%s:%d: %w", s.name, s.line+1, err)
		return nil, false
	}
	if len(line) == 0 && err == io.EOF {
		s.err = io.EOF
		return nil, false
	}
	s.line++
	if err == io.EOF {
		s.err = io.EOF // return this line first
	}
	return line, true
}

// source names the last line returned: "name:line".
func (s *lineScanner) source() string { return fmt.Sprintf("%s:%d", s.name, s.line) }
