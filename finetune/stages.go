package finetune

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"

	"go.uber.org/zap"
	"go.yaml.in/yaml/v3"
)

// StageSection is one stage of a multi-stage recipe (the bi-encoder's
// two-stage training: stage 1 aligns label and span representations on a
// large weakly labelled set, stage 2 fine-tunes on a smaller clean one).
// Each stage runs the recipe's sections with these overrides; a field
// left out keeps the recipe's value. Stage 2 onwards start from the
// previous stage's exported best model (its final/ folder, prev_path).
type StageSection struct {
	// Name names the stage and its folder, training.output_dir/<name>.
	Name      string `yaml:"name"`
	TrainData string `yaml:"train_data"`
	ValData   string `yaml:"val_data"`
	// NumSteps, or Epochs (passes over the stage's training set, in
	// batches of train_batch_size: steps = epochs·⌈n/batch⌉).
	NumSteps  int      `yaml:"num_steps"`
	Epochs    int      `yaml:"epochs"`
	LREncoder *float64 `yaml:"lr_encoder"`
	LROthers  *float64 `yaml:"lr_others"`
	// Freeze lists parameter-name prefixes not trained in this stage
	// (replacing training.freeze), e.g. token_rep_layer.labels_encoder.
	Freeze    []string `yaml:"freeze"`
	EvalEvery *int     `yaml:"eval_every"`
}

// UnmarshalYAML rejects unknown keys.
func (s *StageSection) UnmarshalYAML(n *yaml.Node) error {
	if err := checkSectionKeys(n, reflect.TypeOf(StageSection{}), "stages", "stages: each stage"); err != nil {
		return err
	}
	type plain StageSection
	return n.Decode((*plain)(s))
}

func (r *Recipe) validateStages() error {
	seen := map[string]bool{}
	for i, s := range r.Stages {
		if strings.TrimSpace(s.Name) == "" || strings.ContainsAny(s.Name, `/\`) || s.Name == "." || s.Name == ".." {
			return fmt.Errorf("stages[%d]: name %q must be a plain folder name", i, s.Name)
		}
		if seen[s.Name] {
			return fmt.Errorf("stages[%d]: name %q is used twice", i, s.Name)
		}
		seen[s.Name] = true
		if s.NumSteps < 0 || s.Epochs < 0 || (s.NumSteps > 0 && s.Epochs > 0) {
			return fmt.Errorf("stages[%d] %s: give num_steps or epochs (≥ 0, not both): %d, %d", i, s.Name, s.NumSteps, s.Epochs)
		}
		for j, f := range s.Freeze {
			if strings.TrimSpace(f) == "" {
				return fmt.Errorf("stages[%d] %s: freeze[%d] is empty", i, s.Name, j)
			}
		}
	}
	return nil
}

// StageRecipe returns the recipe stage i runs: a copy of r without
// stages, with the stage's overrides, output_dir/<name> as its output and,
// for i > 0, prevDir (the previous stage's exported model) as
// model.prev_path.
func (r *Recipe) StageRecipe(i int, prevDir string) (*Recipe, error) {
	if i < 0 || i >= len(r.Stages) {
		return nil, fmt.Errorf("stage %d of %d", i, len(r.Stages))
	}
	b, err := r.YAML()
	if err != nil {
		return nil, err
	}
	c, err := ParseRecipe(b, "stage")
	if err != nil {
		return nil, err
	}
	s := r.Stages[i]
	c.Stages = nil
	if !isNone(s.TrainData) {
		c.Data.TrainData = s.TrainData
	}
	if s.ValData != "" {
		c.Data.ValData = s.ValData
	}
	if s.NumSteps > 0 {
		c.Training.NumSteps = s.NumSteps
	}
	if s.LREncoder != nil {
		c.Training.LREncoder = *s.LREncoder
	}
	if s.LROthers != nil {
		c.Training.LROthers = *s.LROthers
	}
	if s.EvalEvery != nil {
		c.Training.EvalEvery = *s.EvalEvery
	}
	if s.Freeze != nil {
		c.Training.Freeze = append([]string(nil), s.Freeze...)
	}
	c.Training.OutputDir = filepath.Join(r.Training.OutputDir, s.Name)
	if i > 0 {
		c.Model.PrevPath, c.Model.ModelName, c.Model.EncoderConfig = prevDir, "", nil
		c.Model.BiEncoder, c.Model.Relex, c.Model.Decoder = nil, nil, nil
	}
	if s.Epochs > 0 {
		ds, err := LoadData(c)
		if err != nil {
			return nil, fmt.Errorf("stage %s: %w", s.Name, err)
		}
		per := (len(ds.Train) + c.Training.TrainBatchSize - 1) / c.Training.TrainBatchSize
		c.Training.NumSteps = max(1, s.Epochs*per)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("stage %s: %w", s.Name, err)
	}
	return c, nil
}

// StageResult is one finished stage.
type StageResult struct {
	Name string
	*Result
}

// RunStages runs a multi-stage recipe's stages in order (each with Run,
// into training.output_dir/<name>), stage i+1 starting from stage i's
// exported best model. Options apply to every stage (with Resume each
// stage continues from its own latest checkpoint).
func RunStages(ctx context.Context, r *Recipe, opts Options) ([]StageResult, error) {
	if len(r.Stages) == 0 {
		return nil, fmt.Errorf("recipe has no stages: use Run")
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("recipe: %w", err)
	}
	lg := opts.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	var out []StageResult
	prev := ""
	for i, s := range r.Stages {
		c, err := r.StageRecipe(i, prev)
		if err != nil {
			return out, err
		}
		lg.Info("stage", zap.Int("stage", i+1), zap.String("name", s.Name), zap.String("train", c.Data.TrainData),
			zap.Int("num_steps", c.Training.NumSteps), zap.Strings("freeze", c.Training.Freeze), zap.String("prev_path", c.Model.PrevPath))
		res, err := Run(ctx, c, opts)
		if err != nil {
			return out, fmt.Errorf("stage %s: %w", s.Name, err)
		}
		out = append(out, StageResult{Name: s.Name, Result: res})
		prev = res.FinalDir
	}
	return out, nil
}
