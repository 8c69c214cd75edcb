package selftrain

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/train"
)

// LabelStats summarises one weak-labelling pass.
type LabelStats struct {
	Corpus CorpusStats `json:"corpus"`
	// Predictions counts the teacher's predictions (score ≥ Low) per label.
	Predictions map[string]int `json:"predictions"`
	// Confident and Uncertain count the weak entities and masked spans
	// per label, after dropping labels below their minimum count.
	Confident map[string]int `json:"confident"`
	Uncertain map[string]int `json:"uncertain"`
	// Dropped lists the labels below their minimum count (left out of the
	// round's label set).
	Dropped []string `json:"dropped,omitempty"`
	// Cutoffs are the top-fraction score cutoffs per label (null when the
	// rule does not use them; +Inf is written as null).
	Cutoffs map[string]*float64 `json:"cutoffs,omitempty"`
	// Examples is the number of weak examples written.
	Examples int `json:"examples"`
}

// Table formats the counts per label, one row per label (sorted): the
// teacher's predictions, the confident weak entities and the uncertain
// (masked) spans, with the round's dev F1 per label when devF1 has it
// (nil: no column), and a total row; dropped labels are marked.
func (s *LabelStats) Table(devF1 map[string]float64) string {
	set := map[string]bool{}
	for _, m := range []map[string]int{s.Predictions, s.Confident, s.Uncertain} {
		for l := range m {
			set[l] = true
		}
	}
	for _, l := range s.Dropped {
		set[l] = true
	}
	dropped := map[string]bool{}
	for _, l := range s.Dropped {
		dropped[l] = true
	}
	labels := make([]string, 0, len(set))
	width := len("label")
	for l := range set {
		labels = append(labels, l)
		n := len(l)
		if dropped[l] {
			n += len(" (dropped)")
		}
		width = max(width, n)
	}
	sort.Strings(labels)
	var b strings.Builder
	row := func(label string, pred, conf, unc string, f1 string) {
		line := fmt.Sprintf("  %-*s %11s %9s %9s", width, label, pred, conf, unc)
		if devF1 != nil {
			line += fmt.Sprintf(" %7s", f1)
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	row("label", "predictions", "confident", "uncertain", "dev F1")
	var tp, tc, tu int
	for _, l := range labels {
		f1 := "-"
		if v, ok := devF1[l]; ok {
			f1 = fmt.Sprintf("%.4f", v)
		}
		name := l
		if dropped[l] {
			name += " (dropped)"
		}
		row(name, fmt.Sprint(s.Predictions[l]), fmt.Sprint(s.Confident[l]), fmt.Sprint(s.Uncertain[l]), f1)
		tp, tc, tu = tp+s.Predictions[l], tc+s.Confident[l], tu+s.Uncertain[l]
	}
	row("total", fmt.Sprint(tp), fmt.Sprint(tc), fmt.Sprint(tu), "")
	return b.String()
}

// LabelJob is one weak-labelling pass.
type LabelJob struct {
	Corpus  Corpus
	Teacher Teacher
	// Second is an optional second teacher that must agree.
	Second Teacher
	Rules  Rules
	Round  int
	// Out is the weak-label Parquet file; Spill the file of raw
	// predictions the passes re-read (deleted at the end).
	Out, Spill string
	// Batch is the number of documents per teacher call (default 32).
	Batch int
	// Progress, when set, shows the documents labelled so far.
	Progress *train.ProgressHook
}

type spillRecord struct {
	Source  string       `json:"source"`
	Words   []string     `json:"words"`
	Primary []Prediction `json:"p"`
	Second  []Prediction `json:"s,omitempty"`
}

// thresholdsJSON is the provenance "thresholds" column.
type thresholdsJSON struct {
	Rules   Rules               `json:"rules"`
	Cutoffs map[string]*float64 `json:"cutoffs,omitempty"`
	Dropped []string            `json:"dropped,omitempty"`
}

// Label runs the teacher over the corpus and writes the weak-label file.
// Pass 1 predicts (the only pass that calls the teacher) and spills the
// raw predictions; pass 2 computes the top-fraction cutoffs and counts
// confident entities per label (minimum counts); pass 3 writes the file.
func Label(ctx context.Context, job LabelJob) (*LabelStats, error) {
	r := &job.Rules
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if job.Teacher == nil {
		return nil, fmt.Errorf("weak labels: no teacher")
	}
	st := &LabelStats{Predictions: map[string]int{}, Confident: map[string]int{}, Uncertain: map[string]int{}}
	known := map[string]bool{}
	for _, l := range r.Labels {
		known[l] = true
	}
	// Pass 1.
	sf, err := os.Create(job.Spill)
	if err != nil {
		return nil, fmt.Errorf("weak labels: %w", err)
	}
	defer os.Remove(job.Spill)
	bw := bufio.NewWriter(sf)
	enc := json.NewEncoder(bw)
	scores := map[string][]float64{}
	check := func(who string, d Doc, ps []Prediction) error {
		for _, p := range ps {
			if !known[p.Label] || p.Start < 0 || p.End < p.Start || p.End >= len(d.Words) || math.IsNaN(p.Score) {
				return fmt.Errorf("weak labels: %s teacher: %s: bad prediction %+v (%d words, labels %v)", who, d.Source, p, len(d.Words), r.Labels)
			}
		}
		return nil
	}
	labelled := 0
	if job.Progress != nil {
		job.Progress.Begin(fmt.Sprintf("round %d: teacher labels the corpus", job.Round), 0)
		defer job.Progress.End()
	}
	cst, err := ReadCorpus(ctx, job.Corpus, job.Batch, func(docs []Doc) error {
		p1, err := job.Teacher.Predict(ctx, docs, r.Labels, r.Low)
		if err != nil {
			return fmt.Errorf("weak labels: teacher: %w", err)
		}
		if job.Progress != nil {
			labelled += len(docs)
			job.Progress.Update(labelled, "documents")
		}
		var p2 [][]Prediction
		if job.Second != nil {
			if p2, err = job.Second.Predict(ctx, docs, r.Labels, r.Low); err != nil {
				return fmt.Errorf("weak labels: second teacher: %w", err)
			}
		}
		if len(p1) != len(docs) || (job.Second != nil && len(p2) != len(docs)) {
			return fmt.Errorf("weak labels: teacher returned %d/%d prediction lists for %d documents", len(p1), len(p2), len(docs))
		}
		for i, d := range docs {
			rec := spillRecord{Source: d.Source, Words: d.Words, Primary: p1[i]}
			if err := check("first", d, p1[i]); err != nil {
				return err
			}
			if job.Second != nil {
				rec.Second = p2[i]
				if err := check("second", d, p2[i]); err != nil {
					return err
				}
			}
			sortPredictions(rec.Primary)
			sortPredictions(rec.Second)
			for _, p := range rec.Primary {
				scores[p.Label] = append(scores[p.Label], p.Score)
				st.Predictions[p.Label]++
			}
			if err := enc.Encode(rec); err != nil {
				return fmt.Errorf("weak labels: spill %s: %w", job.Spill, err)
			}
		}
		return nil
	})
	if cst != nil {
		st.Corpus = *cst
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := sf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return st, err
	}
	var cut map[string]float64
	if r.Mode != ModeThreshold {
		cut = TopFractionCutoffs(scores, r.Labels, r.TopFraction)
		st.Cutoffs = map[string]*float64{}
		for l, v := range cut {
			if !math.IsInf(v, 0) {
				st.Cutoffs[l] = &v
			} else {
				st.Cutoffs[l] = nil
			}
		}
	}
	// Pass 2: confident counts → dropped labels.
	counts := map[string]int{}
	if err := eachSpill(job.Spill, func(rec spillRecord) error {
		conf, _ := r.Decide(rec.Primary, rec.Second, cut, job.Second != nil)
		for _, p := range conf {
			counts[p.Label]++
		}
		return nil
	}); err != nil {
		return st, err
	}
	drop := map[string]bool{}
	var kept []string
	for _, l := range r.Labels {
		if counts[l] < r.minCount(l) {
			drop[l] = true
			st.Dropped = append(st.Dropped, l)
		} else {
			kept = append(kept, l)
		}
	}
	if len(kept) == 0 {
		return st, fmt.Errorf("weak labels: no label reached its minimum count (confident entities per label: %v; min count %d)", counts, r.MinCount)
	}
	// Pass 3: write.
	th, err := json.Marshal(thresholdsJSON{Rules: *r, Cutoffs: st.Cutoffs, Dropped: st.Dropped})
	if err != nil {
		return st, err
	}
	prov := Provenance{TeacherFingerprint: job.Teacher.Fingerprint(), Round: job.Round, Thresholds: string(th)}
	if job.Second != nil {
		prov.SecondFingerprint = job.Second.Fingerprint()
	}
	w, err := CreateWeak(job.Out, prov)
	if err != nil {
		return st, err
	}
	err = eachSpill(job.Spill, func(rec spillRecord) error {
		conf, unc := r.Decide(rec.Primary, rec.Second, cut, job.Second != nil)
		we := WeakExample{DocSource: rec.Source, Example: data.Example{Words: rec.Words, LabelSet: kept,
			Source: fmt.Sprintf("weak:%d", st.Examples)}}
		for _, p := range conf {
			if drop[p.Label] {
				continue
			}
			we.Example.Entities = append(we.Example.Entities, data.Entity{Start: p.Start, End: p.End, Label: p.Label})
			we.Scores = append(we.Scores, p.Score)
			st.Confident[p.Label]++
		}
		for _, p := range unc {
			if drop[p.Label] {
				continue
			}
			we.Uncertain = append(we.Uncertain, p)
			st.Uncertain[p.Label]++
		}
		st.Examples++
		return w.Write(we)
	})
	if err != nil {
		w.Abort()
		return st, err
	}
	if err := w.Close(); err != nil {
		return st, err
	}
	sort.Strings(st.Dropped)
	return st, nil
}

func eachSpill(path string, fn func(spillRecord) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("weak labels: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	line := 0
	for sc.Scan() {
		line++
		var rec spillRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return fmt.Errorf("weak labels: spill %s:%d: %w", path, line, err)
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("weak labels: spill %s: %w", path, err)
	}
	return nil
}
