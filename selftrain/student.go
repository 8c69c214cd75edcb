package selftrain

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/finetune"
	"github.com/gliner-go/gliner/infer"
	"github.com/gliner-go/gliner/models"
	"github.com/gliner-go/gliner/train"
)

// MaskingStudent trains students with uncertain spans masked: the same
// pieces as finetune.Run (finetune.BuildModel from the teacher folder,
// the recipe's loss, optimizer groups, schedule and checkpoints,
// finetune.Evaluate on the dev set, finetune.Export) around the one loop,
// train.Run, with Masker.Apply run on every collated training batch.
// finetune.Run has no post-collation hook yet; once it has one
// (finetune.Options.PostCollate), FinetuneStudent can take over and this
// type can go. It supports gradient_accumulation_steps 1 and no frozen
// components.
type MaskingStudent struct {
	// Base is the student recipe (its model source is replaced by the
	// teacher folder).
	Base   *finetune.Recipe
	Logger *zap.Logger
}

// maskingModel adapts models.Model to train.Model (one micro-batch per
// step).
type maskingModel struct{ m *models.Model }

func (a maskingModel) Store() *autograd.Store { return a.m.Store }

func (a maskingModel) Step(_ context.Context, b *data.Batch, env train.StepEnv) (train.StepOutput, error) {
	if b.NumClasses == 0 {
		return train.StepOutput{Grads: []*autograd.Param{}}, nil
	}
	if env.GradScale != 1 {
		return train.StepOutput{}, fmt.Errorf("masking student: gradient accumulation is not supported")
	}
	out, err := a.m.Step(b)
	if err != nil {
		return train.StepOutput{}, err
	}
	return train.StepOutput{Loss: out.Loss, Grads: a.m.TrainedParams(b)}, nil
}

// Train implements Student.
func (s *MaskingStudent) Train(ctx context.Context, job StudentJob) (*StudentResult, error) {
	r := *s.Base
	t := &r.Training
	r.Model.PrevPath, r.Model.ModelName, r.Model.EncoderConfig = job.InitDir, "", nil
	t.LabelSmoothing, t.Seed, t.OutputDir = job.LabelSmoothing, job.Seed, job.OutputDir
	r.Data.TrainData = "(weak labels)"
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("student recipe: %w", err)
	}
	if t.GradientAccumulationSteps != 1 || len(t.FreezeComponents) > 0 {
		return nil, fmt.Errorf("student recipe: uncertain-span masking supports gradient_accumulation_steps 1 and no freeze_components (have %d, %v)",
			t.GradientAccumulationSteps, t.FreezeComponents)
	}
	lg := s.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	lg = lg.With(zap.Int("round", job.Round))
	out := job.OutputDir
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	resume, err := train.LatestCheckpoint(out)
	if err != nil {
		return nil, err
	}
	built, err := finetune.BuildModel(&r, nil)
	if err != nil {
		return nil, fmt.Errorf("student: %w", err)
	}
	mod, tok := built.Model, built.Tokenizer
	if mod.Arch != models.UniEncoderSpan {
		return nil, fmt.Errorf("student %s: a %v model; students are trained as %v only (finetune's evaluation and collator)", job.InitDir, mod.Arch, models.UniEncoderSpan)
	}
	if mod.Loss, err = r.LossOptions(); err != nil {
		return nil, err
	}
	cc := data.DefaultCollatorConfig(data.UniEncoderSpan)
	cc.MaxWidth, cc.MaxTypes, cc.MaxLen, cc.MaxNegTypeRatio = mod.Cfg.MaxWidth, mod.Cfg.MaxTypes, mod.Cfg.MaxLen, mod.Cfg.MaxNegTypeRatio
	cc.EntToken, cc.SepToken = mod.Cfg.EntToken, mod.Cfg.SepToken
	if ml, ok := tok.(interface{ ModelMaxLength() int }); ok {
		if n := ml.ModelMaxLength(); n > 0 && n < 1<<20 {
			cc.ModelMaxLength = n
		}
	}
	col, err := data.NewCollator(cc, tok, nil, t.Seed)
	if err != nil {
		return nil, err
	}
	for i, ex := range job.Train {
		if len(ex.Words) > mod.Cfg.MaxLen {
			return nil, fmt.Errorf("student: training example %d (%s) has %d words, more than max_len %d (split the corpus documents)",
				i, ex.Source, len(ex.Words), mod.Cfg.MaxLen)
		}
	}
	lengths, err := data.TokenLengths(tok, job.Train)
	if err != nil {
		return nil, fmt.Errorf("student: %w", err)
	}
	ls, err := data.NewLengthSampler(lengths, t.TrainBatchSize, t.MegaBatches, t.Seed, false)
	if err != nil {
		return nil, err
	}
	masked := 0
	sampler := &train.IndexSampler[*data.Batch]{Sampler: ls, Make: func(_ context.Context, idx []int) (*data.Batch, error) {
		exs := make([]data.Example, len(idx))
		for i, j := range idx {
			exs[i] = job.Train[j]
		}
		b, err := col.Train(exs)
		if err != nil {
			return nil, err
		}
		st, err := job.Masker.Apply(b)
		masked += st.Cells
		return b, err
	}}
	var eval train.EvalFunc
	evalEvery := t.EvalEvery
	if len(job.Dev) > 0 && evalEvery > 0 {
		evalCol, err := data.NewCollator(cc, tok, nil, t.Seed)
		if err != nil {
			return nil, err
		}
		labels := infer.DataLabels(job.Dev)
		eb := t.EvalBatchSize
		if eb == 0 {
			eb = t.TrainBatchSize
		}
		eval = func(context.Context) (*decode.Metrics, error) {
			return finetune.Evaluate(mod, evalCol, job.Dev, labels, eb, t.EvalThreshold)
		}
	} else {
		evalEvery = 0
	}
	saveEvery := t.SaveEvery
	if saveEvery == 0 {
		saveEvery = t.EvalEvery
	}
	sched, err := train.ParseSchedulerType(t.SchedulerType)
	if err != nil {
		return nil, err
	}
	lrOthers, wdOthers := t.LROthers, t.WeightDecayOther
	cfg := train.Config{
		MaxSteps: t.NumSteps, GradAccum: 1, MaxGradNorm: t.MaxGradNorm,
		Scheduler: sched, WarmupSteps: t.WarmupSteps, WarmupRatio: t.WarmupRatio,
		Groups: train.GroupConfig{LR: t.LREncoder, WeightDecay: t.WeightDecayEncoder, OthersLR: &lrOthers, OthersWeightDecay: &wdOthers},
		Seed:   t.Seed, EvalEvery: evalEvery, Patience: t.EarlyStoppingPatience,
		OutputDir: out, SaveEvery: saveEvery, SaveTotalLimit: t.SaveTotalLimit, KeepBest: evalEvery > 0,
		ResumeFrom: resume,
		States:     map[string]train.Stateful{"collator": train.StateFuncs{Marshal: col.RNGState, Unmarshal: col.SetRNGState}},
	}
	if evalEvery == 0 {
		cfg.Patience = 0
	}
	metrics := filepath.Join(out, finetune.MetricsFile)
	hooks := []train.Hook{&train.LogHook{Logger: lg, LogEvery: t.LogEvery}, &train.JSONLHook{Path: metrics},
		&train.PlotHook{MetricsPath: metrics, Path: filepath.Join(out, finetune.PlotFile)}}
	if resume != "" {
		lg.Info("resume", zap.String("checkpoint", resume))
	}
	tres, err := train.Run[*data.Batch](ctx, cfg, maskingModel{mod}, sampler, eval, hooks...)
	if err != nil {
		return nil, err
	}
	lg.Info("student trained", zap.Int("steps", tres.Steps), zap.Int("masked_label_cells", masked), zap.Float64("best_f1", tres.BestF1))
	if evalEvery > 0 && tres.BestStep > 0 {
		if err := train.LoadWeights(filepath.Join(out, "best"), mod.Store); err != nil {
			return nil, fmt.Errorf("load best weights: %w", err)
		}
	}
	final := filepath.Join(out, finetune.FinalDir)
	if err := finetune.Export(mod, tok, final); err != nil {
		return nil, err
	}
	return &StudentResult{ModelDir: final, Steps: tres.Steps}, nil
}
