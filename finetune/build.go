package finetune

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/models"
	"github.com/gliner-go/gliner/models/encoder"
)

// Source says where a built model came from.
type Source int

// The three model sources of a recipe.
const (
	FromGLiNER     Source = iota // model.prev_path
	FromEncoder                  // model.model_name
	FromRandomInit               // model.encoder_config
)

func (s Source) String() string {
	return [...]string{"prev_path", "model_name", "encoder_config"}[s]
}

// GLiNERTokens are the tokens appended to the tokenizer of a new span model,
// in order (gliner/model.py BaseGLiNER._get_special_tokens).
var GLiNERTokens = []string{"[FLERT]", "<<ENT>>", "<<SEP>>"}

// wordEmbeddings is the encoder's token embedding matrix (bare-model key).
const wordEmbeddings = "embeddings.word_embeddings.weight"

// Built is a model ready to train with its tokenizer.
type Built struct {
	Model     *models.Model
	Tokenizer tokenizer.Tokenizer
	Source    Source
	// DecoderTokenizer is a span decoder's labels-decoder tokenizer (nil
	// for other architectures).
	DecoderTokenizer tokenizer.Tokenizer
	// LabelsTokenizer is a bi-encoder's labels-encoder tokenizer (nil for
	// other architectures; biencoder.go).
	LabelsTokenizer tokenizer.Tokenizer
}

// BuildModel constructs the recipe's model and tokenizer. trainWords are
// the training texts' words, used only to build the vocabulary of a random
// encoder (model.encoder_config). Seeds come from training.seed.
func BuildModel(r *Recipe, trainWords [][]string) (*Built, error) {
	m := &r.Model
	switch {
	case !isNone(m.PrevPath):
		var hint string
		if m.BiEncoder != nil && !isNone(m.BiEncoder.LabelsEncoder) {
			hint = m.BiEncoder.LabelsEncoder
		}
		return buildFromGLiNER(m.PrevPath, hint)
	case !isNone(m.ModelName):
		return buildFromEncoder(r, trainWords)
	case len(m.EncoderConfig) > 0:
		return buildRandom(r, trainWords)
	}
	return nil, fmt.Errorf("model: no source (prev_path, model_name or encoder_config)")
}

// LoadTokenizer reads a GLiNER folder's tokenizer: from the folder when it
// holds tokenizer_config.json (the reference's layout), else from its
// tokenizer/ subfolder when there is one, else from the folder's files.
func LoadTokenizer(dir string) (tokenizer.Tokenizer, error) {
	isFile := func(p string) bool { st, err := os.Stat(p); return err == nil && !st.IsDir() }
	isDir := func(p string) bool { st, err := os.Stat(p); return err == nil && st.IsDir() }
	if !isFile(filepath.Join(dir, "tokenizer_config.json")) && isDir(filepath.Join(dir, "tokenizer")) {
		return tokenizer.Load(filepath.Join(dir, "tokenizer"))
	}
	return tokenizer.Load(dir)
}

// buildFromGLiNER loads a GLiNER folder (model.prev_path). labelsHint is
// the recipe's model.bi_encoder.labels_encoder ("" when unset), the last
// place a bi-encoder's labels tokenizer is looked for.
func buildFromGLiNER(dir, labelsHint string) (*Built, error) {
	mod, err := models.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("model.prev_path: %w", err)
	}
	tok, err := LoadTokenizer(dir)
	if err != nil {
		return nil, fmt.Errorf("model.prev_path: %w", err)
	}
	if mod.Arch.BiEncoder() {
		if err := checkBiEncoderTextTokenizer(dir, mod, tok); err != nil {
			return nil, err
		}
	} else {
		cfg := mod.Cfg
		if cfg.ClassTokenIndex < 0 || cfg.VocabSize < 0 {
			return nil, fmt.Errorf("model.prev_path %s: gliner_config.json has class_token_index %d and vocab_size %d; a trained GLiNER folder has both set", dir, cfg.ClassTokenIndex, cfg.VocabSize)
		}
		if id, ok := tok.TokenToID(cfg.EntToken); !ok || id != cfg.ClassTokenIndex {
			return nil, fmt.Errorf("model.prev_path %s: tokenizer gives %q id %d (present %v), gliner_config.json class_token_index %d", dir, cfg.EntToken, id, ok, cfg.ClassTokenIndex)
		}
		if tok.VocabSize() != mod.EncCfg.VocabSize {
			return nil, fmt.Errorf("model.prev_path %s: tokenizer has %d tokens, the encoder %d embedding rows", dir, tok.VocabSize(), mod.EncCfg.VocabSize)
		}
	}
	dtok, err := loadGLiNERDecoderTokenizer(mod, dir)
	if err != nil {
		return nil, err
	}
	ltok, err := loadGLiNERLabelsTokenizer(mod, dir, labelsHint)
	if err != nil {
		return nil, err
	}
	return &Built{Model: mod, Tokenizer: tok, Source: FromGLiNER, DecoderTokenizer: dtok, LabelsTokenizer: ltok}, nil
}

// checkBiEncoderTextTokenizer checks a bi-encoder folder's text tokenizer
// against its text encoder. The reference's bi-encoder leaves
// class_token_index and vocab_size at -1 and adds [FLERT], <<ENT>>,
// <<SEP>> to the text tokenizer without resizing the text encoder's
// embeddings (gliner/model.py BaseBiEncoderGLiNER.resize_embeddings only
// warns), so the tokenizer may have those ids past the embedding table. A
// bi-encoder's text carries no prompt (gliner/data_processing/processor.py
// BaseBiEncoderProcessor.tokenize_inputs tokenizes the words alone), so
// those tokens never reach the text encoder; every other id,
// and the special ids the collator adds, must have an embedding row.
func checkBiEncoderTextTokenizer(dir string, mod *models.Model, tok tokenizer.Tokenizer) error {
	rows := mod.EncCfg.VocabSize
	if emb, ok := mod.Store.Get(models.TextEncoderPrefix + "." + wordEmbeddings); ok && len(emb.Shape) == 2 {
		rows = emb.Shape[0]
	}
	glinerTok := map[string]bool{}
	for _, t := range GLiNERTokens {
		glinerTok[t] = true
	}
	for id := rows; id < tok.VocabSize(); id++ {
		name := tok.Tokens([]int{id})
		if len(name) != 1 || !glinerTok[name[0]] {
			return fmt.Errorf("model.prev_path %s: text tokenizer id %d (%q) has no row in the text encoder's embedding (%d rows): only GLiNER's added tokens %v, which a bi-encoder never puts in the text, may lie past it",
				dir, id, name, rows, GLiNERTokens)
		}
	}
	sp := tok.SpecialIDs()
	for _, x := range []struct {
		name string
		id   int
	}{{"pad", sp.Pad}, {"cls", sp.CLS}, {"sep", sp.SEP}, {"unk", sp.UNK}} {
		if x.id >= rows {
			return fmt.Errorf("model.prev_path %s: text tokenizer's %s id %d has no row in the text encoder's embedding (%d rows)", dir, x.name, x.id, rows)
		}
	}
	return nil
}

// glinerConfig is the gliner_config.json of a new model from the recipe.
func glinerConfig(m *ModelSection, encCfg []byte) *models.Config {
	c := models.DefaultConfig()
	c.Name, c.MaxWidth, c.HiddenSize, c.Dropout = m.Name, m.MaxWidth, m.HiddenSize, m.Dropout
	c.FineTune, c.SubtokenPooling, c.FuseLayers, c.PostFusionSchema = m.FineTune, m.SubtokenPooling, m.FuseLayers, m.PostFusionSchema
	c.SpanMode, c.MaxTypes, c.MaxLen, c.MaxNegTypeRatio = m.SpanMode, m.MaxTypes, m.MaxLen, m.MaxNegTypeRatio
	c.NumRNNLayers, c.WordsSplitterType, c.EmbedEntToken = m.NumRNNLayers, m.WordsSplitterType, m.EmbedEntToken
	c.EncoderConfig = encCfg
	applyRelex(&c, m.Relex)
	return &c
}

// addGLiNERTokens appends [FLERT], <<ENT>>, <<SEP>> and returns
// class_token_index and vocab_size as the reference sets them
// (gliner/model.py BaseEncoderGLiNER.set_class_indices and
// resize_embeddings): len(tokenizer)−2 and len(tokenizer).
func addGLiNERTokens(tok tokenizer.Tokenizer) (classIdx, vocab int, err error) {
	for _, t := range GLiNERTokens {
		if _, ok := tok.TokenToID(t); ok {
			return 0, 0, fmt.Errorf("tokenizer already has %q: not a fresh encoder tokenizer", t)
		}
	}
	tok.AddSpecialTokens(GLiNERTokens...)
	n := tok.VocabSize()
	if id, _ := tok.TokenToID("<<ENT>>"); id != n-2 {
		return 0, 0, fmt.Errorf("<<ENT>> got id %d, want len(tokenizer)−2 = %d", id, n-2)
	}
	return n - 2, n, nil
}

// newModel builds and initialises a model, freezing nothing.
func newModel(cfg *models.Config, seed uint64) (*models.Model, error) {
	mod, err := models.New(cfg)
	if err != nil {
		return nil, err
	}
	mod.Initialize(seed)
	return mod, nil
}

// randomVocab is the WordPiece vocabulary of a random encoder (text or
// labels) built from words with the recipe's model.vocab options.
func randomVocab(r *Recipe, words [][]string) ([]string, bool, error) {
	v := r.Model.Vocab
	vocab, err := tokenizer.BuildWordPieceVocab(words, tokenizer.VocabOptions{Lowercase: v.Lowercase, MinFrequency: v.MinFrequency, MaxWords: v.MaxWords})
	if err != nil {
		return nil, false, fmt.Errorf("model.vocab: %w", err)
	}
	return vocab, v.Lowercase, nil
}

// buildFromEncoder starts a new model from a Hugging Face encoder folder
// (model.model_name): the reference's load_from_config with
// backbone_from_pretrained (gliner/model.py BaseGLiNER.load_from_config,
// gliner/modeling/encoder.py Transformer). trainWords make the vocabulary
// of a random labels encoder (model.bi_encoder.labels_encoder_config).
func buildFromEncoder(r *Recipe, trainWords [][]string) (*Built, error) {
	dir := r.Model.ModelName
	pre, err := encoder.LoadPretrained(dir)
	if err != nil {
		return nil, fmt.Errorf("model.model_name: %w", err)
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("model.model_name: %w", err)
	}
	classIdx, relIdx, vocab, err := addModelTokens(tok, r.Model.Relex != nil)
	if err != nil {
		return nil, fmt.Errorf("model.model_name %s: %w", dir, err)
	}
	emb, ok := pre.Tensors[wordEmbeddings]
	if !ok || len(emb.Shape) != 2 || emb.Data == nil {
		return nil, fmt.Errorf("model.model_name %s: no float tensor %s", dir, wordEmbeddings)
	}
	// resize_token_embeddings(len(tokenizer)): keep the first rows, draw
	// new ones from N(0, initializer_range²); this may shrink the matrix.
	rng := rand.New(rand.NewPCG(r.Training.Seed, 0x7265736976))
	rows, dim := emb.Shape[0], emb.Shape[1]
	resized, err := encoder.ResizeRows(emb.Data, rows, vocab, dim, pre.Config.InitializerRange, rng)
	if err != nil {
		return nil, fmt.Errorf("model.model_name %s: %w", dir, err)
	}
	pre.Tensors[wordEmbeddings] = &checkpoints.StateTensor{Name: emb.Name, DType: emb.DType, Shape: []int{vocab, dim}, Data: resized}
	pre.Config.VocabSize = vocab
	encJSON, err := json.Marshal(pre.Config)
	if err != nil {
		return nil, fmt.Errorf("model.model_name %s: encoder config: %w", dir, err)
	}
	cfg := glinerConfig(&r.Model, encJSON)
	cfg.ModelName = dir
	cfg.ClassTokenIndex, cfg.VocabSize, cfg.RelTokenIndex = classIdx, vocab, relIdx
	dec, err := prepareDecoder(r.Model.Decoder)
	if err != nil {
		return nil, err
	}
	dec.apply(cfg)
	bi, err := prepareBiEncoder(r.Model.BiEncoder, func() ([]string, bool, error) { return randomVocab(r, trainWords) })
	if err != nil {
		return nil, err
	}
	bi.apply(cfg)
	mod, err := newModel(cfg, r.Training.Seed)
	if err != nil {
		return nil, fmt.Errorf("model.model_name %s: %w", dir, err)
	}
	dtok, err := dec.load(mod)
	if err != nil {
		return nil, err
	}
	// The encoder's weights replace its random initialisation; the GLiNER
	// head (everything outside the encoder) keeps its random one.
	if err := loadEncoderWeights(mod, pre, models.TextEncoderPrefix); err != nil {
		return nil, fmt.Errorf("model.model_name: %w", err)
	}
	ltok, err := bi.load(mod)
	if err != nil {
		return nil, err
	}
	return &Built{Model: mod, Tokenizer: tok, Source: FromEncoder, DecoderTokenizer: dtok, LabelsTokenizer: ltok}, nil
}

func buildRandom(r *Recipe, trainWords [][]string) (*Built, error) {
	vocab, lowercase, err := randomVocab(r, trainWords)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.NewBertWordPiece(vocab, lowercase)
	if err != nil {
		return nil, fmt.Errorf("model.vocab: %w", err)
	}
	classIdx, relIdx, n, err := addModelTokens(tok, r.Model.Relex != nil)
	if err != nil {
		return nil, fmt.Errorf("model.vocab: %w", err)
	}
	ec := map[string]any{}
	for k, x := range r.Model.EncoderConfig {
		ec[k] = x
	}
	if x, ok := ec["vocab_size"]; ok && x != nil {
		return nil, fmt.Errorf("model.encoder_config.vocab_size %v: leave it out, it is the size of the vocabulary built from the training data", x)
	}
	ec["vocab_size"] = n
	if _, ok := ec["pad_token_id"]; !ok {
		ec["pad_token_id"] = 0
	}
	encJSON, err := json.Marshal(ec)
	if err != nil {
		return nil, fmt.Errorf("model.encoder_config: %w", err)
	}
	if _, err := encoder.ParseConfig(encJSON); err != nil {
		return nil, fmt.Errorf("model.encoder_config: %w", err)
	}
	cfg := glinerConfig(&r.Model, encJSON)
	cfg.ModelName = "random-" + fmt.Sprint(ec["model_type"])
	cfg.ClassTokenIndex, cfg.VocabSize, cfg.RelTokenIndex = classIdx, n, relIdx
	dec, err := prepareDecoder(r.Model.Decoder)
	if err != nil {
		return nil, err
	}
	dec.apply(cfg)
	// A random labels encoder shares the text encoder's vocabulary
	// (without GLiNER's added tokens).
	bi, err := prepareBiEncoder(r.Model.BiEncoder, func() ([]string, bool, error) { return vocab, lowercase, nil })
	if err != nil {
		return nil, err
	}
	bi.apply(cfg)
	mod, err := newModel(cfg, r.Training.Seed)
	if err != nil {
		return nil, fmt.Errorf("model.encoder_config: %w", err)
	}
	dtok, err := dec.load(mod)
	if err != nil {
		return nil, err
	}
	ltok, err := bi.load(mod)
	if err != nil {
		return nil, err
	}
	return &Built{Model: mod, Tokenizer: tok, Source: FromRandomInit, DecoderTokenizer: dtok, LabelsTokenizer: ltok}, nil
}
