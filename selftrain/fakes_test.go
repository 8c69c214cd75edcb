package selftrain

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
)

// fakeTeacher predicts from a model folder's "model.safetensors", which
// here holds a number: the teacher's "skill". Capitalised words become
// entities; the label and the score are a hash of (word, skill), so they
// are deterministic and change with the teacher.
type fakeTeacher struct {
	skill uint64
	fp    string
}

func loadFakeTeacher(dir string) (Teacher, error) {
	b, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return nil, fmt.Errorf("teacher %s: %w", dir, err)
	}
	s, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("teacher %s: not a fake model: %w", dir, err)
	}
	fp, err := Fingerprint(dir)
	if err != nil {
		return nil, err
	}
	return &fakeTeacher{skill: s, fp: fp}, nil
}

func hash64(parts ...string) uint64 {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return binary.LittleEndian.Uint64(h[:8])
}

func (t *fakeTeacher) Predict(_ context.Context, docs []Doc, labels []string, minScore float64) ([][]Prediction, error) {
	out := make([][]Prediction, len(docs))
	for i, d := range docs {
		for w, word := range d.Words {
			if word == "" || word[0] < 'A' || word[0] > 'Z' {
				continue
			}
			h := hash64(word, strconv.FormatUint(t.skill, 10))
			score := float64(h%1000) / 1000
			if score >= minScore {
				out[i] = append(out[i], Prediction{Start: w, End: w, Label: labels[h%uint64(len(labels))], Score: score})
			}
		}
	}
	return out, nil
}

func (t *fakeTeacher) Fingerprint() string { return t.fp }

func writeFakeModel(dir string, skill uint64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "model.safetensors"), []byte(strconv.FormatUint(skill, 10)), 0o644)
}

// fakeStudent "trains" in Steps steps, each folding a hash of the training
// set, the seed and the step into the state, and writes a checkpoint
// (state.json) after every step, so it resumes from the last finished step.
// failAt makes Train fail (as if killed) after that many steps in total.
type fakeStudent struct {
	Steps  int
	failAt int
	done   int // steps run by this fake, over all calls
	jobs   []StudentJob
}

var errKilled = errors.New("killed")

type fakeState struct {
	Step  int    `json:"step"`
	State uint64 `json:"state"`
}

func (s *fakeStudent) Train(_ context.Context, job StudentJob) (*StudentResult, error) {
	s.jobs = append(s.jobs, job)
	b, err := os.ReadFile(filepath.Join(job.InitDir, "model.safetensors"))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(job.OutputDir, 0o755); err != nil {
		return nil, err
	}
	ckpt := filepath.Join(job.OutputDir, "state.json")
	st := fakeState{State: hash64(string(b))}
	if _, err := readJSON(ckpt, &st); err != nil {
		return nil, err
	}
	trainJSON, _ := json.Marshal(job.Train)
	for st.Step < s.Steps {
		if s.failAt > 0 && s.done == s.failAt {
			return nil, errKilled
		}
		st.State = hash64(strconv.FormatUint(st.State, 10), string(trainJSON), strconv.FormatUint(job.Seed, 10),
			strconv.Itoa(st.Step), strconv.FormatFloat(job.LabelSmoothing, 'g', -1, 64))
		st.Step++
		s.done++
		if err := writeJSON(ckpt, st); err != nil {
			return nil, err
		}
	}
	if err := writeFakeModel(job.ModelDir, st.State); err != nil {
		return nil, err
	}
	return &StudentResult{ModelDir: job.ModelDir, Steps: st.Step}, nil
}

// fakeEvaluator scores a fake model: its dev metrics are its teacher's
// predictions at 0.5 against the dev gold.
type fakeEvaluator struct{}

func (fakeEvaluator) Evaluate(ctx context.Context, dir string, dev []data.Example) (*decode.Metrics, error) {
	t, err := loadFakeTeacher(dir)
	if err != nil {
		return nil, err
	}
	docs := make([]Doc, len(dev))
	for i, ex := range dev {
		docs[i] = Doc{Words: ex.Words}
	}
	preds, err := t.Predict(ctx, docs, []string{"person", "place"}, 0.5)
	if err != nil {
		return nil, err
	}
	m := decode.NewMetrics()
	for i, ex := range dev {
		var p, g []decode.Span
		for _, x := range preds[i] {
			p = append(p, decode.Span{Start: x.Start, End: x.End, Label: x.Label})
		}
		for _, e := range ex.Entities {
			g = append(g, decode.Span{Start: e.Start, End: e.End, Label: e.Label})
		}
		m.Add(p, g)
	}
	return m, nil
}

func fingerprintHex(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
