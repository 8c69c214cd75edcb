package data

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gliner-go/gliner/internal/fileio"
)

// Format names a dataset file format. Parse it once at the edge with
// ParseFormat or FormatFromPath.
type Format int

// The dataset formats this package reads and writes.
const (
	// FormatAuto means "choose from the file extension".
	FormatAuto Format = iota
	// FormatJSON is the reference's training file: a top-level JSON list of
	// {"tokenized_text", "ner", "relations", ...} records (extension .json).
	FormatJSON
	// FormatJSONL holds one such record per line (.jsonl, .ndjson). Its
	// reader also accepts raw-text records {"text", "entities"} line by line.
	FormatJSONL
	// FormatParquet is an Apache Parquet file with ArrowSchema (.parquet).
	FormatParquet
	// FormatArrow is an Arrow IPC file ("file" format, not stream) with
	// ArrowSchema (.arrow, .ipc, .feather).
	FormatArrow
	// FormatCoNLL is one word per line with its BIO/IOB1 tag in the last
	// column (2-column "word tag" or 4-column CoNLL-2003), a blank line
	// between sentences (.conll, .bio, .iob).
	FormatCoNLL
	// FormatText is raw text, one document per line (.txt). Documents are
	// split into words by SplitWords; there are no entities.
	FormatText
	// FormatTextJSONL is raw text with character-offset entities, one
	// {"text": ..., "entities": [{"start","end","label"}]} per line. It has
	// no extension of its own: name it with --from/--to text-jsonl.
	FormatTextJSONL
)

var formatNames = map[Format]string{
	FormatAuto:      "auto",
	FormatJSON:      "json",
	FormatJSONL:     "jsonl",
	FormatParquet:   "parquet",
	FormatArrow:     "arrow",
	FormatCoNLL:     "conll",
	FormatText:      "text",
	FormatTextJSONL: "text-jsonl",
}

var formatAliases = map[string]Format{
	"ipc": FormatArrow, "feather": FormatArrow, "bio": FormatCoNLL, "iob": FormatCoNLL,
	"ndjson": FormatJSONL, "txt": FormatText,
}

var extFormats = map[string]Format{
	".json": FormatJSON, ".jsonl": FormatJSONL, ".ndjson": FormatJSONL,
	".parquet": FormatParquet, ".arrow": FormatArrow, ".ipc": FormatArrow, ".feather": FormatArrow,
	".conll": FormatCoNLL, ".bio": FormatCoNLL, ".iob": FormatCoNLL, ".txt": FormatText,
}

// String returns the format's name as ParseFormat accepts it.
func (f Format) String() string {
	if s, ok := formatNames[f]; ok {
		return s
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// FormatNames lists the names ParseFormat accepts, sorted.
func FormatNames() []string {
	var names []string
	for _, n := range formatNames {
		names = append(names, n)
	}
	for n := range formatAliases {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ParseFormat parses a format name ("json", "jsonl", "parquet", "arrow",
// "conll", "text", "text-jsonl", "auto" or an alias such as "ipc", "bio").
// The error lists the valid names.
func ParseFormat(s string) (Format, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	if name == "" {
		return FormatAuto, nil
	}
	for f, n := range formatNames {
		if n == name {
			return f, nil
		}
	}
	if f, ok := formatAliases[name]; ok {
		return f, nil
	}
	return FormatAuto, fmt.Errorf("unknown dataset format %q (valid: %s)", s, strings.Join(FormatNames(), ", "))
}

// FormatFromPath chooses a format from a file's extension: .json, .jsonl and
// .ndjson, .parquet, .arrow/.ipc/.feather, .conll/.bio/.iob, and .txt (raw
// text, one document per line; a CoNLL file named .txt needs an explicit
// "conll"). A ".gz" suffix is not supported.
func FormatFromPath(path string) (Format, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if f, ok := extFormats[ext]; ok {
		return f, nil
	}
	var exts []string
	for e := range extFormats {
		exts = append(exts, e)
	}
	sort.Strings(exts)
	return FormatAuto, fmt.Errorf("%s: cannot tell the dataset format from extension %q (known: %s); name it explicitly",
		path, ext, strings.Join(exts, " "))
}

// resolve returns f, or the format of path's extension when f is FormatAuto.
func resolve(f Format, path string) (Format, error) {
	if f != FormatAuto {
		return f, nil
	}
	if path == fileio.Stdio {
		return FormatAuto, fmt.Errorf("standard input or output (-) has no extension: name the dataset format (--from or --to: %s)",
			strings.Join(FormatNames(), ", "))
	}
	return FormatFromPath(path)
}

// Reader streams examples from a dataset file with bounded memory.
//
// Next returns the next valid example, io.EOF after the last one, a *Problem
// for a bad example (the reader stays usable: call Next again to go on past
// it), or another error when the file cannot be read further (I/O error,
// broken JSON syntax); after such an error Next keeps returning it.
// Every example the reader returns has passed Validate.
type Reader interface {
	Next() (Example, error)
	Close() error
}

// Writer writes examples to a dataset file. Close flushes and finishes the
// file; a file whose Close failed is incomplete.
type Writer interface {
	Write(ex Example) error
	Close() error
}

// ReadOptions tune OpenReader.
type ReadOptions struct {
	// Format of the file; FormatAuto picks it from the extension.
	Format Format
	// LowercaseLabels lower-cases entity and relation labels and the
	// optional label lists as they are read. Off by default.
	LowercaseLabels bool
}

// OpenReader opens path for reading in the given (or detected) format.
// "-" is standard input (the format must then be named); a directory is
// refused.
func OpenReader(path string, opts ReadOptions) (Reader, error) {
	f, err := resolve(opts.Format, path)
	if err != nil {
		return nil, err
	}
	var r Reader
	switch f {
	case FormatParquet:
		r, err = openParquetReader(path)
	case FormatArrow:
		r, err = openArrowReader(path)
	default:
		var fh io.ReadCloser
		fh, err = fileio.Open(path)
		if err != nil {
			return nil, fmt.Errorf("open dataset: %w", err)
		}
		name := fileio.DisplayName(path)
		switch f {
		case FormatJSON:
			r = NewJSONReader(fh, name)
		case FormatJSONL, FormatTextJSONL:
			r = NewJSONLReader(fh, name)
		case FormatCoNLL:
			r = NewCoNLLReader(fh, name)
		case FormatText:
			r = NewTextReader(fh, name)
		default:
			fh.Close()
			return nil, fmt.Errorf("%s: format %v cannot be read", path, f)
		}
		r = &closingReader{Reader: r, c: fh}
	}
	if err != nil {
		return nil, err
	}
	if opts.LowercaseLabels {
		r = &lowercaseReader{r}
	}
	return r, nil
}

// FileWriter writes a dataset file through internal/fileio: a regular file
// is written to a temporary file beside it and renamed into place by Close,
// so a failed or aborted write leaves an existing file as it was; "-" is
// standard output; a device or pipe is written in place; a directory is
// refused.
type FileWriter struct {
	Writer
	f      *fileio.File
	closed bool
}

// Close finishes the file and makes it visible. After a failed Close the
// target is as it was before.
func (w *FileWriter) Close() error {
	if w.closed {
		return fmt.Errorf("%s: already closed", w.f.Name())
	}
	w.closed = true
	if err := w.Writer.Close(); err != nil {
		w.f.Abort()
		return err
	}
	return w.f.Commit()
}

// Abort discards what was written (a regular target keeps its old content).
// Abort after Close does nothing.
func (w *FileWriter) Abort() {
	if w.closed {
		return
	}
	w.closed = true
	_ = w.Writer.Close() // releases the encoders' buffers; the output is discarded
	w.f.Abort()
}

// CreateWriter creates path and returns a writer for format f (FormatAuto:
// from the extension); see FileWriter. Nothing replaces path before Close.
func CreateWriter(path string, f Format) (*FileWriter, error) {
	return CreateWriterTo(path, f, fileio.Stdout)
}

// CreateWriterTo is CreateWriter with "-" meaning stdout (a command's own
// output stream).
func CreateWriterTo(path string, f Format, stdout io.Writer) (*FileWriter, error) {
	f, err := resolve(f, path)
	if err != nil {
		return nil, err
	}
	switch f {
	case FormatParquet, FormatArrow, FormatJSON, FormatJSONL, FormatTextJSONL, FormatCoNLL, FormatText:
	default:
		return nil, fmt.Errorf("%s: format %v cannot be written", path, f)
	}
	fh, err := fileio.CreateWith(path, stdout)
	if err != nil {
		return nil, fmt.Errorf("create dataset: %w", err)
	}
	var w Writer
	switch f {
	case FormatParquet:
		w, err = newParquetWriter(fh, path)
	case FormatArrow:
		w, err = newArrowWriter(fh, path)
	case FormatJSON:
		w = NewJSONWriter(fh)
	case FormatJSONL:
		w = NewJSONLWriter(fh)
	case FormatTextJSONL:
		w = NewTextJSONLWriter(fh)
	case FormatCoNLL:
		w = NewCoNLLWriter(fh)
	case FormatText:
		w = NewTextWriter(fh)
	}
	if err != nil {
		fh.Abort()
		return nil, err
	}
	return &FileWriter{Writer: w, f: fh}, nil
}

type closingReader struct {
	Reader
	c io.Closer
}

func (r *closingReader) Close() error {
	err := r.Reader.Close()
	if cerr := r.c.Close(); err == nil {
		err = cerr
	}
	return err
}

type lowercaseReader struct{ Reader }

func (r *lowercaseReader) Next() (Example, error) {
	ex, err := r.Reader.Next()
	if err == nil {
		LowercaseLabels(&ex)
	}
	return ex, err
}

// LowercaseLabels lower-cases, in place, the labels of ex's entities and
// relations and its optional label lists.
func LowercaseLabels(ex *Example) {
	for i := range ex.Entities {
		ex.Entities[i].Label = strings.ToLower(ex.Entities[i].Label)
	}
	for i := range ex.Relations {
		ex.Relations[i].Label = strings.ToLower(ex.Relations[i].Label)
	}
	for _, list := range [][]string{ex.NegativeTypes, ex.LabelSet, ex.RelNegatives, ex.RelLabels} {
		for i := range list {
			list[i] = strings.ToLower(list[i])
		}
	}
}

// Each reads r to its end and calls fn on every valid example. Bad examples
// are handled by policy: with FailFast the first one ends the read with its
// *Problem; with Skip it is recorded in rep and the read goes on. rep (which
// may be nil) counts every example read, good or bad. An error from fn, or a
// reader error that is not a *Problem, ends the read.
func Each(r Reader, policy ErrorPolicy, rep *Report, fn func(Example) error) error {
	if rep == nil {
		rep = &Report{}
	}
	for {
		ex, err := r.Next()
		if err == io.EOF { // only the bare sentinel: a wrapped EOF is a cut file
			return nil
		}
		if err != nil {
			var p *Problem
			if !errors.As(err, &p) {
				return err
			}
			rep.Read++
			rep.Skipped++
			rep.Problems = append(rep.Problems, *p)
			if policy == FailFast {
				return err
			}
			continue
		}
		rep.Read++
		for _, w := range ex.Warnings {
			rep.warn(ex.Source, w)
		}
		ex.Warnings = nil
		if err := fn(ex); err != nil {
			return err
		}
	}
}

// ReadAll reads every valid example of r into memory (see Each for policy
// and rep). Prefer Each for large files.
func ReadAll(r Reader, policy ErrorPolicy, rep *Report) ([]Example, error) {
	var out []Example
	err := Each(r, policy, rep, func(ex Example) error {
		out = append(out, ex)
		return nil
	})
	return out, err
}

// ReadFile opens path (format from opts), reads all valid examples and
// closes it.
func ReadFile(path string, opts ReadOptions, policy ErrorPolicy, rep *Report) ([]Example, error) {
	r, err := OpenReader(path, opts)
	if err != nil {
		return nil, err
	}
	out, err := ReadAll(r, policy, rep)
	if cerr := r.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", path, cerr)
	}
	return out, err
}

// WriteFile writes examples to path in format f (FormatAuto: from the
// extension), atomically (see CreateWriter).
func WriteFile(path string, f Format, examples []Example) error {
	w, err := CreateWriter(path, f)
	if err != nil {
		return err
	}
	for i, ex := range examples {
		if err := w.Write(ex); err != nil {
			w.Abort()
			return fmt.Errorf("write %s: example %d: %w", path, i, err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
