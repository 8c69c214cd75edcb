package selftrain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/internal/fileio"
)

// UncertainSpan is an entity the teacher is unsure of: inclusive word
// indices, label and score.
type UncertainSpan = Prediction

// WeakExample is one weakly labelled corpus document.
type WeakExample struct {
	// Example holds the words, the confident entities (sorted) and the
	// round's label set (LabelSet, "ner_labels"); Source is "weak:<row>".
	Example data.Example
	// Scores are the teacher's scores of Example.Entities, in order.
	Scores []float64
	// Uncertain are the masked spans.
	Uncertain []UncertainSpan
	// DocSource names the corpus document ("corpus.txt:12").
	DocSource string
}

// Provenance records where weak labels came from; every row of a
// weak-label file carries it.
type Provenance struct {
	// TeacherFingerprint is the sha256 of the teacher's model.safetensors;
	// SecondFingerprint the second teacher's ("" without one).
	TeacherFingerprint string `json:"teacher_fingerprint"`
	SecondFingerprint  string `json:"second_teacher_fingerprint,omitempty"`
	Round              int    `json:"round"`
	// Thresholds is the JSON of the rules and the cutoffs computed from
	// the corpus (see LabelStats).
	Thresholds string `json:"thresholds"`
}

var (
	uncertainStruct = arrow.StructOf(
		arrow.Field{Name: "start", Type: arrow.PrimitiveTypes.Int64},
		arrow.Field{Name: "end", Type: arrow.PrimitiveTypes.Int64},
		arrow.Field{Name: "label", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "score", Type: arrow.PrimitiveTypes.Float64},
	)
	// weakExtraFields are the columns a weak-label file adds to
	// data.ArrowSchema.
	weakExtraFields = []arrow.Field{
		{Name: "ner_scores", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64)},
		{Name: "uncertain", Type: arrow.ListOf(uncertainStruct)},
		{Name: "source", Type: arrow.BinaryTypes.String},
		{Name: "teacher_fingerprint", Type: arrow.BinaryTypes.String},
		{Name: "second_teacher_fingerprint", Type: arrow.BinaryTypes.String},
		{Name: "round", Type: arrow.PrimitiveTypes.Int64},
		{Name: "thresholds", Type: arrow.BinaryTypes.String},
	}
	// WeakSchema is the weak-label file's schema: data.ArrowSchema (so
	// data.OpenReader and `gliner data stats` read it as a dataset) plus
	// ner_scores list<float64>, uncertain list<struct<start, end int64,
	// label string, score float64>>, source, teacher_fingerprint,
	// second_teacher_fingerprint, round int64 and thresholds (JSON).
	WeakSchema = arrow.NewSchema(append(append([]arrow.Field(nil), data.ArrowSchema.Fields()...), weakExtraFields...), nil)
)

const weakBatchRows = 1024

// WeakWriter writes a weak-label Parquet file through internal/fileio: a
// temporary file beside path, renamed to path on Close, so a killed run
// leaves no partial file.
type WeakWriter struct {
	path string
	fh   *fileio.File
	fw   *pqarrow.FileWriter
	b    *array.RecordBuilder
	n    int
	prov Provenance
}

// CreateWeak starts a weak-label file.
func CreateWeak(path string, prov Provenance) (*WeakWriter, error) {
	fh, err := fileio.Create(path)
	if err != nil {
		return nil, fmt.Errorf("weak labels: %w", err)
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy))
	fw, err := pqarrow.NewFileWriter(WeakSchema, fh, props, pqarrow.DefaultWriterProps())
	if err != nil {
		fh.Abort()
		return nil, fmt.Errorf("weak labels %s: %w", path, err)
	}
	return &WeakWriter{path: path, fh: fh, fw: fw, prov: prov,
		b: array.NewRecordBuilder(memory.DefaultAllocator, WeakSchema)}, nil
}

func appendStringList(lb *array.ListBuilder, list []string, nullable bool) {
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

// Write adds one example.
func (w *WeakWriter) Write(ex WeakExample) error {
	e := ex.Example
	if len(ex.Scores) != len(e.Entities) {
		return fmt.Errorf("weak labels %s: %s: %d scores for %d entities", w.path, ex.DocSource, len(ex.Scores), len(e.Entities))
	}
	if len(e.Relations) > 0 {
		return fmt.Errorf("weak labels %s: %s: relations are not weak-labelled", w.path, ex.DocSource)
	}
	f := func(i int) array.Builder { return w.b.Field(i) }
	appendStringList(f(0).(*array.ListBuilder), e.Words, false)
	nb := f(1).(*array.ListBuilder)
	nb.Append(true)
	sb := nb.ValueBuilder().(*array.StructBuilder)
	for _, en := range e.Entities {
		sb.Append(true)
		sb.FieldBuilder(0).(*array.Int64Builder).Append(int64(en.Start))
		sb.FieldBuilder(1).(*array.Int64Builder).Append(int64(en.End))
		sb.FieldBuilder(2).(*array.StringBuilder).Append(en.Label)
	}
	f(2).(*array.ListBuilder).AppendNull()
	appendStringList(f(3).(*array.ListBuilder), e.NegativeTypes, true)
	appendStringList(f(4).(*array.ListBuilder), e.LabelSet, true)
	appendStringList(f(5).(*array.ListBuilder), nil, true)
	appendStringList(f(6).(*array.ListBuilder), nil, true)
	base := len(data.ArrowSchema.Fields())
	scb := f(base).(*array.ListBuilder)
	scb.Append(true)
	for _, s := range ex.Scores {
		scb.ValueBuilder().(*array.Float64Builder).Append(s)
	}
	ub := f(base + 1).(*array.ListBuilder)
	ub.Append(true)
	usb := ub.ValueBuilder().(*array.StructBuilder)
	for _, u := range ex.Uncertain {
		usb.Append(true)
		usb.FieldBuilder(0).(*array.Int64Builder).Append(int64(u.Start))
		usb.FieldBuilder(1).(*array.Int64Builder).Append(int64(u.End))
		usb.FieldBuilder(2).(*array.StringBuilder).Append(u.Label)
		usb.FieldBuilder(3).(*array.Float64Builder).Append(u.Score)
	}
	f(base + 2).(*array.StringBuilder).Append(ex.DocSource)
	f(base + 3).(*array.StringBuilder).Append(w.prov.TeacherFingerprint)
	f(base + 4).(*array.StringBuilder).Append(w.prov.SecondFingerprint)
	f(base + 5).(*array.Int64Builder).Append(int64(w.prov.Round))
	f(base + 6).(*array.StringBuilder).Append(w.prov.Thresholds)
	w.n++
	if w.n >= weakBatchRows {
		return w.flush()
	}
	return nil
}

func (w *WeakWriter) flush() error {
	if w.n == 0 {
		return nil
	}
	w.n = 0
	rec := w.b.NewRecord()
	defer rec.Release()
	if err := w.fw.Write(rec); err != nil {
		return fmt.Errorf("weak labels %s: write: %w", w.path, err)
	}
	return nil
}

// Abort closes and removes the unfinished file.
func (w *WeakWriter) Abort() {
	w.fw.Close()
	w.b.Release()
	w.fh.Abort()
}

// Close finishes the file and moves it into place.
func (w *WeakWriter) Close() error {
	err := w.flush()
	if cerr := w.fw.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("weak labels %s: close: %w", w.path, cerr)
	}
	w.b.Release()
	if err != nil {
		w.fh.Abort()
		return err
	}
	if err := w.fh.Commit(); err != nil {
		return fmt.Errorf("weak labels: %w", err)
	}
	return nil
}

// ReadWeak reads a weak-label file: the examples through the project's
// dataset reader (data.OpenReader, so the file stays a valid dataset) and
// the extra columns beside them. Every row must carry the same provenance.
func ReadWeak(path string) ([]WeakExample, *Provenance, error) {
	exs, err := data.ReadFile(path, data.ReadOptions{Format: data.FormatParquet}, data.FailFast, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("weak labels: %w", err)
	}
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, nil, fmt.Errorf("weak labels %s: %w", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: weakBatchRows}, memory.DefaultAllocator)
	if err != nil {
		return nil, nil, fmt.Errorf("weak labels %s: %w", path, err)
	}
	schema, err := fr.Schema()
	if err != nil {
		return nil, nil, fmt.Errorf("weak labels %s: %w", path, err)
	}
	var cols []int
	for _, f := range weakExtraFields {
		idx := schema.FieldIndices(f.Name)
		if len(idx) == 0 {
			return nil, nil, fmt.Errorf("weak labels %s: no column %q: not a weak-label file (written by selftrain)", path, f.Name)
		}
		if !arrow.TypeEqual(schema.Field(idx[0]).Type, f.Type) {
			return nil, nil, fmt.Errorf("weak labels %s: column %q is %s, want %s", path, f.Name, schema.Field(idx[0]).Type, f.Type)
		}
		cols = append(cols, idx[0])
	}
	// Parquet's column indices count leaves, not fields: read every column
	// and pick the extra ones by field index.
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("weak labels %s: %w", path, err)
	}
	defer rr.Release()
	out := make([]WeakExample, 0, len(exs))
	var prov *Provenance
	row := 0
	for rr.Next() {
		rec := rr.Record()
		scores := rec.Column(cols[0]).(*array.List)
		unc := rec.Column(cols[1]).(*array.List)
		src := rec.Column(cols[2]).(*array.String)
		fp := rec.Column(cols[3]).(*array.String)
		fp2 := rec.Column(cols[4]).(*array.String)
		round := rec.Column(cols[5]).(*array.Int64)
		th := rec.Column(cols[6]).(*array.String)
		for i := 0; i < int(rec.NumRows()); i++ {
			if row >= len(exs) {
				return nil, nil, fmt.Errorf("weak labels %s: more extra-column rows than examples (%d)", path, len(exs))
			}
			p := Provenance{TeacherFingerprint: fp.Value(i), SecondFingerprint: fp2.Value(i), Round: int(round.Value(i)), Thresholds: th.Value(i)}
			if prov == nil {
				prov = &p
			} else if *prov != p {
				return nil, nil, fmt.Errorf("weak labels %s row %d: provenance %+v differs from row 0's %+v", path, row, p, *prov)
			}
			we := WeakExample{Example: exs[row], DocSource: src.Value(i)}
			we.Example.Source = fmt.Sprintf("weak:%d", row)
			s, e := scores.ValueOffsets(i)
			vals := scores.ListValues().(*array.Float64)
			for k := s; k < e; k++ {
				we.Scores = append(we.Scores, vals.Value(int(k)))
			}
			if len(we.Scores) != len(we.Example.Entities) {
				return nil, nil, fmt.Errorf("weak labels %s row %d: %d scores for %d entities", path, row, len(we.Scores), len(we.Example.Entities))
			}
			s, e = unc.ValueOffsets(i)
			st := unc.ListValues().(*array.Struct)
			us, ue := st.Field(0).(*array.Int64), st.Field(1).(*array.Int64)
			ul, usc := st.Field(2).(*array.String), st.Field(3).(*array.Float64)
			for k := int(s); k < int(e); k++ {
				we.Uncertain = append(we.Uncertain, UncertainSpan{Start: int(us.Value(k)), End: int(ue.Value(k)), Label: ul.Value(k), Score: usc.Value(k)})
			}
			for _, u := range we.Uncertain {
				if u.Start < 0 || u.End < u.Start || u.End >= len(we.Example.Words) {
					return nil, nil, fmt.Errorf("weak labels %s row %d: uncertain span [%d, %d] outside the %d words", path, row, u.Start, u.End, len(we.Example.Words))
				}
			}
			out = append(out, we)
			row++
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("weak labels %s: after row %d: %w", path, row, err)
	}
	if row != len(exs) {
		return nil, nil, fmt.Errorf("weak labels %s: %d extra-column rows for %d examples", path, row, len(exs))
	}
	if prov == nil {
		return nil, nil, fmt.Errorf("weak labels %s: no rows", filepath.Base(path))
	}
	return out, prov, nil
}
