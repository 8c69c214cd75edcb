package selftrain

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"go.uber.org/zap"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/dist"
	"github.com/gliner-go/gliner/finetune"
	"github.com/gliner-go/gliner/infer"
	"github.com/gliner-go/gliner/models"
)

// InferTeacher is a Teacher backed by the inference pipeline (windowing,
// batching, flat decoding at the low threshold).
type InferTeacher struct {
	P           *infer.Pipeline
	BatchSize   int
	fingerprint string
}

// LoadTeacher opens a GLiNER model folder as a teacher (an export, or a
// training checkpoint-<step>/ or best/, which hold config and tokenizer
// beside the weights). A folder that is not a model folder (e.g. a
// weights-only checkpoint of an older run), or a model of
// an architecture that does not predict entities with the pipeline
// (relation extraction, label decoder), is an error naming the folder.
func LoadTeacher(dir string) (Teacher, error) {
	cfgPath := filepath.Join(dir, "gliner_config.json")
	if _, err := os.Stat(cfgPath); err != nil {
		hint := ""
		if _, e2 := os.Stat(filepath.Join(dir, "trainer_state.json")); e2 == nil {
			hint = " (this is a weights-only training checkpoint of an older run: use the exported folder, e.g. <output_dir>/final)"
		}
		return nil, fmt.Errorf("teacher %s: not a GLiNER model folder: no gliner_config.json%s", dir, hint)
	}
	cfg, err := models.LoadConfig(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("teacher %s: %w", dir, err)
	}
	arch, err := cfg.Architecture()
	if err != nil {
		return nil, fmt.Errorf("teacher %s: %w", dir, err)
	}
	if arch.Relex() || arch.Decoder() {
		return nil, fmt.Errorf("teacher %s: a %v model cannot teach entity labels here (the pipeline predicts with span/token NER models)", dir, arch)
	}
	fp, err := Fingerprint(dir)
	if err != nil {
		return nil, fmt.Errorf("teacher %s: %w", dir, err)
	}
	p, err := infer.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("teacher: %w", err)
	}
	return &InferTeacher{P: p, BatchSize: 16, fingerprint: fp}, nil
}

// Predict implements Teacher.
func (t *InferTeacher) Predict(_ context.Context, docs []Doc, labels []string, minScore float64) ([][]Prediction, error) {
	exs := make([]data.Example, len(docs))
	for i, d := range docs {
		exs[i] = data.Example{Words: d.Words, Source: d.Source}
	}
	o := infer.DefaultOptions()
	o.Threshold, o.BatchSize = minScore, t.BatchSize
	res, err := t.P.PredictExamples(exs, labels, o)
	if err != nil {
		return nil, err
	}
	out := make([][]Prediction, len(docs))
	for i, ents := range res.Entities {
		for _, e := range ents {
			out[i] = append(out[i], Prediction{Start: e.StartWord, End: e.EndWord, Label: e.Label, Score: e.Score})
		}
	}
	return out, nil
}

// Fingerprint implements Teacher.
func (t *InferTeacher) Fingerprint() string { return t.fingerprint }

// InferEvaluator scores model folders with infer's Evaluate over Labels
// (nil: the dev set's labels) as `gliner evaluate` does by default and as
// a student's training run scores its dev set: threshold 0.5, flat
// decoding (EvalOptions).
type InferEvaluator struct {
	Labels []string
}

// EvalOptions are InferEvaluator's decoding options: infer.EvalOptions
// with flat decoding, the dev evaluation of finetune.Run.
func EvalOptions() infer.Options {
	o := infer.EvalOptions()
	o.FlatNER = true
	return o
}

// Evaluate implements Evaluator.
func (e InferEvaluator) Evaluate(_ context.Context, dir string, dev []data.Example) (*decode.Metrics, error) {
	p, err := infer.Load(dir)
	if err != nil {
		return nil, err
	}
	return p.Evaluate(dev, e.Labels, EvalOptions())
}

// FinetuneStudent trains students with finetune.Run (the training loop
// train.Run with the recipe's optimizer, schedule, checkpoints, best-model
// keeping and export): model.prev_path is the round's teacher,
// data.train_data the round's training set written as Parquet beside the
// checkpoints, training.label_smoothing and training.seed the job's.
type FinetuneStudent struct {
	// Base is the student recipe (its model source is replaced).
	Base *finetune.Recipe
	// DevPath is data.val_data ("" or "none": no evaluation while training).
	DevPath string
	Logger  *zap.Logger
	// Comm makes every student one data-parallel training over the job's
	// ranks (finetune.Options.Comm); nil: one process.
	Comm dist.Comm
}

// Train implements Student.
func (s *FinetuneStudent) Train(ctx context.Context, job StudentJob) (*StudentResult, error) {
	r := *s.Base
	r.Model.PrevPath, r.Model.ModelName, r.Model.EncoderConfig = job.InitDir, "", nil
	if err := os.MkdirAll(job.OutputDir, 0o755); err != nil {
		return nil, err
	}
	// The weak examples go to the loop in memory: their sources key the
	// uncertain-span masking, and a file round trip would rename them.
	r.Data.TrainData = "(weak labels of round " + strconv.Itoa(job.Round) + ")"
	r.Data.ValData = s.DevPath
	if s.DevPath == "" {
		r.Data.ValData = "none"
		r.Training.EvalEvery, r.Training.EarlyStoppingPatience = 0, 0
	}
	r.Training.LabelSmoothing = job.LabelSmoothing
	r.Training.Seed = job.Seed
	r.Training.OutputDir = job.OutputDir
	lg := s.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	opts := finetune.Options{Resume: true, Logger: lg.With(zap.Int("round", job.Round)), Train: job.Train, Comm: s.Comm}
	if job.Progress != nil {
		job.Progress.Name = fmt.Sprintf("round %d: student", job.Round)
		opts.Progress = job.Progress
	}
	if job.Masker != nil {
		maxLen := r.Model.MaxLen
		for i, ex := range job.Train {
			if maxLen > 0 && len(ex.Words) > maxLen {
				return nil, fmt.Errorf("student: training example %d (%s) has %d words, more than max_len %d; uncertain-span masking needs whole documents (split the corpus)",
					i, ex.Source, len(ex.Words), maxLen)
			}
		}
		masked := 0
		opts.PostCollate = func(b *data.Batch) error {
			st, err := job.Masker.Apply(b)
			masked += st.Cells
			return err
		}
		defer func() { lg.Info("uncertain spans masked", zap.Int("round", job.Round), zap.Int("label_cells", masked)) }()
	}
	res, err := finetune.Run(ctx, &r, opts)
	if err != nil {
		return nil, err
	}
	return &StudentResult{ModelDir: res.FinalDir, Steps: res.Train.Steps}, nil
}
