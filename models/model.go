package models

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/layers"
	"github.com/gliner-go/gliner/losses"
	"github.com/gliner-go/gliner/models/encoder"
)

// TextEncoderPrefix is where the text encoder's Hugging Face keys live.
const TextEncoderPrefix = "token_rep_layer.bert_layer.model"

// Model is a GLiNER network: its config, its parameters (under the
// reference's state-dict names) and its plans, built once per batch shape and
// reused, all running in one activation arena. Each architecture is a
// composition of the shared parts below (see uni_span.go, uni_token.go,
// bi_span.go, bi_token.go, span_decoder.go, relex.go, uni_token_decoder.go,
// uni_token_relex.go).
type Model struct {
	Cfg    *Config
	Arch   Architecture
	Store  *autograd.Store
	EncCfg *encoder.Config
	// LabelsEncCfg is the bi-encoders' labels encoder config (nil otherwise).
	LabelsEncCfg *encoder.Config
	// Loss configures the training loss (defaults: the reference's alpha -1,
	// gamma 0, sum). Loss.ReferenceCompat reproduces the reference's quirks:
	// BiEncoderSpan then passes label smoothing as the probability margin
	// (gliner/modeling/base.py BiEncoderSpanModel.loss) and the token loss
	// ignores Masking; by default both use the settings as written.
	Loss losses.Options

	enc    *encoder.Encoder
	proj   *layers.Linear
	labels *LabelEncoder
	rnn    *BiLSTM
	span   *MarkerV0
	prompt *layers.Projection
	scorer *Scorer
	relex  *relexParts
	// dec is UniEncoderSpanDecoder's labels decoder (span_decoder.go).
	dec *spanDecoder
	// labelEmb, set during ForwardWithLabelEmbeddings, replaces the
	// labels encoder's output (label_cache.go).
	labelEmb *autograd.Value

	impl   archImpl
	rng    *rand.Rand
	src    *rand.PCG
	graphs map[shapeKey]*compiled
	// lru lists the cached shapes, least recently used first.
	lru   []shapeKey
	built int
	// arena holds the activations of every graph of the model: one set of
	// buffers, sized by the largest batch run so far, whatever the shapes.
	arena *autograd.Arena

	// MaxGraphs bounds how many compiled plans (one per batch shape; a plan
	// holds no activations, those live in the model's one arena) stay
	// cached; the least recently used is dropped first. 0 means
	// DefaultMaxGraphs.
	MaxGraphs int
}

// DefaultMaxGraphs is the plan cache size when Model.MaxGraphs is 0.
const DefaultMaxGraphs = 16

// GraphsBuilt counts the graphs compiled by this model so far (a
// steady-state training step builds none).
func (m *Model) GraphsBuilt() int { return m.built }

// ArenaBytes is the size of the model's activation arena: the memory its
// largest batch so far needed, shared by the plans of every shape.
func (m *Model) ArenaBytes() int64 { return m.arena.Bytes() }

func (m *Model) touch(k shapeKey) {
	for i, x := range m.lru {
		if x == k {
			m.lru = append(m.lru[:i], m.lru[i+1:]...)
			break
		}
	}
	m.lru = append(m.lru, k)
	limit := m.MaxGraphs
	if limit <= 0 {
		limit = DefaultMaxGraphs
	}
	// Evict the least recently used plans; the one just used stays.
	for len(m.lru) > 1 && len(m.lru) > limit {
		delete(m.graphs, m.lru[0])
		m.lru = m.lru[1:]
	}
}

// archImpl is one architecture: which parts it registers (init) and how it
// wires them into a graph (build).
type archImpl struct {
	init  func(m *Model) error
	build func(b *builder)
}

var archImpls = map[Architecture]archImpl{
	UniEncoderSpan:  {initUniSpan, buildUniSpan},
	UniEncoderToken: {initUniToken, buildUniToken},
	BiEncoderSpan:   {initBiSpan, buildBiSpan},
	BiEncoderToken:  {initBiToken, buildBiToken},

	UniEncoderSpanRelex: {initRelex, buildRelex},

	UniEncoderSpanDecoder: {initSpanDecoder, buildSpanDecoder},

	UniEncoderTokenDecoder: {initTokenDecoder, buildTokenDecoder},
	UniEncoderTokenRelex:   {initTokenRelex, buildTokenRelex},
}

type shapeKey struct {
	B, T, W, C, TL int
	train          bool
	// Relex: entities, pairs and relation classes of the batch, and which
	// of its graphs (relexStage).
	E, N, R int
	stage   relexStage
	// Dec: UniEncoderSpanDecoder's kept spans M and decoder length T.
	Dec [2]int
	// Bi-encoders: labelsOnly is EncodeLabels' graph (label path alone);
	// preLabels takes pooled label embeddings instead of label ids
	// (label_cache.go).
	labelsOnly, preLabels bool
}

// New builds a model from its config, registering every parameter under
// the reference's state-dict names (values are zero until Initialize or
// a checkpoint fills them). UniEncoderSpan, UniEncoderToken, BiEncoderSpan
// and BiEncoderToken are implemented; the others are reported as errors.
func New(cfg *Config) (*Model, error) {
	arch, err := cfg.Architecture()
	if err != nil {
		return nil, err
	}
	impl, ok := archImpls[arch]
	if !ok {
		return nil, fmt.Errorf("architecture %v is not implemented yet (implemented: %v, %v, %v, %v)",
			arch, UniEncoderSpan, UniEncoderToken, BiEncoderSpan, BiEncoderToken)
	}
	if len(cfg.EncoderConfig) == 0 || string(cfg.EncoderConfig) == "null" {
		return nil, fmt.Errorf("gliner config: encoder_config is required (no encoder can be downloaded)")
	}
	ec, err := encoder.ParseConfig(cfg.EncoderConfig)
	if err != nil {
		return nil, fmt.Errorf("gliner config: encoder_config: %w", err)
	}
	if cfg.FuseLayers {
		return nil, fmt.Errorf("gliner config: fuse_layers is not supported yet")
	}
	if cfg.PostFusionSchema != "" {
		return nil, fmt.Errorf("gliner config: post_fusion_schema %q (cross_fuser) is not supported yet", cfg.PostFusionSchema)
	}
	if cfg.RepresentSpans && (arch == UniEncoderToken || arch == BiEncoderToken || arch == UniEncoderTokenRelex) {
		return nil, fmt.Errorf("gliner config: represent_spans is not supported yet for %v", arch)
	}
	m := &Model{Cfg: cfg, Arch: arch, Store: autograd.NewStore(), EncCfg: ec, Loss: losses.DefaultOptions(),
		impl: impl, graphs: map[shapeKey]*compiled{}, arena: autograd.NewArena(autograd.CPU)}
	m.src = rand.NewPCG(0, 1)
	m.rng = rand.New(m.src)
	if err := impl.init(m); err != nil {
		return nil, err
	}
	return m, nil
}

// addTextEncoder registers the text encoder and its projection
// (gliner/modeling/encoder.py Encoder).
func (m *Model) addTextEncoder() error {
	var err error
	if m.enc, err = encoder.New(m.Store, TextEncoderPrefix, m.EncCfg); err != nil {
		return err
	}
	if H := m.Cfg.HiddenSize; H != m.EncCfg.HiddenSize {
		if m.proj, err = layers.NewLinear(m.Store, "token_rep_layer.projection", m.EncCfg.HiddenSize, H, true, nil); err != nil {
			return err
		}
	}
	return nil
}

// addLabelEncoder registers the bi-encoders' labels encoder
// (gliner/modeling/encoder.py BiEncoder).
func (m *Model) addLabelEncoder() error {
	raw := m.Cfg.LabelsEncoderConfig
	if len(raw) == 0 || string(raw) == "null" {
		return fmt.Errorf("gliner config: labels_encoder_config is required for %v (no encoder can be downloaded)", m.Arch)
	}
	lc, err := encoder.ParseConfig(raw)
	if err != nil {
		return fmt.Errorf("gliner config: labels_encoder_config: %w", err)
	}
	m.LabelsEncCfg = lc
	m.labels, err = NewLabelEncoder(m.Store, lc, m.Cfg.HiddenSize)
	return err
}

// addRNN registers the BiLSTM when num_rnn_layers > 0
// (gliner/modeling/layers.py LstmSeq2SeqEncoder).
func (m *Model) addRNN() error {
	if m.Cfg.NumRNNLayers < 0 {
		return fmt.Errorf("gliner config: num_rnn_layers %d must be >= 0", m.Cfg.NumRNNLayers)
	}
	if m.Cfg.NumRNNLayers == 0 {
		return nil
	}
	H := m.Cfg.HiddenSize
	if H%2 != 0 {
		return fmt.Errorf("gliner config: hidden_size %d must be even for the BiLSTM", H)
	}
	var err error
	m.rnn, err = NewBiLSTM(m.Store, "rnn.lstm", H, H/2, m.Cfg.NumRNNLayers)
	return err
}

// addSpanHead registers markerV0 and prompt_rep_layer (span models).
func (m *Model) addSpanHead() error {
	var err error
	H := m.Cfg.HiddenSize
	if m.span, err = NewMarkerV0(m.Store, "span_rep_layer.span_rep_layer", H, m.Cfg.Dropout); err != nil {
		return err
	}
	m.prompt, err = layers.NewProjection(m.Store, "prompt_rep_layer", H, H, m.Cfg.Dropout)
	return err
}

// addScorer registers the token scorer (token models).
func (m *Model) addScorer() error {
	var err error
	m.scorer, err = NewScorer(m.Store, "scorer", m.Cfg.HiddenSize, m.Cfg.Dropout)
	return err
}

// Initialize draws fresh parameters with the reference's schemes.
func (m *Model) Initialize(seed uint64) { m.Store.Initialize(seed) }

// Load reads a GLiNER model folder: gliner_config.json and
// model.safetensors (else pytorch_model.bin), loaded strictly.
func Load(dir string) (*Model, error) {
	cfg, err := LoadConfig(filepath.Join(dir, "gliner_config.json"))
	if err != nil {
		return nil, err
	}
	m, err := New(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	st, err := checkpoints.ReadFolderState(dir)
	if err != nil {
		return nil, err
	}
	ignore, err := m.decoderCheckState(st)
	if err != nil {
		return nil, err
	}
	if err := m.Store.LoadState(st, nil, checkpoints.LoadOptions{IgnoreUnexpected: ignore}); err != nil {
		return nil, err
	}
	return m, nil
}

// compiled is one bucket's graph and machine with the nodes callers read.
type compiled struct {
	m            *autograd.Machine
	logits, loss *autograd.Node
	// named are the intermediates by the fixtures' names.
	named map[string]*autograd.Node
	// inputs are the declared graph inputs.
	inputs map[string]bool
}

func (m *Model) build(k shapeKey) (*compiled, error) {
	g := autograd.NewGraph(m.Store, k.train)
	g.RNG = m.rng
	b := &builder{m: m, g: g, k: k, c: &compiled{named: map[string]*autograd.Node{}, inputs: map[string]bool{}}}
	m.impl.build(b)
	if err := g.Err(); err != nil {
		return nil, fmt.Errorf("%v graph: %w", m.Arch, err)
	}
	outputs := []*autograd.Node{b.c.logits}
	for _, n := range b.c.named {
		outputs = append(outputs, n)
	}
	mach, err := autograd.CompileIn(m.arena, g, b.c.loss, outputs...)
	if err != nil {
		return nil, err
	}
	b.c.m = mach
	return b.c, nil
}

// graphFor returns the cached graph of a batch's shape, building it once.
func (m *Model) graphFor(b *data.Batch, train bool) (*compiled, shapeKey, error) {
	if b.InputIDs.Shape == nil || len(b.InputIDs.Shape) != 2 {
		return nil, shapeKey{}, fmt.Errorf("batch input_ids have shape %v, want (B,T)", b.InputIDs.Shape)
	}
	k := shapeKey{B: b.InputIDs.Shape[0], T: b.InputIDs.Shape[1], W: b.NumWords, C: b.NumClasses, train: train}
	if k.W == 0 || k.C == 0 {
		return nil, k, fmt.Errorf("batch has %d words and %d classes: nothing to score", k.W, k.C)
	}
	if m.labels != nil && m.labelEmb != nil {
		k.preLabels = true
	} else if m.labels != nil {
		s := b.LabelsInputIDs.Shape
		if len(s) != 2 || s[0] != k.C {
			return nil, k, fmt.Errorf("%v batch: labels_input_ids have shape %v, want (C=%d, Tl)", m.Arch, s, k.C)
		}
		if ms := b.LabelsAttentionMask.Shape; len(ms) != 2 || ms[0] != s[0] || ms[1] != s[1] {
			return nil, k, fmt.Errorf("%v batch: labels_attention_mask shape %v differs from labels_input_ids %v", m.Arch, ms, s)
		}
		k.TL = s[1]
	}
	switch {
	case m.Arch == UniEncoderTokenRelex:
		var err error
		if k, err = m.tokenRelexKey(k, b, train); err != nil {
			return nil, k, err
		}
	case m.Arch == UniEncoderTokenDecoder:
		if err := m.tokenDecoderShape(&k, b); err != nil {
			return nil, k, err
		}
	case m.relex != nil:
		var err error
		if k, err = m.relexKey(k, b, train); err != nil {
			return nil, k, err
		}
	}
	if m.Arch != UniEncoderTokenDecoder {
		if err := m.decoderShape(&k, b); err != nil {
			return nil, k, err
		}
	}
	c, ok := m.graphs[k]
	if !ok {
		var err error
		if c, err = m.build(k); err != nil {
			return nil, k, err
		}
		m.graphs[k] = c
		m.built++
	}
	m.touch(k)
	return c, k, nil
}

// Output holds a forward pass's tensors (copies, safe to keep).
type Output struct {
	// Logits: span models (B,W,K,C), token models (B,W,C,3) with the last
	// axis [start, end, inside].
	Logits autograd.Value
	// Loss is set for training passes.
	Loss float32
	// Intermediates by the fixtures' names: encoder_last_hidden_state,
	// token_rep_layer_output (bi-encoders: token_rep_layer_output.0 for
	// the text, .1 for the pooled labels (C,H), and
	// labels_encoder_token_output), words_embedding_pre_rnn,
	// words_embedding_post_rnn (uni-encoders), span_rep,
	// prompts_embedding_pre_proj and prompts_embedding_post_proj (span
	// models), scorer_output (token models), plus words_embedding and
	// prompts_embedding, the word and class embeddings the head scores.
	Intermediates map[string]autograd.Value
	// Relex holds UniEncoderSpanRelex's inference outputs (nil otherwise
	// and in training).
	Relex *RelexOutput
}

func copyValue(v autograd.Value) autograd.Value {
	return autograd.Value{Shape: append([]int(nil), v.Shape...), F: append([]float32(nil), v.F...)}
}

func (m *Model) run(b *data.Batch, train bool) (*compiled, error) {
	c, k, err := m.graphFor(b, train)
	if err != nil {
		return nil, err
	}
	if err := m.bind(c, k, b, train); err != nil {
		return nil, err
	}
	switch m.Arch {
	case UniEncoderTokenDecoder:
		if err := m.bindTokenDecoder(c, k, b); err != nil {
			return nil, err
		}
	case UniEncoderTokenRelex:
		if err := m.bindTokenRelex(c, k, b, train); err != nil {
			return nil, err
		}
	}
	if err := m.decoderBind(c, k, b); err != nil {
		return nil, err
	}
	if err := c.m.Run(); err != nil {
		return nil, err
	}
	return c, nil
}

// Forward runs the model on a batch in evaluation mode (no dropout, no
// gradients) and returns the logits and intermediates.
func (m *Model) Forward(b *data.Batch) (*Output, error) {
	if m.relex != nil {
		return m.ForwardRelex(b, m.relex.Threshold, m.relex.AdjacencyThreshold)
	}
	c, err := m.run(b, false)
	if err != nil {
		return nil, err
	}
	return m.output(c)
}

func (m *Model) output(c *compiled) (*Output, error) {
	o := &Output{Intermediates: map[string]autograd.Value{}}
	for n, node := range c.named {
		v, err := c.m.Value(node)
		if err != nil {
			return nil, err
		}
		o.Intermediates[n] = copyValue(v)
	}
	v, err := c.m.Value(c.logits)
	if err != nil {
		return nil, err
	}
	o.Logits = copyValue(v)
	if c.loss != nil {
		o.Loss = c.m.Cost()
	}
	return o, nil
}

// Step runs a training forward and backward pass on a batch, adding the
// parameter gradients into the store (Param.Grad), and returns the loss
// and the outputs.
func (m *Model) Step(b *data.Batch) (*Output, error) {
	c, err := m.run(b, true)
	if err != nil {
		return nil, err
	}
	return m.output(c)
}

// TrainedParams lists the parameters that received gradients in the last
// training step's graph (the others, like torch's p.grad None, must be
// skipped by the optimizer).
func (m *Model) TrainedParams(b *data.Batch) []*autograd.Param {
	c, _, err := m.graphFor(b, true)
	if err != nil {
		return nil
	}
	return c.m.TrainedParams()
}

// ConfigJSON renders the config as the reference writes gliner_config.json.
func (m *Model) ConfigJSON() ([]byte, error) { return json.MarshalIndent(m.Cfg, "", "  ") }

// SeedRNG reseeds the model's own random stream (dropout masks, negative
// sampling in the loss).
func (m *Model) SeedRNG(seed uint64) { m.src.Seed(seed, seed^0x9e3779b97f4a7c15) }

// RNGState returns the model's random stream state, for whole-state
// checkpoints; SetRNGState restores it, so a resumed run draws the same
// dropout masks as an uninterrupted one.
func (m *Model) RNGState() ([]byte, error) { return m.src.MarshalBinary() }

// SetRNGState restores a state from RNGState.
func (m *Model) SetRNGState(b []byte) error {
	if err := m.src.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("model rng state: %w", err)
	}
	return nil
}
