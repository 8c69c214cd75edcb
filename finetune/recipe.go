package finetune

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gliner-go/gliner/autograd/cuda"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/internal/fileio"
	"github.com/gliner-go/gliner/losses"
	"github.com/gliner-go/gliner/models"
	"github.com/gliner-go/gliner/train"
)

// Recipe is a training recipe: the reference's config YAML layout
// (model / data / training sections) decoded strictly. Every field is
// documented in recipes/uni_span_sample.yaml; DefaultRecipe gives the
// values of a field a recipe leaves out.
type Recipe struct {
	Model    ModelSection    `yaml:"model"`
	Data     DataSection     `yaml:"data"`
	Training TrainingSection `yaml:"training"`
	// Stages, when set, make the recipe a multi-stage run (RunStages,
	// stages.go): each stage trains from the previous stage's exported
	// best model with its own data, steps, learning rates and frozen
	// parameters; the sections above are every stage's defaults.
	Stages []StageSection `yaml:"stages,omitempty"`
}

// ModelSection chooses where the model comes from and holds the
// gliner_config.json fields of a new model (names as in that file).
// Exactly one of PrevPath, ModelName and EncoderConfig must be set:
//   - PrevPath: a local GLiNER model folder to fine-tune; its own
//     gliner_config.json is used and the other fields here are ignored,
//     as the reference's from_pretrained does.
//   - ModelName: a local Hugging Face encoder folder (config.json, weights,
//     tokenizer files); the GLiNER head is initialised randomly.
//   - EncoderConfig: a Hugging Face encoder config for a randomly
//     initialised encoder, with a WordPiece vocabulary built from the
//     training data (Vocab).
type ModelSection struct {
	PrevPath      string         `yaml:"prev_path"`
	ModelName     string         `yaml:"model_name"`
	EncoderConfig map[string]any `yaml:"encoder_config"`
	Vocab         VocabSection   `yaml:"vocab"`

	Name              string  `yaml:"name"`
	MaxWidth          int     `yaml:"max_width"`
	HiddenSize        int     `yaml:"hidden_size"`
	Dropout           float64 `yaml:"dropout"`
	FineTune          bool    `yaml:"fine_tune"`
	SubtokenPooling   string  `yaml:"subtoken_pooling"`
	FuseLayers        bool    `yaml:"fuse_layers"`
	PostFusionSchema  string  `yaml:"post_fusion_schema"`
	SpanMode          string  `yaml:"span_mode"`
	MaxTypes          int     `yaml:"max_types"`
	MaxLen            int     `yaml:"max_len"`
	MaxNegTypeRatio   int     `yaml:"max_neg_type_ratio"`
	NumRNNLayers      int     `yaml:"num_rnn_layers"`
	WordsSplitterType string  `yaml:"words_splitter_type"`
	EmbedEntToken     bool    `yaml:"embed_ent_token"`
	// Relex, when set, makes a new model a UniEncoderSpanRelex (entities
	// and relations; recipes/relex.yaml).
	Relex *RelexSection `yaml:"relex"`
	// Decoder, when set, makes a new model a UniEncoderSpanDecoder (a
	// GPT-2 labels decoder; recipes/span_decoder.yaml).
	Decoder *DecoderSection `yaml:"decoder"`
	// BiEncoder, when set, makes a new model a BiEncoderSpan, or a
	// BiEncoderToken with span_mode token_level (a separate labels
	// encoder, from a Hugging Face folder or random;
	// recipes/bi_encoder_two_stage.yaml, recipes/bi_token_sample.yaml,
	// biencoder.go).
	BiEncoder *BiEncoderSection `yaml:"bi_encoder,omitempty"`
}

// VocabSection configures the vocabulary built for a random encoder
// (model.encoder_config); see tokenizer.BuildWordPieceVocab.
type VocabSection struct {
	Lowercase    bool `yaml:"lowercase"`
	MinFrequency int  `yaml:"min_frequency"`
	MaxWords     int  `yaml:"max_words"`
}

// DataSection names the datasets and how bad or long examples are handled.
type DataSection struct {
	TrainData string `yaml:"train_data"`
	// ValData is the development set; empty (or "none") trains without
	// evaluation.
	ValData string `yaml:"val_data"`
	// OnError is "fail" (stop at the first bad example) or "skip" (leave
	// bad examples out, counted and reported).
	OnError string `yaml:"on_error"`
	// LongTexts is what happens to a text longer than model.max_len words:
	// "split" into overlapping windows, "reject", or "truncate" (counted).
	LongTexts string `yaml:"long_texts"`
	// WindowStride is the distance between windows (split); 0 means
	// max_len/2.
	WindowStride    int  `yaml:"window_stride"`
	LowercaseLabels bool `yaml:"lowercase_labels"`
	// Format is the format of train_data and val_data (json, jsonl,
	// parquet, arrow, conll, text, text-jsonl, as `gliner data --from`);
	// empty or "auto" chooses each file's from its extension (a CoNLL file
	// named train.txt needs "conll").
	Format string `yaml:"format"`
	// EntityTypes, when set, gives every training example this same list
	// of entity types (class ids 1..C in this order) instead of sampling
	// its positives and negatives: the reference's entity_types argument of
	// collate_raw_batch (gliner/data_processing/processor.py, urchade/GLiNER
	// c2bb58d). A gold entity of another type is no target (counted and
	// logged). Not for relation-extraction models.
	EntityTypes []string `yaml:"entity_types,omitempty"`
}

// TrainingSection holds the reference's training settings
// (configs/config_span.yaml, gliner/model.py BaseGLiNER.create_training_args)
// and the loop's.
type TrainingSection struct {
	NumSteps                  int      `yaml:"num_steps"`
	TrainBatchSize            int      `yaml:"train_batch_size"`
	EvalBatchSize             int      `yaml:"eval_batch_size"`
	EvalEvery                 int      `yaml:"eval_every"`
	SaveEvery                 int      `yaml:"save_every"`
	WarmupRatio               float64  `yaml:"warmup_ratio"`
	WarmupSteps               int      `yaml:"warmup_steps"`
	SchedulerType             string   `yaml:"scheduler_type"`
	LossAlpha                 float64  `yaml:"loss_alpha"`
	LossGamma                 float64  `yaml:"loss_gamma"`
	LossProbMargin            float64  `yaml:"loss_prob_margin"`
	LabelSmoothing            float64  `yaml:"label_smoothing"`
	LossReduction             string   `yaml:"loss_reduction"`
	Negatives                 float64  `yaml:"negatives"`
	Masking                   string   `yaml:"masking"`
	LREncoder                 float64  `yaml:"lr_encoder"`
	LROthers                  float64  `yaml:"lr_others"`
	WeightDecayEncoder        float64  `yaml:"weight_decay_encoder"`
	WeightDecayOther          float64  `yaml:"weight_decay_other"`
	MaxGradNorm               float64  `yaml:"max_grad_norm"`
	GradientAccumulationSteps int      `yaml:"gradient_accumulation_steps"`
	SaveTotalLimit            int      `yaml:"save_total_limit"`
	Seed                      uint64   `yaml:"seed"`
	OutputDir                 string   `yaml:"output_dir"`
	EarlyStoppingPatience     int      `yaml:"early_stopping_patience"`
	FreezeComponents          []string `yaml:"freeze_components"`
	MegaBatches               int      `yaml:"mega_batches"`
	EvalThreshold             float64  `yaml:"eval_threshold"`
	LogEvery                  int      `yaml:"log_every"`
	// Freeze lists parameter-name prefixes (e.g.
	// "token_rep_layer.labels_encoder") whose parameters are not trained:
	// no gradient, no optimizer state. A prefix matching no parameter is
	// an error.
	Freeze []string `yaml:"freeze,omitempty"`
	// ReferenceCompat reproduces the reference's quirks in the loss
	// (losses.Options.ReferenceCompat; docs/reference_differences.md).
	ReferenceCompat bool `yaml:"reference_compat,omitempty"`
	// Sampler is the batch order: "length" (the default: length-bucketed
	// mega-batches of mega_batches, shuffled each epoch), "sequential" (the
	// training examples in order, train_batch_size at a time, the same
	// every epoch) or "order" (the batches of BatchOrder, every epoch).
	Sampler string `yaml:"sampler,omitempty"`
	// BatchOrder is the file of explicit batches for sampler "order": one
	// JSON list of example indices per line (data.ReadBatchOrder), indices
	// into the training examples in file order after windowing.
	BatchOrder string `yaml:"batch_order,omitempty"`
	// LogBatchIndices adds each step's example indices (one list per
	// micro-batch, as the sampler drew them) to metrics.jsonl as "batches".
	LogBatchIndices bool `yaml:"log_batch_indices,omitempty"`
	// Device is where training runs: cpu (the default, also when empty),
	// cuda or cuda:N (a binary built with -tags glcuda; see autograd/cuda).
	Device string `yaml:"device,omitempty"`
	// Precision is fp32 (the default, also when empty), bf16 or fp16; the
	// last two need a CUDA device.
	Precision string `yaml:"precision,omitempty"`
}

// Samplers of training.sampler.
const (
	SamplerLength     = "length"
	SamplerSequential = "sequential"
	SamplerOrder      = "order"
)

// DefaultRecipe returns the values a recipe's missing fields take: the
// reference's configs/config_span.yaml with warmup_ratio 0.05 (the
// reference's recipes write warmup_steps: 0.05 meaning a ratio), evaluation
// and checkpoints every 500 steps and output_dir "models".
func DefaultRecipe() Recipe {
	return Recipe{
		Model: ModelSection{
			Name: "gliner", MaxWidth: 12, HiddenSize: 768, Dropout: 0.3, FineTune: true,
			SubtokenPooling: "first", SpanMode: "markerV0", MaxTypes: 100, MaxLen: 512,
			MaxNegTypeRatio: 1, NumRNNLayers: 1, WordsSplitterType: "whitespace", EmbedEntToken: true,
			Vocab: VocabSection{Lowercase: true, MinFrequency: 1},
		},
		Data: DataSection{OnError: "fail", LongTexts: "split"},
		Training: TrainingSection{
			NumSteps: 15000, TrainBatchSize: 8, EvalEvery: 500, WarmupRatio: 0.05, SchedulerType: "cosine",
			LossAlpha: 0.75, LossGamma: 0, LossReduction: "sum", Negatives: 1, Masking: "none",
			LREncoder: 1e-5, LROthers: 3e-5, WeightDecayEncoder: 0.1, WeightDecayOther: 0.01,
			MaxGradNorm: 10, GradientAccumulationSteps: 1, SaveTotalLimit: 3, Seed: 42,
			OutputDir: "models", MegaBatches: 8, EvalThreshold: 0.5, LogEvery: 10,
		},
	}
}

// ParseRecipe decodes a recipe over DefaultRecipe strictly: an unknown key
// or a value of the wrong type is an error naming the line; name (the
// file) prefixes errors.
func ParseRecipe(b []byte, name string) (*Recipe, error) {
	r := DefaultRecipe()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("recipe %s: %w", name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("recipe %s: more than one YAML document", name)
	}
	if len(doc.Content) == 0 {
		return &r, nil
	}
	if err := checkNumbers(doc.Content[0], reflect.TypeOf(r), ""); err != nil {
		return nil, fmt.Errorf("recipe %s: %w", name, err)
	}
	// Node.Decode ignores KnownFields: decode the text again strictly.
	dec = yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("recipe %s: %w", name, err)
	}
	return &r, nil
}

// checkNumbers rejects a non-integer number given for an integer field
// (yaml.v3 would silently truncate 1.5 to 1).
func checkNumbers(n *yaml.Node, t reflect.Type, path string) error {
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil // the decoder reports the type error
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			for j := 0; j < t.NumField(); j++ {
				if yamlName(t.Field(j)) == k {
					p := k
					if path != "" {
						p = path + "." + k
					}
					if err := checkNumbers(n.Content[i+1], t.Field(j).Type, p); err != nil {
						return err
					}
				}
			}
		}
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint64, reflect.Uint, reflect.Uint32:
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" {
			return fmt.Errorf("line %d: %s: %s is not an integer", n.Line, path, n.Value)
		}
	}
	return nil
}

// LoadRecipe reads a recipe file ("-": standard input), applies the --set overrides in order
// (see Set) and validates the result.
func LoadRecipe(path string, sets []string) (*Recipe, error) {
	b, err := fileio.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("recipe: %w", err)
	}
	r, err := ParseRecipe(b, path)
	if err != nil {
		return nil, err
	}
	for _, s := range sets {
		if err := r.Set(s); err != nil {
			return nil, fmt.Errorf("recipe %s: %w", path, err)
		}
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("recipe %s: %w", path, err)
	}
	return r, nil
}

// Set applies one override "section.key=value" (e.g.
// "training.num_steps=200", "model.encoder_config.hidden_size=64"). The
// value is YAML decoded into the field's type, so a wrong type is an
// error; an unknown path is an error listing the valid keys. Keys under
// model.encoder_config are free (it is a Hugging Face config).
//
// Setting one of the model's sources (model.prev_path, model.model_name,
// model.encoder_config) to a value replaces the recipe's other source, so
// that one flag switches a recipe with a random encoder to a real one:
// --set model.model_name=/path/to/deberta-v3-small. The bi-encoder's two
// labels encoder sources (model.bi_encoder.labels_encoder, a folder, and
// model.bi_encoder.labels_encoder_config, a random one) replace each other
// the same way.
func (r *Recipe) Set(assign string) error {
	path, value, ok := strings.Cut(assign, "=")
	if !ok || strings.TrimSpace(path) == "" {
		return fmt.Errorf("--set %q: want key.path=value", assign)
	}
	if err := r.set(path, value); err != nil {
		return err
	}
	m := &r.Model
	switch strings.TrimSpace(path) {
	case "model.prev_path":
		if !isNone(m.PrevPath) {
			m.ModelName, m.EncoderConfig = "", nil
		}
	case "model.model_name":
		if !isNone(m.ModelName) {
			m.PrevPath, m.EncoderConfig = "", nil
		}
	case "model.encoder_config":
		if len(m.EncoderConfig) > 0 {
			m.PrevPath, m.ModelName = "", ""
		}
	case "model.bi_encoder.labels_encoder":
		if !isNone(m.BiEncoder.LabelsEncoder) {
			m.BiEncoder.LabelsEncoderConfig = nil
		}
	case "model.bi_encoder.labels_encoder_config":
		if len(m.BiEncoder.LabelsEncoderConfig) > 0 {
			m.BiEncoder.LabelsEncoder = ""
		}
	}
	return nil
}

func (r *Recipe) set(path, value string) error {
	parts := strings.Split(strings.TrimSpace(path), ".")
	v := reflect.ValueOf(r).Elem()
	for i, p := range parts {
		if v.Kind() == reflect.Pointer && v.Type().Elem().Kind() == reflect.Struct {
			// An optional section (model.relex, model.decoder).
			if v.IsNil() {
				return fmt.Errorf("--set %s: %s is not set in the recipe (add the section first)", path, where(parts[:i]))
			}
			v = v.Elem()
		}
		switch v.Kind() {
		case reflect.Struct:
			f, ok := fieldByTag(v, p)
			if !ok {
				return fmt.Errorf("--set %s: unknown key %q in %s (valid: %s)", path, p, where(parts[:i]), strings.Join(tags(v.Type()), ", "))
			}
			v = f
		case reflect.Map:
			if i != len(parts)-1 {
				return fmt.Errorf("--set %s: %s is a map of plain values; set %s.%s directly", path, where(parts[:i]), where(parts[:i]), p)
			}
			var x any
			if err := yaml.Unmarshal([]byte(value), &x); err != nil {
				return fmt.Errorf("--set %s: value %q: %w", path, value, err)
			}
			if v.IsNil() {
				v.Set(reflect.MakeMap(v.Type()))
			}
			v.SetMapIndex(reflect.ValueOf(p), reflect.ValueOf(&x).Elem())
			return nil
		default:
			return fmt.Errorf("--set %s: %s is a value, not a section", path, where(parts[:i]))
		}
	}
	if v.Kind() == reflect.Struct {
		return fmt.Errorf("--set %s: %s is a section (valid keys: %s)", path, path, strings.Join(tags(v.Type()), ", "))
	}
	nv := reflect.New(v.Type())
	node := &yaml.Node{}
	if err := yaml.Unmarshal([]byte(value), node); err != nil {
		return fmt.Errorf("--set %s: value %q: %w", path, value, err)
	}
	if len(node.Content) > 0 {
		if err := checkNumbers(node.Content[0], v.Type(), path); err != nil {
			return fmt.Errorf("--set %s: value %q does not fit %s: %w", path, value, v.Type(), err)
		}
		if err := node.Content[0].Decode(nv.Interface()); err != nil {
			return fmt.Errorf("--set %s: value %q does not fit %s: %w", path, value, v.Type(), err)
		}
	}
	v.Set(nv.Elem())
	return nil
}

func where(parts []string) string {
	if len(parts) == 0 {
		return "the recipe"
	}
	return strings.Join(parts, ".")
}

func fieldByTag(v reflect.Value, tag string) (reflect.Value, bool) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if yamlName(t.Field(i)) == tag {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func yamlName(f reflect.StructField) string {
	n, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return n
}

// checkSectionKeys is the strict part of a recipe section's UnmarshalYAML:
// n must be a mapping (else "line L: <mapping> must be a mapping") whose
// keys are all yaml names of t's fields (else "line L: <section>: unknown
// key ... (valid: ...)").
func checkSectionKeys(n *yaml.Node, t reflect.Type, section, mapping string) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: %s must be a mapping", n.Line, mapping)
	}
	valid := tags(t)
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !slices.Contains(valid, k.Value) {
			return fmt.Errorf("line %d: %s: unknown key %q (valid: %s)", k.Line, section, k.Value, strings.Join(valid, ", "))
		}
	}
	return nil
}

func tags(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		out = append(out, yamlName(t.Field(i)))
	}
	sort.Strings(out)
	return out
}

func isNone(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "none", "null":
		return true
	}
	return false
}

// Validate checks the recipe's values and choices, each error naming the
// field.
func (r *Recipe) Validate() error {
	m, d, t := &r.Model, &r.Data, &r.Training
	srcs := 0
	for _, set := range []bool{!isNone(m.PrevPath), !isNone(m.ModelName), len(m.EncoderConfig) > 0} {
		if set {
			srcs++
		}
	}
	if srcs != 1 {
		return fmt.Errorf("model: set exactly one of prev_path (a GLiNER folder), model_name (a Hugging Face encoder folder) and encoder_config (a random encoder); %d are set", srcs)
	}
	if m.MaxWidth < 1 || m.HiddenSize < 1 || m.MaxLen < 1 || m.MaxTypes < 0 || m.MaxNegTypeRatio < 0 || m.NumRNNLayers < 0 {
		return fmt.Errorf("model: max_width %d, hidden_size %d, max_len %d must be ≥ 1 and max_types %d, max_neg_type_ratio %d, num_rnn_layers %d ≥ 0",
			m.MaxWidth, m.HiddenSize, m.MaxLen, m.MaxTypes, m.MaxNegTypeRatio, m.NumRNNLayers)
	}
	if !(m.Dropout >= 0 && m.Dropout < 1) {
		return fmt.Errorf("model: dropout %v must be in [0, 1)", m.Dropout)
	}
	if _, err := models.ParseSpanMode(m.SpanMode); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	if m.Decoder != nil && m.SpanMode == "token_level" && m.Decoder.DecoderMode != "span" {
		return fmt.Errorf("model.decoder: decoder_mode %q with span_mode token_level: UniEncoderTokenDecoder supports only \"span\"", m.Decoder.DecoderMode)
	}
	if m.Relex != nil {
		if err := m.Relex.validate(); err != nil {
			return err
		}
	}
	if m.Decoder != nil {
		if m.Relex != nil {
			return fmt.Errorf("model: relex and decoder cannot both be set")
		}
		if err := m.Decoder.validate(); err != nil {
			return err
		}
	}
	if m.Vocab.MinFrequency < 0 || m.Vocab.MaxWords < 0 {
		return fmt.Errorf("model.vocab: min_frequency %d and max_words %d must be ≥ 0", m.Vocab.MinFrequency, m.Vocab.MaxWords)
	}
	if isNone(d.TrainData) {
		return fmt.Errorf("data.train_data is required")
	}
	if _, err := data.ParseErrorPolicy(d.OnError); err != nil {
		return fmt.Errorf("data.on_error: %w", err)
	}
	if _, err := data.ParseFormat(d.Format); err != nil {
		return fmt.Errorf("data.format: %w", err)
	}
	if _, err := data.ParseWindowPolicy(d.LongTexts); err != nil {
		return fmt.Errorf("data.long_texts: %w", err)
	}
	if d.WindowStride < 0 || d.WindowStride > m.MaxLen {
		return fmt.Errorf("data.window_stride %d must be in 0..model.max_len (%d)", d.WindowStride, m.MaxLen)
	}
	if t.NumSteps < 1 || t.TrainBatchSize < 1 || t.GradientAccumulationSteps < 1 {
		return fmt.Errorf("training: num_steps %d, train_batch_size %d and gradient_accumulation_steps %d must be ≥ 1",
			t.NumSteps, t.TrainBatchSize, t.GradientAccumulationSteps)
	}
	if t.EvalEvery < 0 || t.SaveEvery < 0 || t.SaveTotalLimit < 0 || t.EarlyStoppingPatience < 0 || t.EvalBatchSize < 0 || t.WarmupSteps < 0 || t.LogEvery < 0 {
		return fmt.Errorf("training: eval_every, save_every, save_total_limit, early_stopping_patience, eval_batch_size, warmup_steps and log_every must be ≥ 0")
	}
	switch t.Sampler {
	case "", SamplerLength, SamplerSequential:
		if t.BatchOrder != "" {
			return fmt.Errorf("training.batch_order %s is for training.sampler %q (sampler is %q)", t.BatchOrder, SamplerOrder, t.Sampler)
		}
	case SamplerOrder:
		if isNone(t.BatchOrder) {
			return fmt.Errorf("training.sampler %q needs training.batch_order (a file of batches, one JSON list of example indices per line)", SamplerOrder)
		}
	default:
		return fmt.Errorf("training.sampler %q: want %s, %s or %s", t.Sampler, SamplerLength, SamplerSequential, SamplerOrder)
	}
	seenType := map[string]bool{}
	for i, l := range d.EntityTypes {
		if strings.TrimSpace(l) == "" {
			return fmt.Errorf("data.entity_types[%d] is empty", i)
		}
		if seenType[l] {
			return fmt.Errorf("data.entity_types: %q is listed twice", l)
		}
		seenType[l] = true
	}
	if d.EntityTypes != nil && len(d.EntityTypes) == 0 {
		return fmt.Errorf("data.entity_types is an empty list: give the types, or leave the key out to sample them per example")
	}
	if t.MegaBatches < 1 {
		return fmt.Errorf("training.mega_batches %d must be ≥ 1 (1: plain random batches)", t.MegaBatches)
	}
	if !(t.WarmupRatio >= 0 && t.WarmupRatio <= 1) {
		return fmt.Errorf("training.warmup_ratio %v must be in [0, 1]", t.WarmupRatio)
	}
	if _, err := train.ParseSchedulerType(t.SchedulerType); err != nil {
		return fmt.Errorf("training.scheduler_type: %w", err)
	}
	if _, err := r.LossOptions(); err != nil {
		return err
	}
	for name, x := range map[string]float64{"lr_encoder": t.LREncoder, "lr_others": t.LROthers,
		"weight_decay_encoder": t.WeightDecayEncoder, "weight_decay_other": t.WeightDecayOther} {
		if !(x >= 0) {
			return fmt.Errorf("training.%s %v must be ≥ 0", name, x)
		}
	}
	if !(t.EvalThreshold > 0 && t.EvalThreshold < 1) {
		return fmt.Errorf("training.eval_threshold %v must be in (0, 1)", t.EvalThreshold)
	}
	if t.EarlyStoppingPatience > 0 && (t.EvalEvery == 0 || isNone(d.ValData)) {
		return fmt.Errorf("training.early_stopping_patience needs evaluation (data.val_data and training.eval_every)")
	}
	for _, c := range t.FreezeComponents {
		if _, ok := freezePrefixes[c]; !ok {
			return fmt.Errorf("training.freeze_components: %q is not a component of UniEncoderSpan (valid: %s)", c, strings.Join(freezeNames(), ", "))
		}
	}
	if isNone(t.OutputDir) {
		return fmt.Errorf("training.output_dir is required")
	}
	if _, _, err := cuda.CheckSettings("training.device", t.Device, "training.precision", t.Precision); err != nil {
		return err
	}
	for i, f := range t.Freeze {
		if strings.TrimSpace(f) == "" {
			return fmt.Errorf("training.freeze[%d]: empty prefix", i)
		}
	}
	if m.BiEncoder != nil {
		if err := m.BiEncoder.validate(m); err != nil {
			return err
		}
	}
	return r.validateStages()
}

// freezePrefixes maps freeze_components names to parameter prefixes
// (gliner/model.py BaseGLiNER._get_freezable_components: text_encoder =
// token_rep_layer.bert_layer.model).
var freezePrefixes = map[string]string{
	"text_encoder": "token_rep_layer.bert_layer.model.",
}

func freezeNames() []string {
	var out []string
	for k := range freezePrefixes {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// LossOptions returns the training loss settings of the recipe.
func (r *Recipe) LossOptions() (losses.Options, error) {
	t := &r.Training
	red, err := losses.ParseReduction(t.LossReduction)
	if err != nil {
		return losses.Options{}, fmt.Errorf("training.loss_reduction: %w", err)
	}
	mask, err := losses.ParseMasking(t.Masking)
	if err != nil {
		return losses.Options{}, fmt.Errorf("training.masking: %w", err)
	}
	o := losses.Options{Alpha: float32(t.LossAlpha), Gamma: float32(t.LossGamma), ProbMargin: float32(t.LossProbMargin),
		LabelSmoothing: float32(t.LabelSmoothing), Reduction: red, Negatives: float32(t.Negatives), Masking: mask,
		ReferenceCompat: t.ReferenceCompat}
	if err := o.Validate(); err != nil {
		return o, fmt.Errorf("training: %w", err)
	}
	return o, nil
}

// YAML renders the recipe (all fields, defaults included).
func (r *Recipe) YAML() ([]byte, error) { return yaml.Marshal(r) }
