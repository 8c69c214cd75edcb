package selftrain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/dist"
	"github.com/gliner-go/gliner/train"
)

// Config is a self-training run.
type Config struct {
	// OutputDir receives round-NNN/ folders, report.jsonl and report.png.
	OutputDir string
	// Teacher is the round-1 teacher's model folder.
	Teacher string
	// SecondTeacher is an optional second model folder whose predictions
	// must agree (Rules.AgreeThreshold); it stays fixed over the rounds.
	SecondTeacher string
	Corpus        Corpus
	Rules         Rules
	// Rounds is the most rounds (≥ 1).
	Rounds int
	// Patience stops after this many rounds without a dev F1 better than
	// the best so far (the teacher's included) by more than MinDelta;
	// 0 never stops early. It needs Dev.
	Patience int
	MinDelta float64
	// Dev scores every round's student (and the first teacher).
	Dev []data.Example
	// Gold are labelled examples mixed into each student's training set
	// so that they make GoldRatio of it (0 ≤ GoldRatio < 1).
	Gold      []data.Example
	GoldRatio float64
	// LabelSmoothing of the student's loss.
	LabelSmoothing float64
	// Seed: round k trains with Seed+k and mixes gold with Seed+k.
	Seed uint64
	// Batch is the number of documents per teacher call.
	Batch int
}

// Env are the components a run uses.
type Env struct {
	LoadTeacher TeacherLoader
	Student     Student
	// Evaluator scores models on Config.Dev (required with a dev set).
	Evaluator Evaluator
	Logger    *zap.Logger
	// Out receives each round's result: its dev F1 line and a table of
	// the weak labels per label; nil: none.
	Out io.Writer
	// Progress, when set, shows the teacher's labelling (documents) and
	// each student's steps.
	Progress *train.ProgressHook
	// Comm, with more than one rank (mpirun; see package dist), makes the
	// run one rank of a data-parallel job: rank 0 alone evaluates, labels
	// the corpus and writes output_dir; every rank reads rank 0's weak
	// labels back, checks by fingerprint that it holds the same training
	// set, and trains the student data-parallel (the Student must take
	// part in the job, as FinetuneStudent with Comm does); the round
	// reports are rank 0's, sent to every rank. nil: one process.
	Comm dist.Comm
}

// RoundReport is one line of report.jsonl. Round 0 is the first teacher.
type RoundReport struct {
	Round     int                `json:"round"`
	Teacher   string             `json:"teacher"`
	Model     string             `json:"model"`
	DevF1     *float64           `json:"dev_f1,omitempty"`
	DevLabels map[string]float64 `json:"dev_f1_per_label,omitempty"`
	Labelling *LabelStats        `json:"weak_labels,omitempty"`
	// TrainExamples is the student's training set size (weak + gold).
	TrainExamples int  `json:"train_examples,omitempty"`
	GoldExamples  int  `json:"gold_examples,omitempty"`
	Steps         int  `json:"steps,omitempty"`
	Best          bool `json:"best"`
}

// Result is a finished run.
type Result struct {
	Rounds []RoundReport
	// BestModel is the model folder with the best dev F1 (the last student
	// without a dev set); BestRound its round (0: the teacher).
	BestModel string
	BestRound int
	// Reason is "rounds" or "early_stopping".
	Reason string
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.OutputDir == "" {
		return fmt.Errorf("selftrain: output_dir is required")
	}
	if c.Teacher == "" {
		return fmt.Errorf("selftrain: no teacher model folder")
	}
	if c.Rounds < 1 {
		return fmt.Errorf("selftrain: rounds %d must be ≥ 1", c.Rounds)
	}
	if c.Patience < 0 || !(c.MinDelta >= 0) {
		return fmt.Errorf("selftrain: patience %d and min_delta %g must be ≥ 0", c.Patience, c.MinDelta)
	}
	if c.Patience > 0 && len(c.Dev) == 0 {
		return fmt.Errorf("selftrain: early stopping (patience %d) needs a dev set: give dev_data or set patience 0", c.Patience)
	}
	if !(c.GoldRatio >= 0 && c.GoldRatio < 1) {
		return fmt.Errorf("selftrain: gold_ratio %g must be in [0, 1)", c.GoldRatio)
	}
	if c.GoldRatio > 0 && len(c.Gold) == 0 {
		return fmt.Errorf("selftrain: gold_ratio %g but no gold data", c.GoldRatio)
	}
	if !(c.LabelSmoothing >= 0 && c.LabelSmoothing < 1) {
		return fmt.Errorf("selftrain: label_smoothing %g must be in [0, 1)", c.LabelSmoothing)
	}
	return c.Rules.Validate()
}

// RoundDir is the folder of round k.
func RoundDir(out string, k int) string { return filepath.Join(out, fmt.Sprintf("round-%03d", k)) }

// Files of a round folder.
const (
	WeakFile    = "weak.parquet"
	RoundFile   = "round.json"
	TrainDir    = "train"
	ModelDir    = "model"
	ReportJSONL = "report.jsonl"
	ReportPNG   = "report.png"
)

// Mix returns the student's training set: the weak examples, then gold
// examples drawn (seeded, cycling through shuffled copies) until they make
// ratio of the whole; gold examples keep their Source.
func Mix(weak []WeakExample, gold []data.Example, ratio float64, seed uint64) (train []data.Example, nGold int) {
	train = make([]data.Example, 0, len(weak))
	for _, w := range weak {
		train = append(train, w.Example)
	}
	if ratio <= 0 || len(gold) == 0 {
		return train, 0
	}
	n := int(ratio/(1-ratio)*float64(len(weak)) + 0.5)
	rng := rand.New(rand.NewPCG(seed, 0x73656c66))
	var perm []int
	for i := 0; i < n; i++ {
		if i%len(gold) == 0 {
			perm = rng.Perm(len(gold))
		}
		train = append(train, gold[perm[i%len(gold)]])
	}
	return train, n
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return checkpoints.WriteFileAtomic(path, func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err })
}

func readJSON(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	return true, nil
}

func scoreOf(m *decode.Metrics) (*float64, map[string]float64) {
	if m == nil {
		return nil, nil
	}
	f := m.Micro().F1
	per := map[string]float64{}
	for _, s := range m.PerLabel() {
		per[s.Label] = s.F1
	}
	return &f, per
}

// Run self-trains: round k labels the corpus with its teacher, trains a
// student and scores it; the student teaches round k+1. Finished rounds
// (round.json present) are read back, not redone, so a killed run restarted
// with the same configuration continues where it stopped.
func Run(ctx context.Context, cfg Config, env Env) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if env.LoadTeacher == nil || env.Student == nil {
		return nil, fmt.Errorf("selftrain: no teacher loader or student trainer")
	}
	if len(cfg.Dev) > 0 && env.Evaluator == nil {
		return nil, fmt.Errorf("selftrain: a dev set needs an evaluator")
	}
	lg := env.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	say := func(format string, a ...any) {
		if env.Out != nil {
			fmt.Fprintf(env.Out, format+"\n", a...)
		}
	}
	if err := checkCorpus(ctx, cfg.Corpus); err != nil {
		return nil, err
	}
	comm := env.Comm
	if comm == nil {
		comm = dist.Single{}
	}
	writer := comm.Rank() == 0
	if err := os.MkdirAll(cfg.OutputDir, 0o755); err != nil {
		return nil, fmt.Errorf("selftrain: %w", err)
	}
	var second Teacher
	if cfg.SecondTeacher != "" && writer {
		var err error
		if second, err = env.LoadTeacher(cfg.SecondTeacher); err != nil {
			return nil, fmt.Errorf("selftrain: second teacher: %w", err)
		}
	}
	res := &Result{Reason: "rounds"}
	// Round 0: the first teacher.
	r0 := RoundReport{Round: 0, Model: cfg.Teacher}
	done := false
	if writer {
		var err error
		if done, err = readJSON(filepath.Join(RoundDir(cfg.OutputDir, 0), RoundFile), &r0); err != nil {
			return nil, fmt.Errorf("selftrain: %w", err)
		}
	}
	if writer && !done {
		if _, err := env.LoadTeacher(cfg.Teacher); err != nil {
			return nil, fmt.Errorf("selftrain: teacher: %w", err)
		}
		if len(cfg.Dev) > 0 {
			m, err := env.Evaluator.Evaluate(ctx, cfg.Teacher, cfg.Dev)
			if err != nil {
				return nil, fmt.Errorf("selftrain: evaluate teacher %s: %w", cfg.Teacher, err)
			}
			r0.DevF1, r0.DevLabels = scoreOf(m)
		}
		if err := os.MkdirAll(RoundDir(cfg.OutputDir, 0), 0o755); err != nil {
			return nil, err
		}
		if err := writeJSON(filepath.Join(RoundDir(cfg.OutputDir, 0), RoundFile), r0); err != nil {
			return nil, fmt.Errorf("selftrain: %w", err)
		}
	}
	if err := share(comm, &r0); err != nil {
		return nil, fmt.Errorf("selftrain: round 0: %w", err)
	}
	best, bestF1, since := 0, -1.0, 0
	if r0.DevF1 != nil {
		bestF1 = *r0.DevF1
		say("round 0 (teacher %s): dev F1 %.4f", cfg.Teacher, bestF1)
	}
	res.Rounds = append(res.Rounds, r0)
	res.BestModel = cfg.Teacher
	teacherDir := cfg.Teacher
	for k := 1; k <= cfg.Rounds; k++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		rr, err := runRound(ctx, cfg, env, lg, k, teacherDir, second)
		if err != nil {
			return res, fmt.Errorf("selftrain: round %d: %w", k, err)
		}
		teacherDir = rr.Model
		improved := rr.DevF1 == nil || *rr.DevF1 > bestF1+cfg.MinDelta
		if rr.DevF1 == nil {
			best, res.BestModel = k, rr.Model
		} else if improved {
			best, bestF1, since, res.BestModel = k, *rr.DevF1, 0, rr.Model
		} else {
			since++
		}
		res.Rounds = append(res.Rounds, *rr)
		if rr.DevF1 != nil {
			say("round %d: dev F1 %.4f (best %.4f, round %d); %d weak examples, %d training steps", k, *rr.DevF1, bestF1, best, rr.Labelling.Examples, rr.Steps)
		} else {
			say("round %d: %d weak examples, %d training steps (no dev set)", k, rr.Labelling.Examples, rr.Steps)
		}
		if env.Out != nil {
			fmt.Fprint(env.Out, rr.Labelling.Table(rr.DevLabels))
		}
		if cfg.Patience > 0 && since >= cfg.Patience {
			res.Reason = "early_stopping"
			lg.Info("early stopping", zap.Int("round", k), zap.Int("best_round", best), zap.Float64("best_f1", bestF1))
			break
		}
	}
	res.BestRound = best
	for i := range res.Rounds {
		res.Rounds[i].Best = res.Rounds[i].Round == best
	}
	if writer {
		if err := WriteReport(cfg.OutputDir, res.Rounds); err != nil {
			return res, err
		}
	}
	return res, nil
}

// errFirstDoc stops checkCorpus's read at the first document.
var errFirstDoc = errors.New("first document")

// checkCorpus reads the corpus up to its first document, so that a
// missing, unreadable or empty corpus fails before the run writes
// anything (not after the first teacher's evaluation).
func checkCorpus(ctx context.Context, c Corpus) error {
	if _, err := ReadCorpus(ctx, c, 1, func([]Doc) error { return errFirstDoc }); err != nil && !errors.Is(err, errFirstDoc) {
		return err
	}
	return nil
}

// share makes v, on every rank, rank 0's v (sent as JSON); with one
// process it does nothing.
func share(c dist.Comm, v any) error {
	if c.Size() == 1 {
		return nil
	}
	var b []byte
	if c.Rank() == 0 {
		var err error
		if b, err = json.Marshal(v); err != nil {
			return err
		}
	}
	all, err := c.AllGather(b)
	if err != nil {
		return fmt.Errorf("receive rank 0's state: %w", err)
	}
	if c.Rank() != 0 {
		if err := json.Unmarshal(all[0], v); err != nil {
			return fmt.Errorf("rank 0's state: %w", err)
		}
	}
	return nil
}

func runRound(ctx context.Context, cfg Config, env Env, lg *zap.Logger, k int, teacherDir string, second Teacher) (*RoundReport, error) {
	dir := RoundDir(cfg.OutputDir, k)
	rr := &RoundReport{Round: k, Teacher: teacherDir}
	comm := env.Comm
	if comm == nil {
		comm = dist.Single{}
	}
	writer := comm.Rank() == 0
	done := false
	if writer {
		var err error
		if done, err = readJSON(filepath.Join(dir, RoundFile), rr); err != nil {
			return nil, err
		}
	}
	if err := share(comm, &done); err != nil {
		return nil, err
	}
	if done {
		lg.Info("round already done", zap.Int("round", k), zap.String("dir", dir))
		return rr, share(comm, rr)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	weakPath := filepath.Join(dir, WeakFile)
	var stats LabelStats
	var weak []WeakExample
	if writer {
		var err error
		if weak, stats, err = weakLabels(ctx, cfg, env, lg, k, dir, teacherDir, second); err != nil {
			return nil, err
		}
	}
	if comm.Size() > 1 {
		// Rank 0 has written the weak labels: every rank trains on them.
		if err := comm.Barrier(); err != nil {
			return nil, fmt.Errorf("wait for rank 0's weak labels: %w", err)
		}
		if err := share(comm, &stats); err != nil {
			return nil, err
		}
		if !writer {
			var err error
			if weak, _, err = ReadWeak(weakPath); err != nil {
				return nil, fmt.Errorf("rank %d (output_dir must be shared by the ranks): %w", comm.Rank(), err)
			}
		}
		wb, err := json.Marshal(weak)
		if err != nil {
			return nil, fmt.Errorf("fingerprint the weak labels: %w", err)
		}
		if err := dist.Agree(comm, []dist.Fingerprint{{What: fmt.Sprintf("weak labels of round %d (%s)", k, weakPath), Digest: dist.Digest(wb)}}); err != nil {
			return nil, err
		}
	}
	rr.Labelling = &stats
	lg.Info("weak labels", zap.Int("round", k), zap.Int("examples", stats.Examples), zap.Any("confident", stats.Confident),
		zap.Any("uncertain", stats.Uncertain), zap.Strings("dropped", stats.Dropped), zap.Int("invalid_utf8", stats.Corpus.InvalidUTF8))
	trainSet, nGold := Mix(weak, cfg.Gold, cfg.GoldRatio, cfg.Seed+uint64(k))
	rr.TrainExamples, rr.GoldExamples = len(trainSet), nGold
	job := StudentJob{Round: k, InitDir: teacherDir, Train: trainSet, Dev: cfg.Dev,
		OutputDir: filepath.Join(dir, TrainDir), ModelDir: filepath.Join(dir, ModelDir),
		Seed: cfg.Seed + uint64(k), LabelSmoothing: cfg.LabelSmoothing, Progress: env.Progress}
	if cfg.Rules.MaskUncertain {
		job.Masker = NewMasker(weak)
	}
	sr, err := env.Student.Train(ctx, job)
	if err != nil {
		return nil, fmt.Errorf("student: %w", err)
	}
	rr.Model, rr.Steps = sr.ModelDir, sr.Steps
	if !writer {
		// Rank 0 evaluates and writes the round; every rank continues
		// from its report.
		return rr, share(comm, rr)
	}
	if len(cfg.Dev) > 0 {
		m, err := env.Evaluator.Evaluate(ctx, sr.ModelDir, cfg.Dev)
		if err != nil {
			return nil, fmt.Errorf("evaluate student %s: %w", sr.ModelDir, err)
		}
		rr.DevF1, rr.DevLabels = scoreOf(m)
	}
	if err := writeJSON(filepath.Join(dir, RoundFile), rr); err != nil {
		return nil, err
	}
	return rr, share(comm, rr)
}

// weakLabels labels the corpus with round k's teacher (or reads back the
// weak labels an earlier run of the round wrote) and returns them with
// their statistics.
func weakLabels(ctx context.Context, cfg Config, env Env, lg *zap.Logger, k int, dir, teacherDir string, second Teacher) ([]WeakExample, LabelStats, error) {
	var stats LabelStats
	teacher, err := env.LoadTeacher(teacherDir)
	if err != nil {
		return nil, stats, fmt.Errorf("teacher: %w", err)
	}
	weakPath := filepath.Join(dir, WeakFile)
	statsPath := filepath.Join(dir, "weak_stats.json")
	haveStats, err := readJSON(statsPath, &stats)
	if err != nil {
		return nil, stats, err
	}
	weak, prov, err := []WeakExample(nil), (*Provenance)(nil), error(nil)
	if _, serr := os.Stat(weakPath); serr == nil && haveStats {
		if weak, prov, err = ReadWeak(weakPath); err != nil {
			return nil, stats, err
		}
		if prov.TeacherFingerprint != teacher.Fingerprint() {
			return nil, stats, fmt.Errorf("%s was labelled by teacher %s, but this round's teacher %s is %s: remove the file to relabel",
				weakPath, prov.TeacherFingerprint, teacherDir, teacher.Fingerprint())
		}
		lg.Info("weak labels reused", zap.String("file", weakPath))
	} else {
		st, err := Label(ctx, LabelJob{Corpus: cfg.Corpus, Teacher: teacher, Second: second, Rules: cfg.Rules, Round: k,
			Out: weakPath, Spill: filepath.Join(dir, "predictions.jsonl"), Batch: cfg.Batch, Progress: env.Progress})
		if err != nil {
			return nil, stats, err
		}
		stats = *st
		if st.Corpus.InvalidUTF8 > 0 {
			lg.Warn("corpus lines skipped: invalid UTF-8", zap.Int("count", st.Corpus.InvalidUTF8), zap.Strings("lines", st.Corpus.Skipped))
		}
		if err := writeJSON(statsPath, stats); err != nil {
			return nil, stats, err
		}
		if weak, _, err = ReadWeak(weakPath); err != nil {
			return nil, stats, err
		}
	}
	return weak, stats, nil
}
