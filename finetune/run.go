package finetune

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/autograd/cuda"
	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/dist"
	"github.com/gliner-go/gliner/models"
	"github.com/gliner-go/gliner/train"
)

// Files and folders Run writes into training.output_dir (besides the
// loop's checkpoint-<step>/ and best/).
const (
	RecipeFile  = "recipe.yaml"   // the resolved recipe, defaults included
	MetricsFile = "metrics.jsonl" // one record per step and per evaluation
	PlotFile    = "train.png"     // loss and dev F1 against the step
	LogFile     = "train.log"     // zap JSON log
	FinalDir    = "final"         // the exported GLiNER folder
)

// Options are Run's settings that are not part of the recipe.
type Options struct {
	// Resume continues from the latest checkpoint in output_dir (or starts
	// afresh when there is none). Without it, an output_dir that already
	// holds checkpoints is an error, so a finished run is never silently
	// overwritten or extended.
	Resume bool
	// Logger receives the structured log (nil: none).
	Logger *zap.Logger
	// Progress receives the progress bar (nil: none); a terminal gets a
	// redrawn line. A *train.ProgressHook is used as it is: make it the
	// console log's writer too (NewLogger), so that log lines and the bar
	// share the terminal without running together.
	Progress io.Writer
	// Hooks are further loop hooks, called after the built-in ones.
	Hooks []train.Hook
	// Train, when non-nil, replaces data.train_data with these examples.
	Train []data.Example
	// PostCollate, when set, is called on every training batch after
	// collation (self-training masks its uncertain spans there).
	PostCollate func(*data.Batch) error
	// Comm, with more than one rank (mpirun; see package dist), makes the
	// run one rank of a data-parallel job: train_batch_size stays the
	// global batch, split over the ranks, and rank 0 alone writes
	// output_dir (recipe, log hooks, metrics, plot, checkpoints, final/).
	// Every rank must be given the same recipe and data; Hooks run on
	// every rank. nil: one process.
	Comm dist.Comm
}

// Result summarises a fine-tuning run.
type Result struct {
	Train *train.Result
	// FinalDir is the exported GLiNER folder (the best evaluated weights,
	// else the last ones).
	FinalDir string
	// Dev is the exported model's evaluation on the dev set (nil without
	// one); Dev.Micro().F1 is the run's dev F1.
	Dev *decode.Metrics
	// DevRelations is the relation evaluation of relation-extraction models
	// (strict: both entity spans and the type), nil for the others.
	DevRelations *decode.RelationMetrics
	// ResumedFrom is the checkpoint the run resumed from ("" if none).
	ResumedFrom string
	Source      Source
	// SkippedBatches counts training batches with no entity class to score
	// (every text without entities), which make no update.
	SkippedBatches int
}

// stepModel adapts models.Model to train.Model.
type stepModel struct {
	m       *models.Model
	skipped int
	saved   map[*autograd.Param][]float32
	// reseed, set in data-parallel runs, reseeds the model's random stream
	// before each micro-batch (parallel.reseed).
	reseed func(step, micro int)
}

func (a *stepModel) Store() *autograd.Store { return a.m.Store }

// Step runs forward and backward on one collated batch. The model adds
// d loss/dθ into the gradients; for GradScale ≠ 1 (gradient accumulation)
// this micro-batch's contribution is scaled before it joins the earlier
// ones.
func (a *stepModel) Step(_ context.Context, b *data.Batch, env train.StepEnv) (train.StepOutput, error) {
	if b.NumClasses == 0 {
		a.skipped++
		return train.StepOutput{Grads: []*autograd.Param{}}, nil
	}
	if len(b.Words) == 0 {
		// A data-parallel rank whose share of a small batch is empty.
		return train.StepOutput{Grads: []*autograd.Param{}}, nil
	}
	if a.reseed != nil {
		a.reseed(env.Step, env.Micro)
	}
	params := a.m.TrainedParams(b)
	scale := env.GradScale != 1
	if scale && !autograd.IsHost(a.m.Store.Backend()) {
		return train.StepOutput{}, fmt.Errorf("gradient accumulation (%g per micro-batch) on the %s backend is not supported yet: it scales host gradients", env.GradScale, a.m.Store.Backend().Name())
	}
	if scale {
		if a.saved == nil {
			a.saved = map[*autograd.Param][]float32{}
		}
		// Set the earlier micro-batches' gradients aside.
		for _, p := range a.m.Store.Params() {
			if p.Frozen {
				continue
			}
			buf := a.saved[p]
			if buf == nil {
				buf = make([]float32, len(p.Grad))
				a.saved[p] = buf
			}
			copy(buf, p.Grad)
			clear(p.Grad)
		}
	}
	loss, err := a.m.StepLoss(b)
	if err != nil {
		return train.StepOutput{}, err
	}
	if scale {
		for p, buf := range a.saved {
			for i, g := range p.Grad {
				p.Grad[i] = buf[i] + env.GradScale*g
			}
		}
	}
	if params == nil {
		params = a.m.TrainedParams(b)
	}
	return train.StepOutput{Loss: loss, Grads: params}, nil
}

// collatorConfig is the model's collator (models.Model.CollatorConfig)
// with the tokenizer's model_max_length.
func collatorConfig(m *models.Model, tok interface{ VocabSize() int }) data.CollatorConfig {
	c := m.CollatorConfig()
	if ml, ok := tok.(interface{ ModelMaxLength() int }); ok {
		if n := ml.ModelMaxLength(); n > 0 && n < 1<<20 {
			c.ModelMaxLength = n
		}
	}
	return c
}

// NewLogger returns a logger writing JSON to dir/train.log and, when
// console is not nil, a readable copy to console.
func NewLogger(dir string, console io.Writer) (*zap.Logger, func() error, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("log: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, LogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("log: %w", err)
	}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	cores := []zapcore.Core{zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(f), zap.InfoLevel)}
	if console != nil {
		cenc := zap.NewDevelopmentEncoderConfig()
		cenc.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05")
		cenc.ConsoleSeparator = " "
		cores = append(cores, zapcore.NewCore(zapcore.NewConsoleEncoder(cenc), zapcore.AddSync(console), zap.InfoLevel))
	}
	lg := zap.New(zapcore.NewTee(cores...))
	return lg, func() error { _ = lg.Sync(); return f.Close() }, nil
}

// Run fine-tunes the recipe's UniEncoderSpan model end to end: it reads
// and windows the data, builds the model (BuildModel), trains it with
// train.Run (length-bucketed batches, the reference's AdamW groups and
// schedule, dev evaluation every eval_every steps with best-model keeping
// and early stopping, checkpoints every save_every steps), then exports
// the best weights as a GLiNER folder in output_dir/final and evaluates
// that folder's model on the dev set.
func Run(ctx context.Context, r *Recipe, opts Options) (*Result, error) {
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("recipe: %w", err)
	}
	// Only the CPU runs models today: any other device is refused here,
	// with the reason (build tag, missing GPU, or not wired yet).
	if _, err := cuda.Select("training.device", r.Training.Device); err != nil {
		return nil, fmt.Errorf("recipe: %w", err)
	}
	lg := opts.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	t := &r.Training
	out := t.OutputDir
	par := newParallel(opts.Comm, t.Seed)

	// Where to start.
	var resume string
	if _, err := os.Stat(out); err == nil {
		latest, err := train.LatestCheckpoint(out)
		if err != nil {
			return nil, err
		}
		if latest != "" && !opts.Resume {
			return nil, fmt.Errorf("output_dir %s already holds checkpoints (latest %s): resume with --resume or choose another output_dir", out, latest)
		}
		resume = latest
	}
	if par.writer() {
		if err := os.MkdirAll(out, 0o755); err != nil {
			return nil, fmt.Errorf("output_dir: %w", err)
		}
		if err := writeRecipe(filepath.Join(out, RecipeFile), r, resume != "", lg); err != nil {
			return nil, err
		}
	}

	ds, err := LoadDataWith(r, opts.Train)
	if err != nil {
		return nil, err
	}
	lg.Info("data", zap.String("train", r.Data.TrainData), zap.String("train_report", ds.TrainReport.String()),
		zap.String("dev", r.Data.ValData), zap.String("dev_report", ds.DevReport.String()), zap.Strings("dev_labels", ds.Labels))
	for _, p := range append(append([]data.Problem(nil), ds.TrainReport.Problems...), ds.DevReport.Problems...) {
		lg.Warn("skipped example", zap.String("source", p.Source), zap.String("reason", p.Reason))
	}
	for _, w := range append(append([]data.Warning(nil), ds.TrainReport.Warnings...), ds.DevReport.Warnings...) {
		lg.Warn("data warning", zap.String("source", w.Source), zap.String("reason", w.Reason), zap.Int("examples", w.Count))
	}

	words := Words(ds.Train)
	if r.Model.BiEncoder != nil {
		// A random labels encoder's vocabulary also covers the label words.
		words = append(words, labelWords(ds.Train, ds.Dev)...)
	}
	built, err := BuildModel(r, words)
	if err != nil {
		return nil, err
	}
	mod, tok := built.Model, built.Tokenizer
	if mod.Loss, err = r.LossOptions(); err != nil {
		return nil, err
	}
	for _, c := range t.FreezeComponents {
		n, err := mod.Store.SetFrozen(freezePrefixes[c], true)
		if err != nil {
			return nil, fmt.Errorf("training.freeze_components %q: %w", c, err)
		}
		lg.Info("frozen", zap.String("component", c), zap.Int("params", n))
	}
	for _, prefix := range t.Freeze {
		n, err := mod.Store.SetFrozen(prefix, true)
		if err != nil {
			return nil, fmt.Errorf("training.freeze %q: %w", prefix, err)
		}
		lg.Info("frozen", zap.String("prefix", prefix), zap.Int("params", n))
	}
	lg.Info("model", zap.Stringer("source", built.Source), zap.Int("params", mod.Store.NumParams()),
		zap.Int("vocab_size", mod.Cfg.VocabSize), zap.Int("class_token_index", mod.Cfg.ClassTokenIndex))
	if err := par.check(r, mod); err != nil {
		return nil, err
	}
	if err := par.agree(r, ds, mod, resume); err != nil {
		return nil, err
	}
	if par.multi() {
		lg.Info("data parallel", zap.Int("ranks", par.comm.Size()), zap.Int("global_batch", t.TrainBatchSize))
	}

	ccfg := collatorConfig(mod, tok)
	if long, _ := data.ParseWindowPolicy(r.Data.LongTexts); long == data.WindowTruncate {
		// As the reference: texts over the tokenizer's model_max_length
		// sub-tokens are cut (each cut counted and logged).
		ccfg.Truncation = data.TruncateCompat
	}
	col, err := data.NewCollator(ccfg, tok, built.auxTokenizer(), t.Seed)
	if err != nil {
		return nil, err
	}
	lengths, err := data.TokenLengths(tok, ds.Train)
	if err != nil {
		return nil, fmt.Errorf("data.train_data: %w", err)
	}
	bs, err := NewSampler(r, lengths)
	if err != nil {
		return nil, err
	}
	collate := col.Train
	if types := r.Data.EntityTypes; len(types) > 0 {
		if err := checkEntityTypes(mod, types, ds.Train, lg); err != nil {
			return nil, err
		}
		collate = func(exs []data.Example) (*data.Batch, error) {
			return col.Collate(exs, data.CollateOptions{Labels: [][]string{types}, Targets: true})
		}
	}
	padToBuckets := mod.PadsTrainBatches() && tok.SpecialIDs().Pad >= 0
	sampler := &train.IndexSampler[*data.Batch]{Sampler: bs, Make: func(_ context.Context, idx []int) (*data.Batch, error) {
		exs := make([]data.Example, len(idx))
		for i, j := range idx {
			exs[i] = ds.Train[j]
		}
		b, err := collate(exs)
		if err == nil && opts.PostCollate != nil {
			err = opts.PostCollate(b)
		}
		if err == nil && padToBuckets {
			// Few distinct shapes, so the model's compiled graphs are reused
			// (padded positions are masked: the loss is unchanged).
			err = trainBuckets.Pad(b, int64(tok.SpecialIDs().Pad))
		}
		if err == nil && len(b.Stats.TruncatedTokens)+len(b.Stats.TruncatedWords) > 0 {
			lg.Warn("texts truncated to the tokenizer's model_max_length", zap.Ints("examples", idx),
				zap.Ints("token_cut", b.Stats.TruncatedTokens), zap.Ints("word_cut", b.Stats.TruncatedWords))
		}
		if err == nil {
			// This rank's rows of the global batch (all of them alone).
			b, err = par.rows(b)
		}
		return b, err
	}}

	var eval train.EvalFunc
	evalBatch := t.EvalBatchSize
	if evalBatch == 0 {
		evalBatch = t.TrainBatchSize
	}
	var evalCol *data.Collator
	if ds.Dev != nil {
		if evalCol, err = data.NewCollator(ccfg, tok, built.auxTokenizer(), t.Seed); err != nil {
			return nil, err
		}
		eval = func(context.Context) (*decode.Metrics, error) {
			ents, _, err := par.evaluate(mod, evalCol, ds, evalBatch, t.EvalThreshold, lg)
			return ents, err
		}
	}
	evalEvery := t.EvalEvery
	if eval == nil {
		evalEvery = 0
	}
	saveEvery := t.SaveEvery
	if saveEvery == 0 {
		saveEvery = t.EvalEvery
	}
	sched, _ := train.ParseSchedulerType(t.SchedulerType)
	lrOthers, wdOthers := t.LROthers, t.WeightDecayOther
	cfg := train.Config{
		MaxSteps: t.NumSteps, GradAccum: t.GradientAccumulationSteps, MaxGradNorm: t.MaxGradNorm,
		Scheduler: sched, WarmupSteps: t.WarmupSteps, WarmupRatio: t.WarmupRatio,
		Groups: train.GroupConfig{LR: t.LREncoder, WeightDecay: t.WeightDecayEncoder, OthersLR: &lrOthers, OthersWeightDecay: &wdOthers,
			// reference_compat: an explicit 0 falls back to the encoder value
			// (gliner/model.py create_training_args).
			OrFallback: t.ReferenceCompat},
		Seed: t.Seed, EvalEvery: evalEvery, Patience: t.EarlyStoppingPatience,
		OutputDir: out, SaveEvery: saveEvery, SaveTotalLimit: t.SaveTotalLimit, KeepBest: evalEvery > 0,
		ResumeFrom: resume,
		States: map[string]train.Stateful{
			"collator": train.StateFuncs{Marshal: col.RNGState, Unmarshal: col.SetRNGState},
			// Dropout masks and loss negative sampling: saved so that a
			// resumed run is bit-identical to an uninterrupted one.
			"model_rng": train.StateFuncs{Marshal: mod.RNGState, Unmarshal: mod.SetRNGState},
		},
		// checkpoint-N/ and best/ are model folders (config and tokenizer
		// beside the weights): gliner predict, evaluate, export and
		// model.prev_path take them.
		ModelFiles: func(dir string) error { return models.WriteModelFiles(mod, tok, built.auxTokenizer(), dir) },
	}
	mod.SeedRNG(t.Seed)
	if resume != "" {
		lg.Info("resume", zap.String("checkpoint", resume))
	}
	metrics := filepath.Join(out, MetricsFile)
	hooks := []train.Hook{&train.LogHook{Logger: lg, LogEvery: t.LogEvery}, &train.JSONLHook{Path: metrics, LogBatches: t.LogBatchIndices},
		&train.PlotHook{MetricsPath: metrics, Path: filepath.Join(out, PlotFile)}}
	if opts.Progress != nil {
		ph, ok := opts.Progress.(*train.ProgressHook)
		if !ok {
			ph = train.NewProgress(opts.Progress)
		}
		hooks = append(hooks, ph)
	}
	hooks = par.configure(&cfg, hooks, mod)
	hooks = append(hooks, opts.Hooks...)

	adapter := &stepModel{m: mod, reseed: par.reseed(mod)}
	tres, err := train.Run[*data.Batch](ctx, cfg, adapter, sampler, eval, hooks...)
	if err != nil {
		// The reason a run stopped (NaN, dead gradients, interrupted) goes
		// into train.log as well as to the caller.
		fields := []zap.Field{zap.Error(err)}
		if tres != nil {
			fields = append(fields, zap.Int("step", tres.Steps), zap.String("last_checkpoint", tres.LastCheckpoint))
		}
		lg.Error("training stopped", fields...)
		return &Result{Train: tres, ResumedFrom: resume, Source: built.Source}, err
	}
	res := &Result{Train: tres, ResumedFrom: resume, Source: built.Source, SkippedBatches: adapter.skipped}
	if adapter.skipped > 0 {
		lg.Warn("batches without entity classes made no update", zap.Int("batches", adapter.skipped))
	}
	if !par.writer() {
		// Rank 0 exports and evaluates the final model; the others wait for
		// it, so that a following stage can read final/ (output_dir shared).
		res.FinalDir = filepath.Join(out, FinalDir)
		if err := par.comm.Barrier(); err != nil {
			return nil, fmt.Errorf("wait for rank 0's export: %w", err)
		}
		return res, nil
	}

	// Export the best weights (else the last ones).
	if evalEvery > 0 && tres.BestStep > 0 {
		if err := train.LoadWeights(filepath.Join(out, "best"), mod.Store); err != nil {
			return nil, fmt.Errorf("load best weights: %w", err)
		}
	}
	res.FinalDir = filepath.Join(out, FinalDir)
	if err := models.ExportWith(mod, tok, res.FinalDir, models.ExportOptions{Overwrite: true, AuxTokenizer: built.auxTokenizer()}); err != nil {
		return nil, err
	}
	if par.multi() {
		if err := par.comm.Barrier(); err != nil {
			return nil, fmt.Errorf("release the other ranks after the export: %w", err)
		}
	}
	if ds.Dev != nil {
		final, err := models.Load(res.FinalDir)
		if err != nil {
			return nil, fmt.Errorf("reload exported model: %w", err)
		}
		if res.Dev, res.DevRelations, err = evaluateModel(final, evalCol, ds, evalBatch, t.EvalThreshold, lg); err != nil {
			return nil, err
		}
		mi := res.Dev.Micro()
		lg.Info("final dev evaluation", zap.String("dir", res.FinalDir), zap.Int("best_step", tres.BestStep),
			zap.Float64("precision", round4(mi.Precision)), zap.Float64("recall", round4(mi.Recall)), zap.Float64("f1", round4(mi.F1)))
	}
	lg.Info("exported", zap.String("dir", res.FinalDir))
	return res, nil
}

// NewSampler returns the training batch sampler training.sampler chooses
// over examples with the given sub-token lengths (data.TokenLengths of the
// training examples, in order): data.LengthSampler ("length", the
// default), data.SequentialSampler ("sequential") or data.OrderSampler
// ("order", the batches of training.batch_order).
func NewSampler(r *Recipe, lengths []int) (data.BatchSampler, error) {
	t := &r.Training
	switch t.Sampler {
	case "", SamplerLength:
		return data.NewLengthSampler(lengths, t.TrainBatchSize, t.MegaBatches, t.Seed, false)
	case SamplerSequential:
		return data.NewSequentialSampler(len(lengths), t.TrainBatchSize, false)
	case SamplerOrder:
		batches, err := data.ReadBatchOrder(t.BatchOrder)
		if err != nil {
			return nil, fmt.Errorf("training.batch_order: %w", err)
		}
		s, err := data.NewOrderSampler(batches, len(lengths))
		if err != nil {
			return nil, fmt.Errorf("training.batch_order %s: %w", t.BatchOrder, err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("training.sampler %q: want %s, %s or %s", t.Sampler, SamplerLength, SamplerSequential, SamplerOrder)
}

// checkEntityTypes refuses data.entity_types for a model that also needs
// relation types, and a list none of the training entities has (every
// target would be empty); it logs how many training entities have a type
// outside the list (they are no targets).
func checkEntityTypes(m *models.Model, types []string, train []data.Example, lg *zap.Logger) error {
	if m.Arch.Relex() {
		return fmt.Errorf("data.entity_types: a %v model also samples relation types per example; a fixed entity type list is not supported for it", m.Arch)
	}
	in := map[string]bool{}
	for _, l := range types {
		in[l] = true
	}
	outside, total := map[string]int{}, 0
	for _, ex := range train {
		for _, e := range ex.Entities {
			total++
			if !in[e.Label] {
				outside[e.Label]++
			}
		}
	}
	n := 0
	for _, c := range outside {
		n += c
	}
	if total > 0 && n == total {
		return fmt.Errorf("data.entity_types %q: none of the %d training entities has one of these types (their types: %v)", types, total, sortedKeys(outside))
	}
	if n > 0 {
		lg.Warn("training entities of a type outside data.entity_types are no targets", zap.Int("entities", n), zap.Strings("types", sortedKeys(outside)))
	}
	return nil
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// writeRecipe saves the resolved recipe; on resume it warns when the
// recipe differs from the saved one.
func writeRecipe(path string, r *Recipe, resuming bool, lg *zap.Logger) error {
	b, err := r.YAML()
	if err != nil {
		return fmt.Errorf("recipe: %w", err)
	}
	if resuming {
		if old, err := os.ReadFile(path); err == nil && !bytes.Equal(old, b) {
			lg.Warn("the recipe differs from the one the checkpoints were trained with", zap.String("saved", path))
		}
	}
	return checkpoints.WriteFileAtomic(path, func(w io.Writer) error { _, err := w.Write(b); return err })
}

// trainBuckets are the shape buckets training batches of the uni-encoder
// span and token models are padded to: fine steps (16 tokens, 8 words, 4
// classes), so that padding costs little compute while the number of
// distinct graph shapes stays small. Relex, decoder and bi-encoder batches
// carry tensors the padding does not extend and are not padded.
var trainBuckets = data.ShapeBuckets{T: steps(16, 512, 16), W: steps(8, 512, 8), C: steps(4, 128, 4)}

func steps(from, to, by int) []int {
	var out []int
	for v := from; v <= to; v += by {
		out = append(out, v)
	}
	return out
}

// round4 rounds a ratio to 4 decimals for a log line (the result carries
// the exact value).
func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }
