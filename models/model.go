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

// Model is a GLiNER network: its config, its parameters and its graphs,
// built once per batch-shape bucket and reused.
type Model struct {
	Cfg    *Config
	Arch   Architecture
	Store  *autograd.Store
	EncCfg *encoder.Config
	// Loss configures the training loss (defaults: the reference's
	// alpha -1, gamma 0, sum).
	Loss losses.Options

	enc    *encoder.Encoder
	proj   *layers.Linear
	rnn    *BiLSTM
	span   *MarkerV0
	prompt *layers.Projection

	rng    *rand.Rand
	graphs map[shapeKey]*compiled
}

type shapeKey struct {
	B, T, W, C int
	train      bool
}

// New builds a model from its config, registering every parameter under
// the reference's state-dict names (values are zero until Initialize or
// a checkpoint fills them).
func New(cfg *Config) (*Model, error) {
	arch, err := cfg.Architecture()
	if err != nil {
		return nil, err
	}
	if arch != UniEncoderSpan {
		return nil, fmt.Errorf("architecture %v is not implemented yet (implemented: %v)", arch, UniEncoderSpan)
	}
	if len(cfg.EncoderConfig) == 0 || string(cfg.EncoderConfig) == "null" {
		return nil, fmt.Errorf("gliner config: encoder_config is required (no encoder can be downloaded)")
	}
	ec, err := encoder.ParseConfig(cfg.EncoderConfig)
	if err != nil {
		return nil, fmt.Errorf("gliner config: %w", err)
	}
	if cfg.FuseLayers {
		return nil, fmt.Errorf("gliner config: fuse_layers is not supported yet")
	}
	m := &Model{Cfg: cfg, Arch: arch, Store: autograd.NewStore(), EncCfg: ec, Loss: losses.DefaultOptions(),
		rng: rand.New(rand.NewPCG(0, 1)), graphs: map[shapeKey]*compiled{}}
	s := m.Store
	if m.enc, err = encoder.New(s, TextEncoderPrefix, ec); err != nil {
		return nil, err
	}
	H := cfg.HiddenSize
	if H != ec.HiddenSize {
		if m.proj, err = layers.NewLinear(s, "token_rep_layer.projection", ec.HiddenSize, H, true, nil); err != nil {
			return nil, err
		}
	}
	if cfg.NumRNNLayers > 0 {
		if H%2 != 0 {
			return nil, fmt.Errorf("gliner config: hidden_size %d must be even for the BiLSTM", H)
		}
		if m.rnn, err = NewBiLSTM(s, "rnn.lstm", H, H/2, cfg.NumRNNLayers); err != nil {
			return nil, err
		}
	}
	if m.span, err = NewMarkerV0(s, "span_rep_layer.span_rep_layer", H, cfg.Dropout); err != nil {
		return nil, err
	}
	if m.prompt, err = layers.NewProjection(s, "prompt_rep_layer", H, H, cfg.Dropout); err != nil {
		return nil, err
	}
	return m, nil
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
	wf, err := checkpoints.WeightsFile(dir)
	if err != nil {
		return nil, err
	}
	st, err := checkpoints.ReadState(wf)
	if err != nil {
		return nil, err
	}
	if err := m.Store.LoadState(st, nil, checkpoints.LoadOptions{}); err != nil {
		return nil, err
	}
	return m, nil
}

// compiled is one bucket's graph and machine with the nodes callers read.
type compiled struct {
	m                               *autograd.Machine
	logits, loss                    *autograd.Node
	encOut, tokRep, wordsPre, words *autograd.Node
	spanRep, promptsPre, prompts    *autograd.Node
}

func (m *Model) build(k shapeKey) (*compiled, error) {
	g := autograd.NewGraph(m.Store, k.train)
	g.RNG = m.rng
	K := m.Cfg.MaxWidth
	S := k.W * K
	ids := g.IntInput("input_ids", k.B, k.T)
	mask := g.IntInput("attention_mask", k.B, k.T)
	wordIdx := g.IntInput("words_idx", k.B, k.W)
	promptIdx := g.IntInput("prompt_idx", k.B, k.C)
	lengths := g.IntInput("text_lengths", k.B)
	spanStart := g.IntInput("span_start", k.B, S)
	spanEnd := g.IntInput("span_end", k.B, S)

	c := &compiled{}
	c.encOut = m.enc.Forward(g, ids, mask)
	c.tokRep = c.encOut
	if m.proj != nil {
		c.tokRep = m.proj.Forward(g, c.encOut)
	}
	c.promptsPre = autograd.GatherRows(c.tokRep, promptIdx)
	c.wordsPre = autograd.GatherRows(c.tokRep, wordIdx)
	c.words = c.wordsPre
	if m.rnn != nil {
		c.words = m.rnn.Forward(g, c.wordsPre, lengths)
	}
	span := m.span.Forward(g, c.words, spanStart, spanEnd) // (B,S,H)
	c.spanRep = autograd.Reshape(span, k.B, k.W, K, m.Cfg.HiddenSize)
	c.prompts = m.prompt.Forward(g, c.promptsPre)
	c.logits = autograd.Reshape(autograd.BatchMatMulNT(span, c.prompts), k.B, k.W, K, k.C)
	outputs := []*autograd.Node{c.logits, c.encOut, c.tokRep, c.wordsPre, c.words, c.spanRep, c.promptsPre, c.prompts}
	if k.train {
		labels := g.Input("labels", k.B, S, k.C)
		spanMask := g.Input("span_mask", k.B, S)
		promptMask := g.Input("prompts_mask", k.B, k.C)
		c.loss = SpanLoss(c.logits, labels, spanMask, promptMask, m.Loss, m.rng)
	}
	if err := g.Err(); err != nil {
		return nil, err
	}
	mach, err := autograd.Compile(g, c.loss, outputs...)
	if err != nil {
		return nil, err
	}
	c.m = mach
	return c, nil
}

// graphFor returns the cached graph of a batch's shape, building it once.
func (m *Model) graphFor(b *data.Batch, train bool) (*compiled, shapeKey, error) {
	k := shapeKey{B: b.InputIDs.Shape[0], T: b.InputIDs.Shape[1], W: b.NumWords, C: b.NumClasses, train: train}
	if k.W == 0 || k.C == 0 {
		return nil, k, fmt.Errorf("batch has %d words and %d classes: nothing to score", k.W, k.C)
	}
	c, ok := m.graphs[k]
	if !ok {
		var err error
		if c, err = m.build(k); err != nil {
			return nil, k, err
		}
		m.graphs[k] = c
	}
	return c, k, nil
}

// bind copies a batch into the bucket's inputs.
func (m *Model) bind(c *compiled, k shapeKey, b *data.Batch, train bool) error {
	K := m.Cfg.MaxWidth
	S := k.W * K
	wordIdx := make([]int64, k.B*k.W)
	promptIdx := make([]int64, k.B*k.C)
	for i := range wordIdx {
		wordIdx[i] = -1
	}
	for i := range promptIdx {
		promptIdx[i] = -1
	}
	promptMask := make([]float32, k.B*k.C)
	classTok := int64(m.Cfg.ClassTokenIndex)
	for bi := 0; bi < k.B; bi++ {
		n := 0
		for t := 0; t < k.T; t++ {
			p := bi*k.T + t
			if w := b.WordsMask.Data[p]; w > 0 && int(w) <= k.W {
				wordIdx[bi*k.W+int(w)-1] = int64(t)
			}
			if b.InputIDs.Data[p] == classTok && n < k.C {
				pos := int64(t)
				if !m.Cfg.EmbedEntToken {
					pos++
				}
				promptIdx[bi*k.C+n] = pos
				promptMask[bi*k.C+n] = 1
				n++
			}
		}
		if n != len(b.IDToClass[bi]) {
			return fmt.Errorf("example %d: %d <<ENT>> tokens (id %d) in the prompt, %d classes", bi, n, classTok, len(b.IDToClass[bi]))
		}
	}
	lengths := make([]int64, k.B)
	for bi := range lengths {
		lengths[bi] = b.TextLengths.Data[bi]
	}
	start := make([]int64, k.B*S)
	end := make([]int64, k.B*S)
	spanMask := make([]float32, k.B*S)
	for i := 0; i < k.B*S; i++ {
		if b.SpanMask.Data[i] {
			start[i] = b.SpanIdx.Data[2*i]
			end[i] = b.SpanIdx.Data[2*i+1]
			spanMask[i] = 1
		}
	}
	mc := c.m
	for _, err := range []error{
		mc.SetInts("input_ids", b.InputIDs.Data, k.B, k.T),
		mc.SetInts("attention_mask", b.AttentionMask.Data, k.B, k.T),
		mc.SetInts("words_idx", wordIdx, k.B, k.W),
		mc.SetInts("prompt_idx", promptIdx, k.B, k.C),
		mc.SetInts("text_lengths", lengths, k.B),
		mc.SetInts("span_start", start, k.B, S),
		mc.SetInts("span_end", end, k.B, S),
	} {
		if err != nil {
			return err
		}
	}
	if train {
		if b.Labels.Shape == nil {
			return fmt.Errorf("training batch has no labels")
		}
		for _, err := range []error{
			mc.SetFloats("labels", b.Labels.Data, k.B, S, k.C),
			mc.SetFloats("span_mask", spanMask, k.B, S),
			mc.SetFloats("prompts_mask", promptMask, k.B, k.C),
		} {
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// Output holds a forward pass's tensors (copies, safe to keep).
type Output struct {
	// Logits (B,W,K,C).
	Logits autograd.Value
	// Loss is set for training passes.
	Loss float32
	// Intermediates by the fixtures' names (encoder_last_hidden_state,
	// token_rep_layer_output, words_embedding_pre_rnn,
	// words_embedding_post_rnn, span_rep, prompts_embedding_pre_proj,
	// prompts_embedding_post_proj).
	Intermediates map[string]autograd.Value
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
	if err := c.m.Run(); err != nil {
		return nil, err
	}
	return c, nil
}

// Forward runs the model on a batch in evaluation mode (no dropout, no
// gradients) and returns the logits and intermediates.
func (m *Model) Forward(b *data.Batch) (*Output, error) {
	c, err := m.run(b, false)
	if err != nil {
		return nil, err
	}
	return m.output(c)
}

func (m *Model) output(c *compiled) (*Output, error) {
	o := &Output{Intermediates: map[string]autograd.Value{}}
	named := map[string]*autograd.Node{
		"encoder_last_hidden_state": c.encOut, "token_rep_layer_output": c.tokRep,
		"words_embedding_pre_rnn": c.wordsPre, "words_embedding_post_rnn": c.words,
		"span_rep": c.spanRep, "prompts_embedding_pre_proj": c.promptsPre, "prompts_embedding_post_proj": c.prompts,
	}
	for n, node := range named {
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
