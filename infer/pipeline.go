// Package infer is GLiNER's prediction pipeline: text → words (the
// reference's splitter, character offsets in Unicode code points) →
// windows (texts longer than the model accepts are split, never
// truncated) → batches (the reference collator) → model forward → σ →
// decoding (threshold, flat/nested, multi-label) → entities with
// character and word offsets, as the reference's predict_entities gives
// them. `gliner predict`, `gliner evaluate` and self-training's teacher
// all go through it.
//
// Windows and merging: a text longer than the window (Options.WindowWords,
// default the model's max_len words, and never more sub-tokens than the
// tokenizer's model_max_length with the label prompt) is cut into windows
// that start Options.Stride words apart (default half a window; a window
// shortened by the sub-token limit moves the next start by at most its
// own length, so no word is skipped). Each window is decoded on its own;
// its entities are shifted back to the text's word indices, entities
// found by several windows (same start, end and label) are kept once with
// their highest score, and the union is selected again greedily under the
// same flat/nested/multi-label rule, so the merged result obeys the rule
// the caller asked for. Texts that fit in one window are decoded exactly
// as the reference does (except that token models never emit entities on
// padding words, which the reference's token decoder can; see
// decode.Tokens).
//
// Architectures: UniEncoderSpan, UniEncoderToken, BiEncoderSpan,
// BiEncoderToken and UniEncoderSpanDecoder (bi-encoders and the span
// decoder need their second tokenizer, see LoadOptions) and
// UniEncoderSpanRelex.
//
// Generated labels (UniEncoderSpanDecoder): entities are decoded as for
// span models; then, per batch, the labels decoder names every span the
// model keeps (best class probability > Options.Threshold, the
// reference's rule) by greedy generation of up to Options.MaxNewTokens
// tokens (default models.DefaultMaxNewTokens), optionally constrained to
// the given labels (Options.ConstrainLabels: the reference's label trie).
// Options.LabelMode "enrich" keeps each entity's class label and sets
// Entity.GeneratedLabels; "replace" also makes the generated label (spaces
// trimmed) the entity's Label; "off" skips generation (Evaluate's default);
// "" is the model's default (models.Model.DefaultLabelMode: replace for
// decoder_mode "prompt", enrich for "span"). Windows: each window's spans
// are named within it; when windows are merged, an entity keeps the
// generated label of the window whose score won, and "replace" is applied
// after the merge (greedy selection runs on class labels and scores).
// Generation follows the model's Loss.ReferenceCompat: off (the default)
// masks the prefix padding, so a span's label does not depend on the other
// spans of its batch; on, the prefix is laid out and attended as the
// reference does (batch-dependent, as in the reference).
// Shape buckets: without ReferenceCompat they change nothing (padded words
// have no spans, padded classes are not in a span's best-class test, the
// decoder tensors are not padded); with it the reference's test takes the
// maximum over every class column, padded ones included (on the fixture,
// padding 3 classes to 4 makes every span pass), so decoder batches are
// then never padded to buckets.
//
// Relations (UniEncoderSpanRelex): the caller gives the relation types
// (Options.Relations; a relex model cannot run without them, another model
// refuses them). Entities are decoded as for span models; relations as the
// reference does (gliner/decoding/decoder.py SpanRelexDecoder): the model's
// entities (σ > Threshold) and pairs (adjacency > AdjacencyThreshold, default
// Threshold) give, for every relation type with σ > RelationThreshold
// (default Threshold), a relation whose head and tail index the returned
// entities of that text; pairs whose entity was dropped by greedy decoding
// are skipped. Relations are only predicted within a window: two entities
// that never share a window are never related. When a text's windows are
// merged, a window's relation is kept when both its entities (same words and
// label) survive the merge; one relation per (head, tail, type) is kept, with
// its highest score, in the order first found (window, then pair, then type).
// Relex batches are never padded to shape buckets (padding classes would
// change which entities the model selects).
package infer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/models"
)

// Pipeline holds a loaded model, its tokenizer and the collator configured
// from the model's config. It is not safe for concurrent use.
type Pipeline struct {
	Model     *models.Model
	Tokenizer tokenizer.Tokenizer
	// LabelsTokenizer is the second tokenizer: the labels encoder's for
	// bi-encoders, the labels decoder's for the span decoder (nil for the
	// other architectures).
	LabelsTokenizer tokenizer.Tokenizer
	// Dir is the model folder (empty for New).
	Dir string
	// LabelEmbeddings, when set (UseLabelEmbeddings), replace the labels
	// encoder's run on every batch (bi-encoders).
	LabelEmbeddings *models.LabelEmbeddings

	arch      data.Architecture
	collator  *data.Collator
	maxTokens int // tokenizer's model_max_length; 0 = no limit
	// decTok decodes generated label ids (span decoders only).
	decTok models.DecoderTokenizer
}

// LoadOptions tune LoadWith.
type LoadOptions struct {
	// TokenizerDir overrides where the tokenizer is read from.
	TokenizerDir string
	// LabelsTokenizerDir is the bi-encoders' labels-encoder tokenizer
	// (default: <dir>/labels_tokenizer when it exists; the reference
	// loads it from the labels_encoder hub id, which is not in the folder).
	LabelsTokenizerDir string
	// DecoderTokenizerDir is the span decoder's labels-decoder tokenizer
	// (default: <dir>/decoder_tokenizer when it exists, as in the
	// fixtures; the reference loads it from the labels_decoder hub id).
	DecoderTokenizerDir string
}

// Load reads a GLiNER model folder: gliner_config.json, model.safetensors
// (else pytorch_model.bin) and the tokenizer, found in <dir>/tokenizer/
// when that folder exists (the fixtures' layout), else at the top level of
// dir (the reference's save_pretrained layout).
func Load(dir string) (*Pipeline, error) { return LoadWith(dir, LoadOptions{}) }

// LoadWith is Load with options.
func LoadWith(dir string, o LoadOptions) (*Pipeline, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("model folder %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("model folder %s: not a folder", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "gliner_config.json")); err != nil {
		return nil, fmt.Errorf("model folder %s: missing gliner_config.json: %w", dir, err)
	}
	if !exists(filepath.Join(dir, "model.safetensors")) && !exists(filepath.Join(dir, "pytorch_model.bin")) {
		return nil, fmt.Errorf("model folder %s: missing weights: neither model.safetensors nor pytorch_model.bin", dir)
	}
	tokDir := o.TokenizerDir
	if tokDir == "" {
		tokDir = TokenizerDir(dir)
	}
	tok, err := tokenizer.Load(tokDir)
	if err != nil {
		return nil, fmt.Errorf("model folder %s: tokenizer in %s: %w", dir, tokDir, err)
	}
	m, err := models.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("model folder %s: %w", dir, err)
	}
	var labelsTok tokenizer.Tokenizer
	aux := func(given, sub, what, flag string) error {
		ld := given
		if ld == "" {
			ld = filepath.Join(dir, sub)
			if st, err := os.Stat(ld); err != nil || !st.IsDir() {
				return fmt.Errorf("model folder %s: %v needs the %s: no %s folder, give its folder (%s)", dir, m.Arch, what, ld, flag)
			}
		}
		if labelsTok, err = tokenizer.Load(ld); err != nil {
			return fmt.Errorf("model folder %s: %s in %s: %w", dir, what, ld, err)
		}
		return nil
	}
	switch {
	case m.Arch.BiEncoder():
		if err := aux(o.LabelsTokenizerDir, models.LabelsTokenizerDir, "labels encoder's tokenizer", "--labels-tokenizer"); err != nil {
			return nil, err
		}
		ld := o.LabelsTokenizerDir
		if ld == "" {
			ld = filepath.Join(dir, models.LabelsTokenizerDir)
		}
		if err := m.CheckLabelsTokenizer(ld, labelsTok); err != nil {
			return nil, fmt.Errorf("model folder %s: %w", dir, err)
		}
	case m.Arch.Decoder():
		ld := o.DecoderTokenizerDir
		if ld == "" {
			ld = filepath.Join(dir, models.DecoderTokenizerDir)
		}
		// Checked against the checkpoint: same vocabulary size, same end token.
		bpe, err := m.CheckDecoderTokenizer(ld)
		if err != nil {
			return nil, fmt.Errorf("model folder %s: %v needs the labels decoder's tokenizer (%s/, or give its folder with --decoder-tokenizer): %w",
				dir, m.Arch, models.DecoderTokenizerDir, err)
		}
		labelsTok = bpe
	}
	p, err := NewWith(m, tok, labelsTok)
	if err != nil {
		return nil, fmt.Errorf("model folder %s (tokenizer %s): %w", dir, tokDir, err)
	}
	p.Dir = dir
	return p, nil
}

// TokenizerDir is where Load looks for a model folder's tokenizer:
// <dir>/tokenizer when it is a folder, else dir.
func TokenizerDir(dir string) string {
	sub := filepath.Join(dir, "tokenizer")
	if st, err := os.Stat(sub); err == nil && st.IsDir() {
		return sub
	}
	return dir
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}

// New builds a pipeline around a uni-encoder model and its tokenizer. The
// tokenizer must hold the prompt markers (ent_token, sep_token), with
// ent_token's id equal to the config's class_token_index when that is set.
func New(m *models.Model, tok tokenizer.Tokenizer) (*Pipeline, error) { return NewWith(m, tok, nil) }

// NewWith is New with the labels tokenizer bi-encoders need.
func NewWith(m *models.Model, tok, labelsTok tokenizer.Tokenizer) (*Pipeline, error) {
	if m == nil || tok == nil {
		return nil, fmt.Errorf("infer: nil model or tokenizer")
	}
	arch := m.Arch
	switch {
	case !arch.NeedsAuxTokenizer():
		labelsTok = nil
	case labelsTok == nil:
		return nil, fmt.Errorf("infer: %v needs its second tokenizer (labels encoder's or labels decoder's)", arch)
	}
	cfg := m.Cfg
	cc := m.CollatorConfig()
	markers := []string{cfg.EntToken, cfg.SepToken}
	if arch.Relex() {
		rel := cc.RelToken
		id, ok := tok.TokenToID(rel)
		if !ok {
			return nil, fmt.Errorf("tokenizer has no %q token (a relex model's tokenizer must include GLiNER's added tokens)", rel)
		}
		if cfg.RelTokenIndex >= 0 && id != cfg.RelTokenIndex {
			return nil, fmt.Errorf("tokenizer's %q id %d differs from rel_token_index %d in gliner_config.json", rel, id, cfg.RelTokenIndex)
		}
	}
	for _, t := range markers {
		if _, ok := tok.TokenToID(t); !ok && !arch.BiEncoder() {
			return nil, fmt.Errorf("tokenizer has no %q token (the folder's tokenizer must include GLiNER's added tokens)", t)
		}
	}
	if id, ok := tok.TokenToID(cfg.EntToken); ok && cfg.ClassTokenIndex >= 0 && id != cfg.ClassTokenIndex {
		return nil, fmt.Errorf("tokenizer's %q id %d differs from class_token_index %d in gliner_config.json", cfg.EntToken, id, cfg.ClassTokenIndex)
	}
	if ml, ok := tok.(interface{ ModelMaxLength() int }); ok {
		cc.ModelMaxLength = ml.ModelMaxLength()
	}
	if pe := m.EncCfg.MaxPositionEmbeddings; pe > 0 && (cc.ModelMaxLength == 0 || cc.ModelMaxLength > pe) {
		// Positions past the encoder's table do not exist: never feed more.
		cc.ModelMaxLength = pe
	}
	cc.Truncation = data.TruncateError
	col, err := data.NewCollator(cc, tok, labelsTok, 0)
	if err != nil {
		return nil, err
	}
	p := &Pipeline{Model: m, Tokenizer: tok, LabelsTokenizer: labelsTok, arch: arch, collator: col, maxTokens: cc.ModelMaxLength}
	if arch.Decoder() {
		dt, ok := labelsTok.(models.DecoderTokenizer)
		if !ok {
			return nil, fmt.Errorf("infer: the labels decoder's tokenizer is a %T, which cannot decode generated ids (want a byte-level BPE)", labelsTok)
		}
		if d := m.Decoder(); d == nil {
			return nil, fmt.Errorf("infer: %v model has no labels decoder", arch)
		} else if n, want := labelsTok.VocabSize(), d.Cfg.VocabSize; n != want {
			return nil, fmt.Errorf("infer: the labels decoder's tokenizer has %d ids, the checkpoint's decoder %d (%s.transformer.wte.weight rows)",
				n, want, models.DecoderPrefix)
		}
		p.decTok = dt
	}
	return p, nil
}

// MaxWords is the most text words one window holds by default: the
// model's max_len.
func (p *Pipeline) MaxWords() int { return p.Model.Cfg.MaxLen }

// MaxTokens is the sub-token limit of one sequence (prompt, text and
// special tokens): the tokenizer's model_max_length, capped by the
// encoder's max_position_embeddings (0 when neither is set).
func (p *Pipeline) MaxTokens() int { return p.maxTokens }
