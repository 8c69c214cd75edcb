package finetune

import (
	"context"
	"fmt"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/models"
	"github.com/gliner-go/gliner/train"
)

// The pieces Run puts together, for a training loop of one's own (see
// ExampleStepModel): BuildModel and LoadData give the model and the
// examples; NewTrainCollator the collator Run uses; NewSampler the batch
// order of the recipe (or any data.BatchSampler); PadTrainBatch the shape
// padding Run applies to each training batch; StepModel the train.Model
// that train.Run (or a hand-written loop) steps.

// StepModel adapts a models.Model to train.Model[*data.Batch]: Step runs
// forward and backward on one collated batch, adding d loss/dθ into the
// parameters' gradients (scaled by StepEnv.GradScale when accumulating),
// and reports the parameters that received one. A batch without entity
// classes makes no update and is counted (SkippedBatches). It is the
// adapter finetune.Run trains with.
type StepModel struct {
	a stepModel
}

// NewStepModel returns m as a train.Model.
func NewStepModel(m *models.Model) *StepModel { return &StepModel{a: stepModel{m: m}} }

// Store implements train.Model.
func (s *StepModel) Store() *autograd.Store { return s.a.Store() }

// Step implements train.Model.
func (s *StepModel) Step(ctx context.Context, b *data.Batch, env train.StepEnv) (train.StepOutput, error) {
	return s.a.Step(ctx, b, env)
}

// Model is the adapted model.
func (s *StepModel) Model() *models.Model { return s.a.m }

// SkippedBatches counts the batches without entity classes Step was given
// (no update).
func (s *StepModel) SkippedBatches() int { return s.a.skipped }

// CollatorConfig is the collator configuration Run uses for m: the model's
// own (models.Model.CollatorConfig) with the tokenizer's model_max_length.
func CollatorConfig(m *models.Model, tok tokenizer.Tokenizer) data.CollatorConfig {
	return collatorConfig(m, tok)
}

// NewTrainCollator returns the collator Run trains b's model with, seeded
// with seed (training.seed in Run): CollatorConfig, b's tokenizer and, for
// span decoders and bi-encoders, their second tokenizer. truncate makes
// texts over the tokenizer's model_max_length be cut, as data.long_texts
// "truncate" does in Run.
func NewTrainCollator(b *Built, seed uint64, truncate bool) (*data.Collator, error) {
	if b == nil || b.Model == nil || b.Tokenizer == nil {
		return nil, fmt.Errorf("train collator: no model or tokenizer")
	}
	c := collatorConfig(b.Model, b.Tokenizer)
	if truncate {
		c.Truncation = data.TruncateCompat
	}
	col, err := data.NewCollator(c, b.Tokenizer, b.auxTokenizer(), seed)
	if err != nil {
		return nil, fmt.Errorf("train collator: %w", err)
	}
	return col, nil
}

// TrainBuckets are the shape buckets Run pads training batches to (fine
// steps of 16 sub-tokens, 8 words and 4 classes), so that the model's
// compiled graphs are reused; padded positions are masked and the loss is
// unchanged.
func TrainBuckets() data.ShapeBuckets { return trainBuckets }

// PadTrainBatch pads a training batch of b's model to TrainBuckets as Run
// does, when the model's training batches may be padded
// (models.Model.PadsTrainBatches) and the tokenizer has a padding token;
// otherwise it leaves the batch as it is.
func PadTrainBatch(b *Built, batch *data.Batch) error {
	pad := b.Tokenizer.SpecialIDs().Pad
	if !b.Model.PadsTrainBatches() || pad < 0 {
		return nil
	}
	if err := trainBuckets.Pad(batch, int64(pad)); err != nil {
		return fmt.Errorf("pad training batch: %w", err)
	}
	return nil
}
