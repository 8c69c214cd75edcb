package selftrain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gliner-go/gliner/data"
)

// Corpus is the unlabelled text the teacher labels: files in any format
// data.OpenReader reads (plain text one document per line, JSONL of
// {"text"} or {"tokenized_text"} records, Parquet, Arrow, ...), then Extra
// in-memory examples. Entities already present are ignored.
type Corpus struct {
	Paths []string
	// Extra are further documents (e.g. the unlabelled part of a labelled
	// set); their Source names them in reports.
	Extra []data.Example
}

// CorpusStats counts what ReadCorpus read.
type CorpusStats struct {
	// Docs is the number of documents passed on.
	Docs int `json:"docs"`
	// InvalidUTF8 counts lines/records skipped for invalid UTF-8;
	// Skipped lists them ("corpus.txt:7: invalid UTF-8").
	InvalidUTF8 int      `json:"invalid_utf8"`
	Skipped     []string `json:"skipped,omitempty"`
}

func isUTF8Problem(p *data.Problem) bool { return strings.Contains(p.Reason, "UTF-8") }

// ReadCorpus streams the corpus to fn in slices of at most batch documents
// (memory stays bounded by one slice). Lines or records with invalid UTF-8
// are skipped and counted; any other bad record is an error naming it. A
// corpus without a single document is an error.
func ReadCorpus(ctx context.Context, c Corpus, batch int, fn func([]Doc) error) (*CorpusStats, error) {
	if batch < 1 {
		batch = 32
	}
	if len(c.Paths) == 0 && len(c.Extra) == 0 {
		return nil, fmt.Errorf("corpus: no files given")
	}
	st := &CorpusStats{}
	buf := make([]Doc, 0, batch)
	emit := func(ex data.Example, src string) error {
		buf = append(buf, Doc{Index: st.Docs, Source: src, Words: ex.Words, Text: ex.Text})
		st.Docs++
		if len(buf) == batch {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		return nil
	}
	for _, path := range c.Paths {
		r, err := data.OpenReader(path, data.ReadOptions{})
		if err != nil {
			return st, fmt.Errorf("corpus: %w", err)
		}
		for {
			ex, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				var p *data.Problem
				if errors.As(err, &p) && isUTF8Problem(p) {
					st.InvalidUTF8++
					st.Skipped = append(st.Skipped, p.Error())
					continue
				}
				r.Close()
				return st, fmt.Errorf("corpus %s: %w", path, err)
			}
			src := ex.Source
			if src == "" {
				src = fmt.Sprintf("%s doc %d", path, st.Docs)
			}
			if err := emit(ex, src); err != nil {
				r.Close()
				return st, err
			}
		}
		if err := r.Close(); err != nil {
			return st, fmt.Errorf("corpus %s: close: %w", path, err)
		}
	}
	for i, ex := range c.Extra {
		if len(ex.Words) == 0 {
			return st, fmt.Errorf("corpus: extra document %d (%s) has no words", i, ex.Source)
		}
		src := ex.Source
		if src == "" {
			src = fmt.Sprintf("extra %d", i)
		}
		if err := emit(ex, src); err != nil {
			return st, err
		}
	}
	if len(buf) > 0 {
		if err := fn(buf); err != nil {
			return st, err
		}
	}
	if st.Docs == 0 {
		return st, fmt.Errorf("corpus %s: empty: no document to label (%d lines skipped for invalid UTF-8)",
			strings.Join(c.Paths, ", "), st.InvalidUTF8)
	}
	return st, nil
}
