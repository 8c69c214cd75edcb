package selftrain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.uber.org/zap"
	"go.yaml.in/yaml/v3"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/dist"
	"github.com/gliner-go/gliner/finetune"
	"github.com/gliner-go/gliner/infer"
	"github.com/gliner-go/gliner/internal/fileio"
	"github.com/gliner-go/gliner/train"
)

// Recipe is a self-training recipe (recipes/selftrain.yaml documents
// every field), decoded strictly: an unknown key is an error.
type Recipe struct {
	OutputDir string  `yaml:"output_dir"`
	Seed      uint64  `yaml:"seed"`
	Rounds    int     `yaml:"rounds"`
	Patience  int     `yaml:"patience"`
	MinDelta  float64 `yaml:"min_delta"`
	// DevData is the development set ("" or "none": no dev set).
	DevData string        `yaml:"dev_data"`
	Teacher TeacherRecipe `yaml:"teacher"`
	Corpus  CorpusRecipe  `yaml:"corpus"`
	Weak    WeakRecipe    `yaml:"weak_labels"`
	Student StudentRecipe `yaml:"student"`
}

// TeacherRecipe says where the first teacher comes from: an existing
// GLiNER folder (Model), or a fine-tune (Recipe) on the first GoldExamples
// examples of that recipe's train_data.
type TeacherRecipe struct {
	Model         string   `yaml:"model"`
	Recipe        string   `yaml:"recipe"`
	GoldExamples  int      `yaml:"gold_examples"`
	Sets          []string `yaml:"sets"`
	SecondTeacher string   `yaml:"second_teacher"`
}

// CorpusRecipe names the unlabelled corpus.
type CorpusRecipe struct {
	Files []string `yaml:"files"`
	// UnusedGold adds the teacher recipe's train_data examples past
	// gold_examples to the corpus, labels removed.
	UnusedGold bool `yaml:"unused_gold"`
	Batch      int  `yaml:"batch"`
}

// WeakRecipe holds the weak-labelling rules (see Rules).
type WeakRecipe struct {
	Labels         []string           `yaml:"labels"`
	Rule           string             `yaml:"rule"`
	Threshold      float64            `yaml:"threshold"`
	Thresholds     map[string]float64 `yaml:"thresholds"`
	Low            float64            `yaml:"low"`
	TopFraction    float64            `yaml:"top_fraction"`
	MinCount       int                `yaml:"min_count"`
	MinCounts      map[string]int     `yaml:"min_counts"`
	AgreeThreshold float64            `yaml:"agree_threshold"`
	MaskUncertain  bool               `yaml:"mask_uncertain"`
}

// StudentRecipe configures each round's student.
type StudentRecipe struct {
	// Recipe is the finetune recipe of the students (default: the
	// teacher's); Sets override it.
	Recipe         string   `yaml:"recipe"`
	Sets           []string `yaml:"sets"`
	LabelSmoothing float64  `yaml:"label_smoothing"`
	GoldRatio      float64  `yaml:"gold_ratio"`
}

// DefaultRecipe is what a recipe's missing fields take.
func DefaultRecipe() Recipe {
	return Recipe{OutputDir: "runs/selftrain", Seed: 42, Rounds: 3,
		Corpus:  CorpusRecipe{Batch: 32},
		Weak:    WeakRecipe{Rule: "threshold", Threshold: 0.5, Low: 0.3, MaskUncertain: true},
		Student: StudentRecipe{LabelSmoothing: 0.1}}
}

// ParseRecipe decodes a recipe strictly over DefaultRecipe, then applies
// the "key.path=value" overrides in order (values are YAML; lists and maps
// replace the recipe's). Errors name the file and line, or the override.
func ParseRecipe(b []byte, name string, sets []string) (*Recipe, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("recipe %s: %w", name, err)
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		root = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	// The file itself first, so errors carry its own line numbers.
	r := DefaultRecipe()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("recipe %s: %w", name, err)
	}
	var err error
	for _, s := range sets {
		if err := setNode(root.Content[0], s); err != nil {
			return nil, fmt.Errorf("recipe %s: %w", name, err)
		}
		var rr *Recipe
		if rr, err = decodeRecipe(&root); err != nil {
			return nil, fmt.Errorf("recipe %s: --set %s: %w", name, s, err)
		}
		r = *rr
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("recipe %s: %w", name, err)
	}
	return &r, nil
}

func decodeRecipe(root *yaml.Node) (*Recipe, error) {
	r := DefaultRecipe()
	if len(root.Content) == 0 {
		return &r, nil
	}
	out, err := yaml.Marshal(root)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return &r, nil
}

// LoadRecipe reads and parses a recipe file ("-": standard input).
func LoadRecipe(path string, sets []string) (*Recipe, error) {
	b, err := fileio.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("recipe: %w", err)
	}
	return ParseRecipe(b, path, sets)
}

func setNode(n *yaml.Node, assign string) error {
	path, value, ok := strings.Cut(assign, "=")
	if !ok || strings.TrimSpace(path) == "" {
		return fmt.Errorf("--set %q: want key.path=value", assign)
	}
	var val yaml.Node
	if err := yaml.Unmarshal([]byte(value), &val); err != nil {
		return fmt.Errorf("--set %s: value %q: %w", path, value, err)
	}
	v := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: ""}
	if len(val.Content) > 0 {
		v = val.Content[0]
	}
	parts := strings.Split(strings.TrimSpace(path), ".")
	for i, p := range parts {
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("--set %s: %s is not a section", path, strings.Join(parts[:i], "."))
		}
		var next *yaml.Node
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == p {
				next = n.Content[j+1]
				if i == len(parts)-1 {
					n.Content[j+1] = v
				}
				break
			}
		}
		if next == nil {
			next = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			if i == len(parts)-1 {
				next = v
			}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p}, next)
		}
		n = next
	}
	return nil
}

// Validate checks what can be checked before reading any file.
func (r *Recipe) Validate() error {
	if isNone(r.OutputDir) {
		return fmt.Errorf("output_dir is required")
	}
	if (r.Teacher.Model == "") == (r.Teacher.Recipe == "") {
		return fmt.Errorf("teacher: set exactly one of model (a GLiNER folder) and recipe (a finetune recipe to train one)")
	}
	if r.Teacher.Recipe != "" && r.Teacher.GoldExamples < 0 {
		return fmt.Errorf("teacher.gold_examples %d must be ≥ 0 (0: all of train_data)", r.Teacher.GoldExamples)
	}
	if r.Student.Recipe == "" && r.Teacher.Recipe == "" {
		return fmt.Errorf("student.recipe is required when the teacher is not trained from a recipe")
	}
	if r.Patience > 0 && isNone(r.DevData) {
		return fmt.Errorf("patience %d (early stopping over rounds) needs a dev set: set dev_data, or patience 0", r.Patience)
	}
	if len(r.Corpus.Files) == 0 && !r.Corpus.UnusedGold {
		return fmt.Errorf("corpus: no files (corpus.files) and unused_gold false: nothing to label")
	}
	if _, err := ParseRuleMode(r.Weak.Rule); err != nil {
		return fmt.Errorf("weak_labels.rule: %w", err)
	}
	return nil
}

func isNone(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "none", "null":
		return true
	}
	return false
}

// RunOptions are RunRecipe's settings outside the recipe.
type RunOptions struct {
	Logger *zap.Logger
	// Out receives the per-round lines and weak-label tables.
	Out io.Writer
	// Progress, when set, shows the first teacher's training steps, each
	// round's labelling and each student's steps.
	Progress *train.ProgressHook
	// Comm, with more than one rank, makes the run one rank of a
	// data-parallel job (Env.Comm): the first teacher and every student
	// train data-parallel, rank 0 alone labels, evaluates and writes.
	// nil: one process.
	Comm dist.Comm
}

// RunRecipe runs a recipe end to end: it trains the first teacher when the
// recipe asks for one (resuming its checkpoints), reads the dev, gold and
// corpus data, and calls Run with the inference pipeline as teacher and
// evaluator and finetune.Run as the student trainer.
func RunRecipe(ctx context.Context, r *Recipe, o RunOptions) (*Result, error) {
	lg := o.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	if !r.Corpus.UnusedGold {
		// The corpus alone is what the teacher labels: check it before a
		// teacher is trained.
		if err := checkCorpus(ctx, Corpus{Paths: r.Corpus.Files}); err != nil {
			return nil, err
		}
	}
	comm := o.Comm
	if comm == nil {
		comm = dist.Single{}
	}
	if err := os.MkdirAll(r.OutputDir, 0o755); err != nil {
		return nil, err
	}
	cfg := Config{OutputDir: r.OutputDir, Rounds: r.Rounds, Patience: r.Patience, MinDelta: r.MinDelta,
		Seed: r.Seed, LabelSmoothing: r.Student.LabelSmoothing, GoldRatio: r.Student.GoldRatio,
		SecondTeacher: r.Teacher.SecondTeacher, Batch: r.Corpus.Batch}
	cfg.Corpus.Paths = r.Corpus.Files
	devPath := ""
	if !isNone(r.DevData) {
		devPath = r.DevData
		dev, err := data.ReadFile(devPath, data.ReadOptions{}, data.FailFast, nil)
		if err != nil {
			return nil, fmt.Errorf("dev_data: %w", err)
		}
		cfg.Dev = dev
	}
	studentPath := r.Student.Recipe
	if studentPath == "" {
		studentPath = r.Teacher.Recipe
	}
	// The first teacher.
	cfg.Teacher = r.Teacher.Model
	if r.Teacher.Recipe != "" {
		tr, err := finetune.LoadRecipe(r.Teacher.Recipe, r.Teacher.Sets)
		if err != nil {
			return nil, fmt.Errorf("teacher: %w", err)
		}
		all, err := data.ReadFile(tr.Data.TrainData, data.ReadOptions{}, data.FailFast, nil)
		if err != nil {
			return nil, fmt.Errorf("teacher: train_data: %w", err)
		}
		n := r.Teacher.GoldExamples
		if n == 0 || n > len(all) {
			n = len(all)
		}
		cfg.Gold = all[:n]
		if r.Corpus.UnusedGold {
			for _, ex := range all[n:] {
				cfg.Corpus.Extra = append(cfg.Corpus.Extra, data.Example{Words: ex.Words, Source: ex.Source})
			}
		}
		tdir := filepath.Join(RoundDir(r.OutputDir, 0), "teacher")
		goldPath := filepath.Join(RoundDir(r.OutputDir, 0), "gold.jsonl")
		if err := os.MkdirAll(tdir, 0o755); err != nil {
			return nil, err
		}
		trained := false
		final := filepath.Join(tdir, finetune.FinalDir)
		if comm.Rank() == 0 {
			if err := data.WriteFile(goldPath, data.FormatJSONL, cfg.Gold); err != nil {
				return nil, err
			}
			_, err := os.Stat(filepath.Join(final, "model.safetensors"))
			trained = err == nil
		}
		// Every rank reads rank 0's gold file and its answer.
		if err := comm.Barrier(); err != nil {
			return nil, fmt.Errorf("teacher: %w", err)
		}
		if err := share(comm, &trained); err != nil {
			return nil, fmt.Errorf("teacher: %w", err)
		}
		tr.Data.TrainData = goldPath
		tr.Training.OutputDir = tdir
		if !trained {
			lg.Info("training the first teacher", zap.String("recipe", r.Teacher.Recipe), zap.Int("gold_examples", n))
			if o.Out != nil {
				fmt.Fprintf(o.Out, "training the teacher on %d labelled examples (%s)\n", n, r.Teacher.Recipe)
			}
			topts := finetune.Options{Resume: true, Logger: lg.With(zap.String("stage", "teacher")), Comm: comm}
			if o.Progress != nil {
				o.Progress.Name = "teacher"
				topts.Progress = o.Progress
			}
			res, err := finetune.Run(ctx, tr, topts)
			if err != nil {
				return nil, fmt.Errorf("teacher: %w", err)
			}
			final = res.FinalDir
		}
		cfg.Teacher = final
	}
	sr, err := finetune.LoadRecipe(studentPath, r.Student.Sets)
	if err != nil {
		return nil, fmt.Errorf("student: %w", err)
	}
	w := r.Weak
	mode, _ := ParseRuleMode(w.Rule)
	cfg.Rules = Rules{Labels: w.Labels, Mode: mode, Threshold: w.Threshold, Thresholds: w.Thresholds, Low: w.Low,
		TopFraction: w.TopFraction, MinCount: w.MinCount, MinCounts: w.MinCounts, AgreeThreshold: w.AgreeThreshold,
		MaskUncertain: w.MaskUncertain}
	if len(cfg.Rules.Labels) == 0 {
		cfg.Rules.Labels = infer.DataLabels(append(append([]data.Example(nil), cfg.Dev...), cfg.Gold...))
		sort.Strings(cfg.Rules.Labels)
		if len(cfg.Rules.Labels) == 0 {
			return nil, fmt.Errorf("weak_labels.labels is empty and neither dev_data nor the teacher's gold examples have entity labels to take")
		}
	}
	var student Student = &FinetuneStudent{Base: sr, DevPath: devPath, Logger: lg, Comm: comm}
	env := Env{LoadTeacher: LoadTeacher, Student: student,
		Evaluator: InferEvaluator{Labels: cfg.Rules.Labels}, Logger: lg, Out: o.Out, Progress: o.Progress, Comm: comm}
	return Run(ctx, cfg, env)
}
