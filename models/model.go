package models

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"time"

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
// reference's state-dict names), the parts every architecture shares (the
// text encoder, its projection and the BiLSTM), one architecture-specific
// head holding the rest (archHead: uni_span.go, uni_token.go, bi_span.go,
// bi_token.go, span_decoder.go, relex.go, uni_token_decoder.go,
// uni_token_relex.go) and the engine's cache of compiled plans, one per
// batch shape, all running in one activation arena. What a batch needs
// beyond its tensors (the relex selections, the decoder layout, given
// label embeddings) is planned per call (batchPlan) and never kept on
// the model.
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

	enc  *encoder.Encoder
	proj *layers.Linear
	rnn  *BiLSTM
	// head is the architecture's own parts and wiring.
	head archHead

	rng *rand.Rand
	src *rand.PCG
	// plans is the engine's cache of compiled plans by shape.
	plans planCache

	// MaxGraphs bounds how many compiled plans (one per batch shape; a plan
	// holds no activations, those live in the model's one arena) stay
	// cached; the least recently used is dropped first. 0 means
	// DefaultMaxGraphs.
	MaxGraphs int
}

// DefaultMaxGraphs is the plan cache size when Model.MaxGraphs is 0.
const DefaultMaxGraphs = 16

// planCache is the engine's cache of compiled plans, one per shape key,
// and the one activation arena they all run in. It holds no batch's data:
// what a call binds is planned per call (batchPlan).
type planCache struct {
	graphs map[shapeKey]*compiled
	// lru lists the cached shapes, least recently used first.
	lru   []shapeKey
	built int
	// setup is the time spent building and compiling plans.
	setup time.Duration
	// arena holds the activations of every graph of the model: one set of
	// buffers, sized by the largest batch run so far, whatever the shapes.
	arena *autograd.Arena
}

func newPlanCache() planCache {
	return planCache{graphs: map[shapeKey]*compiled{}, arena: autograd.NewArena(autograd.CPU)}
}

// GraphsBuilt counts the graphs compiled by this model so far (a
// steady-state training step builds none).
func (m *Model) GraphsBuilt() int { return m.plans.built }

// PlanSetupTime is the total time spent building and compiling the plans
// of new batch shapes (graph, backward derivation, order and arena
// layout); scripts/memrun -setup compares it with a step's time.
func (m *Model) PlanSetupTime() time.Duration { return m.plans.setup }

// ArenaBytes is the size of the model's activation arena: the memory its
// largest batch so far needed, shared by the plans of every shape.
func (m *Model) ArenaBytes() int64 { return m.plans.arena.Bytes() }

// touch marks k most recently used and drops the least recently used
// plans beyond limit (DefaultMaxGraphs when limit <= 0); the one just used
// stays.
func (pc *planCache) touch(k shapeKey, limit int) {
	for i, x := range pc.lru {
		if x == k {
			pc.lru = append(pc.lru[:i], pc.lru[i+1:]...)
			break
		}
	}
	pc.lru = append(pc.lru, k)
	if limit <= 0 {
		limit = DefaultMaxGraphs
	}
	for len(pc.lru) > 1 && len(pc.lru) > limit {
		delete(pc.graphs, pc.lru[0])
		pc.lru = pc.lru[1:]
	}
}

// archHead is one architecture's own parts (everything beyond the text
// encoder, its projection and the BiLSTM, which Model holds) and how they
// wire a graph and bind a batch. The heads compose the parts below
// (spanParts, scorerPart, labelsPart, decoderPart, relexPart); the
// optional capabilities of a head (a labels encoder, a labels decoder, a
// relation head, span rows) are found by asking it for them
// (Model.labelsEncoder, Model.decoder, Model.relexParts).
type archHead interface {
	// build wires the graph of the shape b.k.
	build(b *builder)
	// plan adds the architecture's dimensions of batch b to its shape key
	// and fills p with what binding b needs beyond its tensors.
	plan(m *Model, k *shapeKey, b *data.Batch, p *batchPlan) error
	// bind copies the architecture's inputs of b (after the shared ones,
	// Model.bind) into the graph c of shape k.
	bind(m *Model, c *compiled, k shapeKey, b *data.Batch, p *batchPlan) error
}

// batchPlan is what one call needs to bind its batch beyond the batch's
// tensors. It is made per call (Model.shapeOf) and dropped after it.
type batchPlan struct {
	train bool
	// labelEmb, given to ForwardWithLabelEmbeddings, replaces the labels
	// encoder's output (label_cache.go).
	labelEmb *autograd.Value
	// relex is the relex architectures' entity and pair selection of a
	// training batch (relex.go, uni_token_relex.go).
	relex *relexPlan
	// dec is the decoder architectures' layout of a training batch
	// (span_decoder_plan.go).
	dec *decoderPlan
}

// archHeads makes each architecture's head, registering the parameters
// (shared and the head's) in the order of the reference's state dict.
var archHeads = map[Architecture]func(m *Model) (archHead, error){
	UniEncoderSpan:         newUniSpan,
	UniEncoderToken:        newUniToken,
	BiEncoderSpan:          newBiSpan,
	BiEncoderToken:         newBiToken,
	UniEncoderSpanDecoder:  newSpanDecoder,
	UniEncoderSpanRelex:    newSpanRelex,
	UniEncoderTokenDecoder: newTokenDecoder,
	UniEncoderTokenRelex:   newTokenRelex,
}

// labelsEncoder is the head's labels encoder (bi-encoders; nil otherwise).
func (m *Model) labelsEncoder() *LabelEncoder {
	if h, ok := m.head.(interface{ labelsEncoder() *LabelEncoder }); ok {
		return h.labelsEncoder()
	}
	return nil
}

// decoder is the head's labels decoder (decoder architectures; nil
// otherwise).
func (m *Model) decoder() *spanDecoder {
	if h, ok := m.head.(interface{ labelsDecoder() *spanDecoder }); ok {
		return h.labelsDecoder()
	}
	return nil
}

// relexParts is the head's relation head (relex architectures; nil
// otherwise).
func (m *Model) relexParts() *relexParts {
	if h, ok := m.head.(interface{ relationHead() *relexParts }); ok {
		return h.relationHead()
	}
	return nil
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
// a checkpoint fills them). Every architecture of data.Architectures has
// a head in archHeads.
func New(cfg *Config) (*Model, error) {
	arch, err := cfg.Architecture()
	if err != nil {
		return nil, err
	}
	newHead, ok := archHeads[arch]
	if !ok {
		return nil, fmt.Errorf("architecture %v is not implemented yet", arch)
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
	if cfg.RepresentSpans && arch.TokenLevel() && !arch.Decoder() {
		return nil, fmt.Errorf("gliner config: represent_spans is not supported yet for %v", arch)
	}
	m := &Model{Cfg: cfg, Arch: arch, Store: autograd.NewStore(), EncCfg: ec, Loss: losses.DefaultOptions(),
		plans: newPlanCache()}
	m.src = rand.NewPCG(0, 1)
	m.rng = rand.New(m.src)
	if m.head, err = newHead(m); err != nil {
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

// newLabelsPart registers the bi-encoders' labels encoder
// (gliner/modeling/encoder.py BiEncoder).
func (m *Model) newLabelsPart() (labelsPart, error) {
	raw := m.Cfg.LabelsEncoderConfig
	if len(raw) == 0 || string(raw) == "null" {
		return labelsPart{}, fmt.Errorf("gliner config: labels_encoder_config is required for %v (no encoder can be downloaded)", m.Arch)
	}
	lc, err := encoder.ParseConfig(raw)
	if err != nil {
		return labelsPart{}, fmt.Errorf("gliner config: labels_encoder_config: %w", err)
	}
	m.LabelsEncCfg = lc
	le, err := NewLabelEncoder(m.Store, lc, m.Cfg.HiddenSize)
	return labelsPart{labels: le}, err
}

// newBiEncoderParts registers what both bi-encoders share, in the
// reference's parameter order: the text encoder, the labels encoder and
// the BiLSTM (registered, not applied; gliner/modeling/base.py
// BiEncoderSpanModel and BiEncoderTokenModel).
func (m *Model) newBiEncoderParts() (labelsPart, error) {
	if err := m.addTextEncoder(); err != nil {
		return labelsPart{}, err
	}
	lp, err := m.newLabelsPart()
	if err != nil {
		return labelsPart{}, err
	}
	return lp, m.addRNN()
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

// newSpanParts registers markerV0 and prompt_rep_layer (span models; the
// token decoder and token relex use markerV0 for their span rows).
func (m *Model) newSpanParts() (spanParts, error) {
	var p spanParts
	var err error
	H := m.Cfg.HiddenSize
	if p.span, err = NewMarkerV0(m.Store, "span_rep_layer.span_rep_layer", H, m.Cfg.Dropout); err != nil {
		return p, err
	}
	p.prompt, err = layers.NewProjection(m.Store, "prompt_rep_layer", H, H, m.Cfg.Dropout)
	return p, err
}

// newScorerPart registers the token scorer (token models).
func (m *Model) newScorerPart() (scorerPart, error) {
	sc, err := NewScorer(m.Store, "scorer", m.Cfg.HiddenSize, m.Cfg.Dropout)
	return scorerPart{scorer: sc}, err
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
	defer func(t0 time.Time) { m.plans.setup += time.Since(t0) }(time.Now())
	g := autograd.NewGraph(m.Store, k.train)
	g.RNG = m.rng
	b := &builder{m: m, g: g, k: k, c: &compiled{named: map[string]*autograd.Node{}, inputs: map[string]bool{}}}
	m.head.build(b)
	if err := g.Err(); err != nil {
		return nil, fmt.Errorf("%v graph: %w", m.Arch, err)
	}
	outputs := []*autograd.Node{b.c.logits}
	for _, n := range b.c.named {
		outputs = append(outputs, n)
	}
	mach, err := autograd.CompileIn(m.plans.arena, g, b.c.loss, outputs...)
	if err != nil {
		return nil, err
	}
	b.c.m = mach
	return b.c, nil
}

// shapeOf returns a batch's shape key and its plan (what binding it needs
// beyond its tensors, made for this call only). labelEmb is given by
// ForwardWithLabelEmbeddings (nil otherwise).
func (m *Model) shapeOf(b *data.Batch, train bool, labelEmb *autograd.Value) (shapeKey, *batchPlan, error) {
	if b.InputIDs.Shape == nil || len(b.InputIDs.Shape) != 2 {
		return shapeKey{}, nil, fmt.Errorf("batch input_ids have shape %v, want (B,T)", b.InputIDs.Shape)
	}
	k := shapeKey{B: b.InputIDs.Shape[0], T: b.InputIDs.Shape[1], W: b.NumWords, C: b.NumClasses, train: train}
	if k.W == 0 || k.C == 0 {
		return k, nil, fmt.Errorf("batch has %d words and %d classes: nothing to score", k.W, k.C)
	}
	p := &batchPlan{train: train, labelEmb: labelEmb}
	if err := m.head.plan(m, &k, b, p); err != nil {
		return k, nil, err
	}
	return k, p, nil
}

// graph returns the cached plan of a shape, compiling it once.
func (m *Model) graph(k shapeKey) (*compiled, error) {
	c, ok := m.plans.graphs[k]
	if !ok {
		var err error
		if c, err = m.build(k); err != nil {
			return nil, err
		}
		m.plans.graphs[k] = c
		m.plans.built++
	}
	m.plans.touch(k, m.MaxGraphs)
	return c, nil
}

// graphFor returns the cached graph of a batch's shape, building it once,
// with the batch's plan.
func (m *Model) graphFor(b *data.Batch, train bool, labelEmb *autograd.Value) (*compiled, shapeKey, *batchPlan, error) {
	k, p, err := m.shapeOf(b, train, labelEmb)
	if err != nil {
		return nil, k, nil, err
	}
	c, err := m.graph(k)
	if err != nil {
		return nil, k, nil, err
	}
	return c, k, p, nil
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

func (m *Model) run(b *data.Batch, train bool, labelEmb *autograd.Value) (*compiled, error) {
	c, k, p, err := m.graphFor(b, train, labelEmb)
	if err != nil {
		return nil, err
	}
	if err := m.bind(c, k, b, p); err != nil {
		return nil, err
	}
	if err := m.head.bind(m, c, k, b, p); err != nil {
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
	if r := m.relexParts(); r != nil {
		return m.ForwardRelex(b, r.Threshold, r.AdjacencyThreshold)
	}
	c, err := m.run(b, false, nil)
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

// Place moves the model's parameters and gradients (autograd.Store.Place)
// and its activation arena to backend be, dropping the compiled plans
// (they bind the old memory). Training steps then run on be with the
// batch as their only upload (StepLoss).
func (m *Model) Place(be autograd.Backend) error {
	if err := m.Store.Place(be); err != nil {
		return err
	}
	for _, c := range m.plans.graphs {
		if err := c.m.Release(); err != nil {
			return err
		}
	}
	m.plans.graphs, m.plans.lru = map[shapeKey]*compiled{}, nil
	m.plans.arena = autograd.NewArena(be)
	return nil
}

// PlanInputBytes is what one training step on b uploads: the bytes of the
// inputs its compiled plan reads (compiling the plan if needed).
func (m *Model) PlanInputBytes(b *data.Batch) (int64, error) {
	c, _, _, err := m.graphFor(b, true, nil)
	if err != nil {
		return 0, err
	}
	return c.m.InputBytes(), nil
}

// Step runs a training forward and backward pass on a batch, adding the
// parameter gradients into the store (Param.Grad), and returns the loss
// and the outputs.
func (m *Model) Step(b *data.Batch) (*Output, error) {
	c, err := m.run(b, true, nil)
	if err != nil {
		return nil, err
	}
	return m.output(c)
}

// StepLoss is Step returning only the loss: it copies no logits or
// intermediates out of the arena, so a steady-state training step (same
// batch shape as an earlier one) allocates next to nothing. Trainers use
// it; Step is for callers that read the outputs. On a device backend
// (Place) the loss is the step's one download, 4 bytes.
func (m *Model) StepLoss(b *data.Batch) (float32, error) {
	c, err := m.run(b, true, nil)
	if err != nil {
		return 0, err
	}
	if c.loss == nil {
		return 0, fmt.Errorf("%v training graph has no loss", m.Arch)
	}
	return c.m.ReadCost()
}

// TrainedParams lists the parameters that received gradients in the last
// training step's graph (the others, like torch's p.grad None, must be
// skipped by the optimizer).
func (m *Model) TrainedParams(b *data.Batch) []*autograd.Param {
	c, _, _, err := m.graphFor(b, true, nil)
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
