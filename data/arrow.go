package data

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/gliner-go/gliner/internal/fileio"
)

// arrowBatchRows is the number of examples per written record batch (and
// per Parquet read batch): memory stays bounded by one batch.
const arrowBatchRows = 1024

var (
	entityStruct = arrow.StructOf(
		arrow.Field{Name: "start", Type: arrow.PrimitiveTypes.Int64},
		arrow.Field{Name: "end", Type: arrow.PrimitiveTypes.Int64},
		arrow.Field{Name: "label", Type: arrow.BinaryTypes.String},
	)
	relationStruct = arrow.StructOf(
		arrow.Field{Name: "head", Type: arrow.PrimitiveTypes.Int64},
		arrow.Field{Name: "tail", Type: arrow.PrimitiveTypes.Int64},
		arrow.Field{Name: "label", Type: arrow.BinaryTypes.String},
	)
	stringList = arrow.ListOf(arrow.BinaryTypes.String)

	// ArrowSchema is the schema of the Parquet and Arrow IPC files this
	// package writes and reads: tokenized_text list<string>, ner
	// list<struct<start, end int64, label string>>, relations
	// list<struct<head, tail int64, label string>>, and the optional
	// ner_negatives, ner_labels, rel_negatives, rel_labels list<string>
	// (null when absent). Readers find columns by name and also accept
	// int32 indices.
	ArrowSchema = arrow.NewSchema([]arrow.Field{
		{Name: "tokenized_text", Type: stringList},
		{Name: "ner", Type: arrow.ListOf(entityStruct)},
		{Name: "relations", Type: arrow.ListOf(relationStruct), Nullable: true},
		{Name: "ner_negatives", Type: stringList, Nullable: true},
		{Name: "ner_labels", Type: stringList, Nullable: true},
		{Name: "rel_negatives", Type: stringList, Nullable: true},
		{Name: "rel_labels", Type: stringList, Nullable: true},
	}, nil)
)

// recordBuffer turns examples into record batches of ArrowSchema.
type recordBuffer struct {
	b *array.RecordBuilder
	n int
}

func newRecordBuffer() *recordBuffer {
	return &recordBuffer{b: array.NewRecordBuilder(memory.DefaultAllocator, ArrowSchema)}
}

func appendStrings(lb *array.ListBuilder, list []string, nullable bool) {
	if nullable && len(list) == 0 {
		lb.AppendNull()
		return
	}
	lb.Append(true)
	vb := lb.ValueBuilder().(*array.StringBuilder)
	for _, s := range list {
		vb.Append(s)
	}
}

func appendTriples(lb *array.ListBuilder, n int, at func(i int) (int, int, string)) {
	lb.Append(true)
	sb := lb.ValueBuilder().(*array.StructBuilder)
	for i := 0; i < n; i++ {
		a, b, l := at(i)
		sb.Append(true)
		sb.FieldBuilder(0).(*array.Int64Builder).Append(int64(a))
		sb.FieldBuilder(1).(*array.Int64Builder).Append(int64(b))
		sb.FieldBuilder(2).(*array.StringBuilder).Append(l)
	}
}

func (rb *recordBuffer) add(ex Example) {
	appendStrings(rb.b.Field(0).(*array.ListBuilder), ex.Words, false)
	appendTriples(rb.b.Field(1).(*array.ListBuilder), len(ex.Entities), func(i int) (int, int, string) {
		e := ex.Entities[i]
		return e.Start, e.End, e.Label
	})
	if len(ex.Relations) == 0 {
		rb.b.Field(2).(*array.ListBuilder).AppendNull()
	} else {
		appendTriples(rb.b.Field(2).(*array.ListBuilder), len(ex.Relations), func(i int) (int, int, string) {
			r := ex.Relations[i]
			return r.Head, r.Tail, r.Label
		})
	}
	appendStrings(rb.b.Field(3).(*array.ListBuilder), ex.NegativeTypes, true)
	appendStrings(rb.b.Field(4).(*array.ListBuilder), ex.LabelSet, true)
	appendStrings(rb.b.Field(5).(*array.ListBuilder), ex.RelNegatives, true)
	appendStrings(rb.b.Field(6).(*array.ListBuilder), ex.RelLabels, true)
	rb.n++
}

// flush returns the buffered record (nil if empty); the caller releases it.
func (rb *recordBuffer) flush() arrow.Record {
	if rb.n == 0 {
		return nil
	}
	rb.n = 0
	return rb.b.NewRecord()
}

// arrowWriter writes Arrow IPC files or Parquet files batch by batch.
type arrowWriter struct {
	buf   *recordBuffer
	write func(arrow.Record) error
	close func() error
	path  string
}

func (w *arrowWriter) Write(ex Example) error {
	w.buf.add(ex)
	if w.buf.n >= arrowBatchRows {
		return w.flush()
	}
	return nil
}

func (w *arrowWriter) flush() error {
	rec := w.buf.flush()
	if rec == nil {
		return nil
	}
	defer rec.Release()
	if err := w.write(rec); err != nil {
		return fmt.Errorf("%s: write record batch: %w", w.path, err)
	}
	return nil
}

func (w *arrowWriter) Close() error {
	err := w.flush()
	if cerr := w.close(); err == nil && cerr != nil {
		err = fmt.Errorf("%s: close: %w", w.path, cerr)
	}
	w.buf.b.Release()
	return err
}

func newArrowWriter(w io.WriteSeeker, path string) (Writer, error) {
	fw, err := ipc.NewFileWriter(w, ipc.WithSchema(ArrowSchema), ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &arrowWriter{buf: newRecordBuffer(), write: fw.Write, path: path, close: fw.Close}, nil
}

func newParquetWriter(w io.Writer, path string) (Writer, error) {
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy))
	fw, err := pqarrow.NewFileWriter(ArrowSchema, w, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// Each record batch becomes its own row group (WriteBuffered would
	// keep growing one).
	return &arrowWriter{buf: newRecordBuffer(), write: fw.Write, path: path, close: fw.Close}, nil
}

// recordSource yields record batches; the record is valid until the next call.
type recordSource interface {
	next() (arrow.Record, error) // io.EOF at the end
	close() error
}

// recordReader reads examples row by row from record batches. Problems name
// the 0-based row: "train.parquet row 7".
type recordReader struct {
	src  recordSource
	name string
	rec  arrow.Record
	cols arrowColumns
	i    int // row within rec
	row  int // rows before rec
	err  error
}

type arrowColumns struct {
	words, ner, rels                     *array.List
	nerNeg, nerLabels, relNeg, relLabels *array.List
}

func (r *recordReader) Next() (Example, error) {
	for r.err == nil && (r.rec == nil || r.i >= int(r.rec.NumRows())) {
		if r.rec != nil {
			r.row += int(r.rec.NumRows())
		}
		rec, err := r.src.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.EOF // the end (data.Each wants the bare sentinel)
			} else {
				err = fmt.Errorf("%s: after row %d: %w", r.name, r.row, err)
			}
			r.err, r.rec = err, nil
			break
		}
		cols, err := bindColumns(rec.Schema(), rec)
		if err != nil {
			r.err = fmt.Errorf("%s: %w", r.name, err)
			break
		}
		r.rec, r.cols, r.i = rec, cols, 0
	}
	if r.err != nil {
		return Example{}, r.err
	}
	i := r.i
	r.i++
	src := fmt.Sprintf("%s row %d", r.name, r.row+i)
	ex, err := r.cols.example(i)
	if err != nil {
		return Example{}, &Problem{Source: src, Reason: err.Error()}
	}
	return validated(ex, src)
}

func (r *recordReader) Close() error { return r.src.close() }

func bindColumns(schema *arrow.Schema, rec arrow.Record) (arrowColumns, error) {
	var c arrowColumns
	get := func(name string, required bool) (*array.List, error) {
		idx := schema.FieldIndices(name)
		if len(idx) == 0 {
			if required {
				return nil, fmt.Errorf("no column %q (schema: %s)", name, schema)
			}
			return nil, nil
		}
		l, ok := rec.Column(idx[0]).(*array.List)
		if !ok {
			return nil, fmt.Errorf("column %q is %s, want a list", name, rec.Column(idx[0]).DataType())
		}
		return l, nil
	}
	var err error
	for _, f := range []struct {
		name     string
		required bool
		dst      **array.List
	}{
		{"tokenized_text", true, &c.words}, {"ner", false, &c.ner}, {"relations", false, &c.rels},
		{"ner_negatives", false, &c.nerNeg}, {"ner_labels", false, &c.nerLabels},
		{"rel_negatives", false, &c.relNeg}, {"rel_labels", false, &c.relLabels},
	} {
		if *f.dst, err = get(f.name, f.required); err != nil {
			return c, err
		}
	}
	return c, nil
}

func listStrings(l *array.List, i int, name string) ([]string, error) {
	if l == nil || l.IsNull(i) {
		return nil, nil
	}
	s, e := l.ValueOffsets(i)
	if s == e {
		return nil, nil
	}
	vals, ok := l.ListValues().(*array.String)
	if !ok {
		return nil, fmt.Errorf("%s holds %s, want strings", name, l.ListValues().DataType())
	}
	out := make([]string, 0, e-s)
	for k := s; k < e; k++ {
		if vals.IsNull(int(k)) {
			return nil, fmt.Errorf("%s[%d] is null", name, k-s)
		}
		out = append(out, vals.Value(int(k)))
	}
	return out, nil
}

func intAt(a arrow.Array, k int) (int, bool) {
	if a.IsNull(k) {
		return 0, false
	}
	switch v := a.(type) {
	case *array.Int64:
		return int(v.Value(k)), true
	case *array.Int32:
		return int(v.Value(k)), true
	}
	return 0, false
}

func listTriples(l *array.List, i int, name string, names [3]string, add func(a, b int, label string)) error {
	if l == nil || l.IsNull(i) {
		return nil
	}
	s, e := l.ValueOffsets(i)
	if s == e {
		return nil
	}
	st, ok := l.ListValues().(*array.Struct)
	if !ok {
		return fmt.Errorf("%s holds %s, want structs", name, l.ListValues().DataType())
	}
	stType := st.DataType().(*arrow.StructType)
	var fields [3]arrow.Array
	for j, n := range names {
		idx, ok := stType.FieldIdx(n)
		if !ok {
			return fmt.Errorf("%s has no field %q", name, n)
		}
		fields[j] = st.Field(idx)
	}
	labels, ok := fields[2].(*array.String)
	if !ok {
		return fmt.Errorf("%s.%s is %s, want string", name, names[2], fields[2].DataType())
	}
	for k := int(s); k < int(e); k++ {
		a, ok1 := intAt(fields[0], k)
		b, ok2 := intAt(fields[1], k)
		if !ok1 || !ok2 {
			return fmt.Errorf("%s[%d]: %s/%s null or not an integer (%s, %s)", name, k-int(s), names[0], names[1],
				fields[0].DataType(), fields[1].DataType())
		}
		if st.IsNull(k) || labels.IsNull(k) {
			return fmt.Errorf("%s[%d]: null entry or label", name, k-int(s))
		}
		add(a, b, labels.Value(k))
	}
	return nil
}

func (c arrowColumns) example(i int) (Example, error) {
	var ex Example
	var err error
	if ex.Words, err = listStrings(c.words, i, "tokenized_text"); err != nil {
		return ex, err
	}
	if err = listTriples(c.ner, i, "ner", [3]string{"start", "end", "label"}, func(a, b int, l string) {
		ex.Entities = append(ex.Entities, Entity{Start: a, End: b, Label: l})
	}); err != nil {
		return ex, err
	}
	if err = listTriples(c.rels, i, "relations", [3]string{"head", "tail", "label"}, func(a, b int, l string) {
		ex.Relations = append(ex.Relations, Relation{Head: a, Tail: b, Label: l})
	}); err != nil {
		return ex, err
	}
	for _, o := range []struct {
		l    *array.List
		name string
		dst  *[]string
	}{{c.nerNeg, "ner_negatives", &ex.NegativeTypes}, {c.nerLabels, "ner_labels", &ex.LabelSet},
		{c.relNeg, "rel_negatives", &ex.RelNegatives}, {c.relLabels, "rel_labels", &ex.RelLabels}} {
		if *o.dst, err = listStrings(o.l, i, o.name); err != nil {
			return ex, err
		}
	}
	return ex, nil
}

// seekReader hides an *os.File's Close from the Arrow and Parquet readers:
// the file is closed once, by the source's closer.
type seekReader struct {
	io.Reader
	io.ReaderAt
	io.Seeker
}

// recovered turns a panic inside the Arrow or Parquet reader (it panics on
// some corrupt pages, e.g. parquet/compress/snappy.go's Decode) into an
// error saying where: no panic reaches a user.
func recovered(err *error, where func() string) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("%s: corrupt data: %v", where(), p)
	}
}

type ipcSource struct {
	fr        *ipc.FileReader
	idx       int
	closeFile func() error
}

func (s *ipcSource) next() (rec arrow.Record, err error) {
	if s.idx >= s.fr.NumRecords() {
		return nil, io.EOF
	}
	defer recovered(&err, func() string { return fmt.Sprintf("record batch %d", s.idx-1) })
	s.idx++
	return s.fr.Record(s.idx - 1)
}

func (s *ipcSource) close() (err error) {
	defer func() {
		if cerr := s.closeFile(); err == nil {
			err = cerr
		}
	}()
	defer recovered(&err, func() string { return "close" })
	return s.fr.Close()
}

func openArrowReader(path string) (_ Reader, err error) {
	fh, closeFile, err := fileio.OpenFile(path)
	if err != nil {
		return nil, fmt.Errorf("open dataset: %w", err)
	}
	defer recovered(&err, func() string { return path })
	defer func() {
		if err != nil {
			closeFile()
		}
	}()
	fr, err := ipc.NewFileReader(seekReader{fh, fh, fh}, ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return nil, fmt.Errorf("%s: not an Arrow IPC file: %w", path, err)
	}
	return &recordReader{src: &ipcSource{fr: fr, closeFile: closeFile}, name: fileio.DisplayName(path)}, nil
}

// parquetSource reads a Parquet file one row group at a time, so that an
// error can name the row group it is in.
type parquetSource struct {
	pf        *file.Reader
	fr        *pqarrow.FileReader
	rg        int // the row group rr reads
	rr        pqarrow.RecordReader
	closeFile func() error
}

func (s *parquetSource) next() (rec arrow.Record, err error) {
	defer recovered(&err, func() string {
		return fmt.Sprintf("row group %d of %d", s.rg, s.pf.NumRowGroups())
	})
	for {
		if s.rr == nil {
			if s.rg >= s.pf.NumRowGroups() {
				return nil, io.EOF
			}
			if s.rr, err = s.fr.GetRecordReader(context.Background(), nil, []int{s.rg}); err != nil {
				s.rr = nil
				return nil, fmt.Errorf("row group %d of %d: %w", s.rg, s.pf.NumRowGroups(), err)
			}
		}
		if s.rr.Next() {
			return s.rr.Record(), nil
		}
		if err := s.rr.Err(); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("row group %d of %d: %w", s.rg, s.pf.NumRowGroups(), err)
		}
		s.rr.Release()
		s.rr = nil
		s.rg++
	}
}

func (s *parquetSource) close() (err error) {
	defer func() {
		if cerr := s.closeFile(); err == nil {
			err = cerr
		}
	}()
	defer recovered(&err, func() string { return "close" })
	if s.rr != nil {
		s.rr.Release()
		s.rr = nil
	}
	return s.pf.Close()
}

func openParquetReader(path string) (_ Reader, err error) {
	fh, closeFile, err := fileio.OpenFile(path)
	if err != nil {
		return nil, fmt.Errorf("open dataset: %w", err)
	}
	defer recovered(&err, func() string { return path })
	defer func() {
		if err != nil {
			closeFile()
		}
	}()
	pf, err := file.NewParquetReader(seekReader{fh, fh, fh})
	if err != nil {
		return nil, fmt.Errorf("%s: not a Parquet file: %w", path, err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: arrowBatchRows}, memory.DefaultAllocator)
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &recordReader{src: &parquetSource{pf: pf, fr: fr, closeFile: closeFile}, name: fileio.DisplayName(path)}, nil
}
