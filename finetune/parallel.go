package finetune

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/decode"
	"github.com/gliner-go/gliner/dist"
	"github.com/gliner-go/gliner/losses"
	"github.com/gliner-go/gliner/models"
	"github.com/gliner-go/gliner/train"
)

// parallel is Run's side of a data-parallel job (Options.Comm with more
// than one rank): every rank reads the same data, builds the same model
// and draws the same global batches; rank r trains on its contiguous share
// of each batch's rows (dist.Shard), the gradients are summed before
// clipping (dist.GradReducer), so every rank takes the single-process
// optimizer step. Rank 0 alone writes output_dir.
type parallel struct {
	comm dist.Comm
	seed uint64
}

func newParallel(c dist.Comm, seed uint64) parallel {
	if c == nil {
		c = dist.Single{}
	}
	return parallel{comm: c, seed: seed}
}

func (p parallel) multi() bool { return p.comm.Size() > 1 }

// writer reports whether this rank writes output_dir.
func (p parallel) writer() bool { return p.comm.Rank() == 0 }

// check refuses what a data-parallel run cannot reproduce.
func (p parallel) check(r *Recipe, mod *models.Model) error {
	if !p.multi() {
		return nil
	}
	if red, _ := losses.ParseReduction(r.Training.LossReduction); red == losses.ReductionMean {
		// The mean divides by the number of unmasked elements of the whole
		// batch, which no rank sees; the sum of the ranks' sums is exact.
		return fmt.Errorf("training.loss_reduction mean is not supported with %d data-parallel ranks: use sum (the reference default)", p.comm.Size())
	}
	if mod.Arch.Decoder() {
		return fmt.Errorf("a %v model cannot be trained data-parallel yet (its label-decoder batches are not split over ranks): run it in one process", mod.Arch)
	}
	return nil
}

// agree makes the ranks compare the recipe, the data, the initial weights
// and the checkpoint they resume from; any difference fails on every rank.
func (p parallel) agree(r *Recipe, ds *Datasets, mod *models.Model, resume string) error {
	if !p.multi() {
		return nil
	}
	rb, err := r.YAML()
	if err != nil {
		return fmt.Errorf("recipe: %w", err)
	}
	tr, err := json.Marshal(ds.Train)
	if err != nil {
		return fmt.Errorf("fingerprint the training data: %w", err)
	}
	dv, err := json.Marshal(ds.Dev)
	if err != nil {
		return fmt.Errorf("fingerprint the dev data: %w", err)
	}
	ck := ""
	if resume != "" {
		ck = filepath.Base(resume)
	}
	return dist.Agree(p.comm, []dist.Fingerprint{
		{What: "recipe", Digest: dist.Digest(rb)},
		{What: "training data", Digest: dist.Digest(tr)},
		{What: "dev data", Digest: dist.Digest(dv)},
		{What: "initial weights", Digest: dist.WeightsDigest(mod.Store)},
		{What: "checkpoint to resume from (output_dir must be shared by the ranks)", Digest: dist.Digest([]byte(ck))},
	})
}

// rows is this rank's share of a global batch.
func (p parallel) rows(b *data.Batch) (*data.Batch, error) {
	if !p.multi() {
		return b, nil
	}
	lo, hi := dist.Shard(len(b.Words), p.comm.Rank(), p.comm.Size())
	return b.Rows(lo, hi)
}

// reseed gives the model's random stream (dropout, negative masking) a
// state that depends only on the seed, the step, the micro-batch and the
// rank, so ranks draw independent masks and a resumed run draws the ones
// of an uninterrupted run without saving every rank's stream. It is only
// used with several ranks: a single process keeps its one saved stream.
// The masks then differ from the single-process run's (same distribution,
// other draws); runs without dropout and negative masking are unaffected.
func (p parallel) reseed(mod *models.Model) func(step, micro int) {
	if !p.multi() {
		return nil
	}
	rank := uint64(p.comm.Rank())
	return func(step, micro int) {
		mod.SeedRNG(mix(mix(mix(p.seed^0x6d70692d726e67)+uint64(step)) + uint64(micro)<<32 + rank))
	}
}

// mix is splitmix64's finaliser.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// evaluate is evaluateModel sharded over the ranks: rank r scores the dev
// batches r, r+N, r+2N, … (the same batches a single process scores, so
// every prediction is the same) and the counts are summed on every rank,
// so all ranks see the same F1 (and agree on the best step and early
// stopping). Relation models are evaluated whole on every rank.
func (p parallel) evaluate(m *models.Model, col *data.Collator, ds *Datasets, batchSize int, threshold float64, lg *zap.Logger) (*decode.Metrics, *decode.RelationMetrics, error) {
	if !p.multi() || m.Arch.Relex() {
		return evaluateModel(m, col, ds, batchSize, threshold, lg)
	}
	if batchSize < 1 {
		return nil, nil, fmt.Errorf("evaluate: batch size %d < 1", batchSize)
	}
	var shard []data.Example
	for i, lo := 0, 0; lo < len(ds.Dev); i, lo = i+1, lo+batchSize {
		if i%p.comm.Size() == p.comm.Rank() {
			shard = append(shard, ds.Dev[lo:min(lo+batchSize, len(ds.Dev))]...)
		}
	}
	mine := decode.NewMetrics()
	if len(shard) > 0 {
		var err error
		if mine, _, err = Evaluate(m, col, shard, ds.Labels, batchSize, threshold); err != nil {
			return nil, nil, err
		}
	}
	b, err := mine.MarshalBinary()
	if err != nil {
		return nil, nil, err
	}
	all, err := p.comm.AllGather(b)
	if err != nil {
		return nil, nil, fmt.Errorf("evaluate: gather the ranks' counts: %w", err)
	}
	met := decode.NewMetrics()
	for r, b := range all {
		part := decode.NewMetrics()
		if err := part.UnmarshalBinary(b); err != nil {
			return nil, nil, fmt.Errorf("evaluate: rank %d's counts: %w", r, err)
		}
		met.Merge(part)
	}
	return met, nil, nil
}

// configure makes cfg and hooks those of this rank: the gradient
// reduction on every rank; output_dir, best-model keeping and the writing
// hooks on rank 0 only; a weights check on every rank at every
// checkpoint step.
func (p parallel) configure(cfg *train.Config, hooks []train.Hook, mod *models.Model) []train.Hook {
	if !p.multi() {
		return hooks
	}
	cfg.Reducer = &dist.GradReducer{Comm: p.comm}
	check := &dist.CheckHook{Comm: p.comm, Store: mod.Store, Every: cfg.SaveEvery}
	if !p.writer() {
		cfg.OutputDir, cfg.KeepBest = "", false
		return []train.Hook{check}
	}
	return append([]train.Hook{check}, hooks...)
}
