package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Hooks set by the Unigram (SentencePiece) backend in its init: build a
// tokenizer from a tokenizer.json whose model.type is "Unigram", or from an
// spm.model file. Nil until that code is linked in.
var (
	unigramFromJSON func(raw []byte) (Tokenizer, error)
	unigramFromSPM  func(path string) (Tokenizer, error)
)

// File names of a Hugging Face tokenizer folder.
const (
	fileTokenizerJSON = "tokenizer.json"
	fileVocabTxt      = "vocab.txt"
	fileVocabJSON     = "vocab.json"
	fileMerges        = "merges.txt"
	fileSPM           = "spm.model"
	fileAddedTokens   = "added_tokens.json"
	fileConfig        = "tokenizer_config.json"
	fileSpecialMap    = "special_tokens_map.json"
)

// Load reads the tokenizer of a model folder: tokenizer.json if present
// (model.type WordPiece, BPE or Unigram), else vocab.txt (WordPiece), else
// vocab.json + merges.txt (byte-level BPE), else spm.model (Unigram); then
// applies tokenizer_config.json, special_tokens_map.json and
// added_tokens.json when present.
func Load(dir string) (Tokenizer, error) {
	cfg, err := readFolderConfig(dir)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %s: %w", dir, err)
	}
	has := func(name string) bool {
		st, err := os.Stat(filepath.Join(dir, name))
		return err == nil && !st.IsDir()
	}
	var tok Tokenizer
	switch {
	case has(fileTokenizerJSON):
		p := filepath.Join(dir, fileTokenizerJSON)
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("load tokenizer: %w", err)
		}
		tok, err = FromTokenizerJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("load tokenizer %s: %w", p, err)
		}
	case has(fileVocabTxt):
		p := filepath.Join(dir, fileVocabTxt)
		vocab, err := readVocabTxt(p)
		if err != nil {
			return nil, fmt.Errorf("load tokenizer: %w", err)
		}
		wp, err := NewWordPiece(vocab, cfg.bertNormalizer(), cfg.names.UNK, 100, "##")
		if err != nil {
			return nil, fmt.Errorf("load tokenizer %s: %w", p, err)
		}
		tok = wp
	case has(fileVocabJSON) && has(fileMerges):
		vp, mp := filepath.Join(dir, fileVocabJSON), filepath.Join(dir, fileMerges)
		vocab, err := readVocabJSON(vp)
		if err != nil {
			return nil, fmt.Errorf("load tokenizer: %w", err)
		}
		merges, err := readMergesTxt(mp)
		if err != nil {
			return nil, fmt.Errorf("load tokenizer: %w", err)
		}
		b, err := NewBPE(vocab, merges)
		if err != nil {
			return nil, fmt.Errorf("load tokenizer %s: %w", dir, err)
		}
		b.AddPrefixSpace = cfg.AddPrefixSpace
		if cfg.isRoberta() {
			b.names = specialNames{Pad: "<pad>", UNK: "<unk>", CLS: "<s>", SEP: "</s>", BOS: "<s>", EOS: "</s>", Mask: "<mask>"}
			b.postType = "RobertaProcessing"
		}
		tok = b
	case has(fileSPM):
		if unigramFromSPM == nil {
			return nil, fmt.Errorf("load tokenizer %s: %s found but the Unigram backend is not linked in", dir, fileSPM)
		}
		p := filepath.Join(dir, fileSPM)
		tok, err = unigramFromSPM(p)
		if err != nil {
			return nil, fmt.Errorf("load tokenizer %s: %w", p, err)
		}
	default:
		return nil, fmt.Errorf("load tokenizer %s: no tokenizer files (%s, %s, %s+%s or %s)", dir,
			fileTokenizerJSON, fileVocabTxt, fileVocabJSON, fileMerges, fileSPM)
	}
	if err := cfg.apply(tok, has(fileTokenizerJSON)); err != nil {
		return nil, fmt.Errorf("load tokenizer %s: %w", dir, err)
	}
	return tok, nil
}

func readVocabTxt(path string) (map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vocab := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	n := 0
	for sc.Scan() {
		tok := strings.TrimRight(sc.Text(), "\r\n")
		if _, dup := vocab[tok]; dup {
			return nil, fmt.Errorf("%s line %d: duplicate token %q", path, n+1, tok)
		}
		vocab[tok] = n
		n++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s line %d: %w", path, n+1, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: empty vocabulary", path)
	}
	return vocab, nil
}

func readVocabJSON(path string) (map[string]int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var vocab map[string]int
	if err := json.Unmarshal(raw, &vocab); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(vocab) == 0 {
		return nil, fmt.Errorf("%s: empty vocabulary", path)
	}
	return vocab, nil
}

func readMergesTxt(path string) ([][2]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var merges [][2]string
	for i, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimRight(line, "\r")
		if (i == 0 && strings.HasPrefix(line, "#version")) || line == "" {
			continue
		}
		a, b, ok := strings.Cut(line, " ")
		if !ok || a == "" || b == "" || strings.Contains(b, " ") {
			return nil, fmt.Errorf("%s line %d: merge %q is not two tokens separated by one space", path, i+1, line)
		}
		merges = append(merges, [2]string{a, b})
	}
	return merges, nil
}

// tokenizerJSON is the part of a Hugging Face tokenizer.json the pure-Go
// backends read.
type tokenizerJSON struct {
	AddedTokens   []AddedToken    `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Model         json.RawMessage `json:"model"`
}

type typed struct {
	Type string `json:"type"`
}

type wordPieceJSON struct {
	Type                    string         `json:"type"`
	UNK                     string         `json:"unk_token"`
	ContinuingSubwordPrefix *string        `json:"continuing_subword_prefix"`
	MaxInputCharsPerWord    int            `json:"max_input_chars_per_word"`
	Vocab                   map[string]int `json:"vocab"`
}

type bpeJSON struct {
	Type                    string          `json:"type"`
	Dropout                 *float64        `json:"dropout"`
	UNK                     *string         `json:"unk_token"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	FuseUNK                 bool            `json:"fuse_unk"`
	ByteFallback            bool            `json:"byte_fallback"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	Vocab                   map[string]int  `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
}

type byteLevelJSON struct {
	Type           string `json:"type"`
	AddPrefixSpace bool   `json:"add_prefix_space"`
	TrimOffsets    bool   `json:"trim_offsets"`
	UseRegex       *bool  `json:"use_regex"`
}

type postJSON struct {
	Type   string          `json:"type"`
	Single []templatePiece `json:"single"`
	Sep    []any           `json:"sep"`
	Cls    []any           `json:"cls"`
	// RobertaProcessing
	AddPrefixSpace bool `json:"add_prefix_space"`
}

type templatePiece struct {
	SpecialToken *struct {
		ID string `json:"id"`
	} `json:"SpecialToken"`
	Sequence *struct {
		ID string `json:"id"`
	} `json:"Sequence"`
}

// templateSides splits a TemplateProcessing single template into the
// special tokens before and after its one sequence ($A); seq is false when
// it has none, and two sequences are an error.
func templateSides(single []templatePiece) (pre, suf []string, seq bool, err error) {
	for _, p := range single {
		switch {
		case p.Sequence != nil:
			if seq {
				return nil, nil, false, errors.New("single template with two sequences")
			}
			seq = true
		case p.SpecialToken != nil && !seq:
			pre = append(pre, p.SpecialToken.ID)
		case p.SpecialToken != nil:
			suf = append(suf, p.SpecialToken.ID)
		}
	}
	return pre, suf, seq, nil
}

func isNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// FromTokenizerJSON builds a tokenizer from the contents of a Hugging Face
// tokenizer.json. Model types WordPiece and BPE are handled here, Unigram
// by the Unigram backend. Components that would change the result and are
// not implemented (other normalizers or pre-tokenizers, BPE dropout, byte
// fallback, …) are an error rather than silently ignored.
func FromTokenizerJSON(raw []byte) (Tokenizer, error) {
	var tj tokenizerJSON
	if err := json.Unmarshal(raw, &tj); err != nil {
		return nil, fmt.Errorf("parse tokenizer.json: %w", err)
	}
	if isNull(tj.Model) {
		return nil, errors.New("tokenizer.json: no model")
	}
	var mt typed
	if err := json.Unmarshal(tj.Model, &mt); err != nil {
		return nil, fmt.Errorf("tokenizer.json: model: %w", err)
	}
	var c *core
	switch mt.Type {
	case "WordPiece":
		t, err := wordPieceFromJSON(&tj)
		if err != nil {
			return nil, err
		}
		c = t.core
		if err := finishJSON(c, &tj); err != nil {
			return nil, err
		}
		return t, nil
	case "BPE":
		t, err := bpeFromJSON(&tj)
		if err != nil {
			return nil, err
		}
		c = t.core
		if err := finishJSON(c, &tj); err != nil {
			return nil, err
		}
		return t, nil
	case "Unigram":
		if unigramFromJSON == nil {
			return nil, errors.New("tokenizer.json: model type Unigram but the Unigram backend is not linked in")
		}
		return unigramFromJSON(raw)
	default:
		return nil, fmt.Errorf("tokenizer.json: model.type %q not supported (want WordPiece, BPE or Unigram)", mt.Type)
	}
}

func wordPieceFromJSON(tj *tokenizerJSON) (*WordPiece, error) {
	var m wordPieceJSON
	if err := json.Unmarshal(tj.Model, &m); err != nil {
		return nil, fmt.Errorf("tokenizer.json: model: %w", err)
	}
	if len(m.Vocab) == 0 {
		return nil, errors.New("tokenizer.json: model: empty vocab")
	}
	var norm *BertNormalizer
	if !isNull(tj.Normalizer) {
		var nt typed
		if err := json.Unmarshal(tj.Normalizer, &nt); err != nil {
			return nil, fmt.Errorf("tokenizer.json: normalizer: %w", err)
		}
		if nt.Type != "BertNormalizer" {
			return nil, fmt.Errorf("tokenizer.json: normalizer type %q not supported with WordPiece (want BertNormalizer or null)", nt.Type)
		}
		norm = &BertNormalizer{}
		if err := json.Unmarshal(tj.Normalizer, norm); err != nil {
			return nil, fmt.Errorf("tokenizer.json: normalizer: %w", err)
		}
	}
	if !isNull(tj.PreTokenizer) {
		var pt typed
		if err := json.Unmarshal(tj.PreTokenizer, &pt); err != nil {
			return nil, fmt.Errorf("tokenizer.json: pre_tokenizer: %w", err)
		}
		if pt.Type != "BertPreTokenizer" {
			return nil, fmt.Errorf("tokenizer.json: pre_tokenizer type %q not supported with WordPiece (want BertPreTokenizer)", pt.Type)
		}
	} else {
		return nil, errors.New("tokenizer.json: WordPiece without a pre_tokenizer is not supported (want BertPreTokenizer)")
	}
	prefix := "##"
	if m.ContinuingSubwordPrefix != nil {
		prefix = *m.ContinuingSubwordPrefix
	}
	if prefix == "" {
		return nil, errors.New("tokenizer.json: model: empty continuing_subword_prefix not supported")
	}
	if m.MaxInputCharsPerWord <= 0 {
		m.MaxInputCharsPerWord = 100
	}
	t, err := NewWordPiece(m.Vocab, norm, m.UNK, m.MaxInputCharsPerWord, prefix)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	return t, nil
}

func bpeFromJSON(tj *tokenizerJSON) (*BPE, error) {
	var m bpeJSON
	if err := json.Unmarshal(tj.Model, &m); err != nil {
		return nil, fmt.Errorf("tokenizer.json: model: %w", err)
	}
	if len(m.Vocab) == 0 {
		return nil, errors.New("tokenizer.json: model: empty vocab")
	}
	switch {
	case m.Dropout != nil && *m.Dropout != 0:
		return nil, errors.New("tokenizer.json: model: BPE dropout not supported")
	case m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "":
		return nil, errors.New("tokenizer.json: model: BPE continuing_subword_prefix not supported")
	case m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "":
		return nil, errors.New("tokenizer.json: model: BPE end_of_word_suffix not supported")
	case m.ByteFallback:
		return nil, errors.New("tokenizer.json: model: BPE byte_fallback not supported")
	}
	merges, err := parseMergesJSON(m.Merges)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: model: %w", err)
	}
	if !isNull(tj.Normalizer) {
		return nil, errors.New("tokenizer.json: a normalizer with a BPE model is not supported (byte-level BPE has none)")
	}
	if isNull(tj.PreTokenizer) {
		return nil, errors.New("tokenizer.json: BPE without a ByteLevel pre_tokenizer is not supported")
	}
	var pt byteLevelJSON
	if err := json.Unmarshal(tj.PreTokenizer, &pt); err != nil {
		return nil, fmt.Errorf("tokenizer.json: pre_tokenizer: %w", err)
	}
	if pt.Type != "ByteLevel" || (pt.UseRegex != nil && !*pt.UseRegex) {
		return nil, fmt.Errorf("tokenizer.json: pre_tokenizer %q not supported with BPE (want ByteLevel with use_regex)", pt.Type)
	}
	t, err := NewBPE(m.Vocab, merges)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	if m.UNK != nil && *m.UNK != "" {
		t.Model.UNK = *m.UNK
		id, ok := m.Vocab[*m.UNK]
		if !ok {
			return nil, fmt.Errorf("tokenizer.json: model: unk_token %q not in vocab", *m.UNK)
		}
		t.Model.unkID = id
	}
	t.Model.IgnoreMerges = m.IgnoreMerges
	t.AddPrefixSpace = pt.AddPrefixSpace
	t.TrimOffsets = pt.TrimOffsets
	t.names = specialNames{}
	return t, nil
}

func parseMergesJSON(raw json.RawMessage) ([][2]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var strs []string
	if err := json.Unmarshal(raw, &strs); err == nil {
		out := make([][2]string, len(strs))
		for i, s := range strs {
			a, b, ok := strings.Cut(s, " ")
			if !ok || a == "" || b == "" || strings.Contains(b, " ") {
				return nil, fmt.Errorf("merge %d %q is not two tokens separated by one space", i, s)
			}
			out[i] = [2]string{a, b}
		}
		return out, nil
	}
	var pairs [][]string
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, fmt.Errorf("merges: want a list of \"a b\" strings or [a, b] pairs: %w", err)
	}
	out := make([][2]string, len(pairs))
	for i, p := range pairs {
		if len(p) != 2 {
			return nil, fmt.Errorf("merge %d has %d parts, want 2", i, len(p))
		}
		out[i] = [2]string{p[0], p[1]}
	}
	return out, nil
}

// finishJSON installs tokenizer.json's added tokens and post-processor.
func finishJSON(c *core, tj *tokenizerJSON) error {
	for i, at := range tj.AddedTokens {
		if err := c.added.Insert(at); err != nil {
			return fmt.Errorf("tokenizer.json: added_tokens[%d]: %w", i, err)
		}
	}
	// Special names from the model and added tokens.
	if wp, ok := c.m.(wordPieceModel); ok {
		c.names = specialNames{UNK: wp.t.Model.UNK}
	}
	has := func(s string) bool { _, ok := c.TokenToID(s); return ok }
	for _, cand := range []struct {
		dst *string
		tok string
	}{{&c.names.Pad, "[PAD]"}, {&c.names.Mask, "[MASK]"}, {&c.names.Pad, "<pad>"}, {&c.names.Mask, "<mask>"}, {&c.names.UNK, "<unk>"}, {&c.names.UNK, "<|endoftext|>"}} {
		if *cand.dst == "" && has(cand.tok) {
			*cand.dst = cand.tok
		}
	}
	if isNull(tj.PostProcessor) {
		return nil
	}
	var pp postJSON
	if err := json.Unmarshal(tj.PostProcessor, &pp); err != nil {
		return fmt.Errorf("tokenizer.json: post_processor: %w", err)
	}
	setPost := func(cls, sep string) error {
		for _, s := range []string{cls, sep} {
			if s != "" && !has(s) {
				return fmt.Errorf("tokenizer.json: post_processor: token %q not in the vocabulary", s)
			}
		}
		c.names.CLS, c.names.SEP = cls, sep
		c.setClsSepPost(cls, sep)
		return nil
	}
	tokName := func(v []any) string {
		if len(v) > 0 {
			if s, ok := v[0].(string); ok {
				return s
			}
		}
		return ""
	}
	switch pp.Type {
	case "ByteLevel":
	case "BertProcessing", "RobertaProcessing":
		if err := setPost(tokName(pp.Cls), tokName(pp.Sep)); err != nil {
			return err
		}
		if b, ok := c.m.(bpeModel); ok {
			b.t.postType = pp.Type
			c.names.BOS, c.names.EOS = c.names.CLS, c.names.SEP
		}
	case "TemplateProcessing":
		pre, suf, seen, err := templateSides(pp.Single)
		if err != nil {
			return fmt.Errorf("tokenizer.json: post_processor: %w", err)
		}
		if !seen || len(pre) > 1 || len(suf) > 1 {
			return errors.New("tokenizer.json: post_processor: only templates of the form [special] $A [special] are supported")
		}
		cls, sep := "", ""
		if len(pre) == 1 {
			cls = pre[0]
		}
		if len(suf) == 1 {
			sep = suf[0]
		}
		if err := setPost(cls, sep); err != nil {
			return err
		}
		if b, ok := c.m.(bpeModel); ok {
			b.t.postType = pp.Type
		}
	default:
		return fmt.Errorf("tokenizer.json: post_processor type %q not supported", pp.Type)
	}
	return nil
}

// folderConfig gathers tokenizer_config.json, special_tokens_map.json and
// added_tokens.json.
type folderConfig struct {
	dir            string
	names          specialNames
	namesSet       map[string]bool
	additional     []AddedToken
	addedDecoder   []AddedToken
	addedJSON      []AddedToken
	DoLowerCase    *bool
	StripAccents   *bool
	ChineseChars   *bool
	ModelMaxLength int
	AddPrefixSpace bool
	TokenizerClass string
}

func (f *folderConfig) isRoberta() bool {
	return strings.Contains(strings.ToLower(f.TokenizerClass), "roberta") || f.names.CLS == "<s>"
}

func (f *folderConfig) bertNormalizer() *BertNormalizer {
	n := &BertNormalizer{CleanText: true, HandleChineseChars: true, Lowercase: true, StripAccents: f.StripAccents}
	if f.DoLowerCase != nil {
		n.Lowercase = *f.DoLowerCase
	}
	if f.ChineseChars != nil {
		n.HandleChineseChars = *f.ChineseChars
	}
	return n
}

// tokenSpec decodes a special-token entry given as a string or as an
// AddedToken object.
func tokenSpec(raw json.RawMessage) (AddedToken, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return AddedToken{Content: s, Special: true}, nil
	}
	var t AddedToken
	if err := json.Unmarshal(raw, &t); err != nil {
		return t, fmt.Errorf("want a string or an added-token object: %w", err)
	}
	t.Special = true
	return t, nil
}

func readJSONFile(path string, v any) (bool, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	return true, nil
}

var nameKeys = []string{"pad_token", "unk_token", "cls_token", "sep_token", "bos_token", "eos_token", "mask_token"}

func (f *folderConfig) setName(key, v string) {
	*f.names.ptr(key) = v
	f.namesSet[key] = true
}

// ptr returns the field named by a tokenizer_config.json key (one of nameKeys).
func (n *specialNames) ptr(key string) *string {
	switch key {
	case "pad_token":
		return &n.Pad
	case "unk_token":
		return &n.UNK
	case "cls_token":
		return &n.CLS
	case "sep_token":
		return &n.SEP
	case "bos_token":
		return &n.BOS
	case "eos_token":
		return &n.EOS
	case "mask_token":
		return &n.Mask
	}
	panic("tokenizer: unknown special-token key " + key) // programming error: keys come from nameKeys
}

func readFolderConfig(dir string) (*folderConfig, error) {
	f := &folderConfig{dir: dir, namesSet: map[string]bool{},
		names: specialNames{Pad: "[PAD]", UNK: "[UNK]", CLS: "[CLS]", SEP: "[SEP]", Mask: "[MASK]"}}
	if st, err := os.Stat(dir); err != nil {
		return nil, err
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	// tokenizer_config.json
	var tc map[string]json.RawMessage
	p := filepath.Join(dir, fileConfig)
	if _, err := readJSONFile(p, &tc); err != nil {
		return nil, err
	}
	for _, src := range []struct {
		path string
		m    map[string]json.RawMessage
	}{{p, tc}, {filepath.Join(dir, fileSpecialMap), nil}} {
		m := src.m
		if m == nil && src.path != p {
			if _, err := readJSONFile(src.path, &m); err != nil {
				return nil, err
			}
		}
		for _, key := range nameKeys {
			raw, ok := m[key]
			if !ok || isNull(raw) {
				continue
			}
			t, err := tokenSpec(raw)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", src.path, key, err)
			}
			f.setName(key, t.Content)
		}
		if raw, ok := m["additional_special_tokens"]; ok && !isNull(raw) {
			var list []json.RawMessage
			if err := json.Unmarshal(raw, &list); err != nil {
				return nil, fmt.Errorf("%s: additional_special_tokens: %w", src.path, err)
			}
			f.additional = f.additional[:0]
			for i, r := range list {
				t, err := tokenSpec(r)
				if err != nil {
					return nil, fmt.Errorf("%s: additional_special_tokens[%d]: %w", src.path, i, err)
				}
				f.additional = append(f.additional, t)
			}
		}
	}
	dec := func(key string, v any) error {
		if raw, ok := tc[key]; ok && !isNull(raw) {
			if err := json.Unmarshal(raw, v); err != nil {
				return fmt.Errorf("%s: %s: %w", p, key, err)
			}
		}
		return nil
	}
	var mml float64
	for _, e := range []error{
		dec("do_lower_case", &f.DoLowerCase), dec("strip_accents", &f.StripAccents),
		dec("tokenize_chinese_chars", &f.ChineseChars), dec("model_max_length", &mml),
		dec("add_prefix_space", &f.AddPrefixSpace), dec("tokenizer_class", &f.TokenizerClass),
	} {
		if e != nil {
			return nil, e
		}
	}
	if mml > 0 && mml < 1<<40 {
		f.ModelMaxLength = int(mml)
	}
	if raw, ok := tc["added_tokens_decoder"]; ok && !isNull(raw) {
		var m map[string]AddedToken
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("%s: added_tokens_decoder: %w", p, err)
		}
		for k, t := range m {
			var id int
			if _, err := fmt.Sscanf(k, "%d", &id); err != nil || fmt.Sprint(id) != k {
				return nil, fmt.Errorf("%s: added_tokens_decoder: key %q is not an id", p, k)
			}
			t.ID = id
			f.addedDecoder = append(f.addedDecoder, t)
		}
		sort.Slice(f.addedDecoder, func(i, j int) bool { return f.addedDecoder[i].ID < f.addedDecoder[j].ID })
	}
	// added_tokens.json
	var at map[string]int
	ap := filepath.Join(dir, fileAddedTokens)
	if _, err := readJSONFile(ap, &at); err != nil {
		return nil, err
	}
	for k, id := range at {
		f.addedJSON = append(f.addedJSON, AddedToken{Content: k, ID: id})
	}
	sort.Slice(f.addedJSON, func(i, j int) bool { return f.addedJSON[i].ID < f.addedJSON[j].ID })
	return f, nil
}

func (f *folderConfig) isSpecialName(s string) bool {
	for _, a := range f.additional {
		if a.Content == s {
			return true
		}
	}
	n := f.names
	for _, v := range []string{n.Pad, n.UNK, n.CLS, n.SEP, n.BOS, n.EOS, n.Mask} {
		if v == s {
			return true
		}
	}
	return false
}

// apply installs the folder's special names and added tokens on tok.
func (f *folderConfig) apply(tok Tokenizer, fromJSON bool) error {
	var c *core
	switch t := tok.(type) {
	case *WordPiece:
		c = t.core
	case *BPE:
		c = t.core
	default:
		return f.applyGeneric(tok)
	}
	c.modelMaxLength = f.ModelMaxLength
	if _, isWP := tok.(*WordPiece); isWP && !fromJSON {
		c.names = f.names
	} else {
		// Keep the defaults (or tokenizer.json's) unless the config names tokens.
		for _, key := range nameKeys {
			if f.namesSet[key] && !(fromJSON && (key == "cls_token" || key == "sep_token")) {
				*c.names.ptr(key) = *f.names.ptr(key)
			}
		}
	}
	if !fromJSON {
		c.registerSpecials()
	}
	for _, t := range f.addedDecoder {
		if err := insertCompatible(c, t); err != nil {
			return fmt.Errorf("%s: added_tokens_decoder: %w", fileConfig, err)
		}
	}
	for _, t := range f.addedJSON {
		if _, ok := c.added.ID(t.Content); ok {
			if err := insertCompatible(c, t); err != nil {
				return fmt.Errorf("%s: %w", fileAddedTokens, err)
			}
			continue
		}
		t.Special = f.isSpecialName(t.Content)
		for _, a := range f.additional {
			if a.Content == t.Content {
				t.LStrip, t.RStrip, t.SingleWord, t.Normalized = a.LStrip, a.RStrip, a.SingleWord, a.Normalized
			}
		}
		if err := insertCompatible(c, t); err != nil {
			return fmt.Errorf("%s: %w", fileAddedTokens, err)
		}
	}
	for _, a := range f.additional {
		if _, ok := c.TokenToID(a.Content); !ok {
			return fmt.Errorf("additional special token %q is neither in the vocabulary nor in %s", a.Content, fileAddedTokens)
		}
		c.AddSpecialTokens(a.Content)
	}
	if !fromJSON {
		if b, ok := tok.(*BPE); ok && b.postType == "RobertaProcessing" {
			c.setClsSepPost(c.names.CLS, c.names.SEP)
		} else if ok {
			c.prefix, c.suffix = nil, nil
		} else {
			c.setClsSepPost(c.names.CLS, c.names.SEP)
		}
	}
	return nil
}

// insertCompatible inserts t unless an equal-content entry with the same id
// exists; a token whose content is in the model vocabulary must keep that id.
func insertCompatible(c *core, t AddedToken) error {
	if id, ok := c.m.id(t.Content); ok && id != t.ID {
		return fmt.Errorf("token %q has id %d but the vocabulary gives it %d", t.Content, t.ID, id)
	}
	if s, ok := c.m.token(t.ID); ok && s != t.Content {
		return fmt.Errorf("token %q: id %d already belongs to vocabulary token %q", t.Content, t.ID, s)
	}
	if err := c.added.Insert(t); err != nil {
		return err
	}
	return nil
}

// applyGeneric adds the folder's added tokens to a backend this file does
// not know (Unigram) through the interface, checking the ids agree.
func (f *folderConfig) applyGeneric(tok Tokenizer) error {
	all := append(append([]AddedToken(nil), f.addedDecoder...), f.addedJSON...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	for _, t := range all {
		if id, ok := tok.TokenToID(t.Content); ok {
			if id != t.ID {
				return fmt.Errorf("added token %q has id %d but the tokenizer gives it %d", t.Content, t.ID, id)
			}
			continue
		}
		got := tok.AddSpecialTokens(t.Content)
		if len(got) != 1 || got[0] != t.ID {
			return fmt.Errorf("added token %q: file gives id %d, adding it gives %v", t.Content, t.ID, got)
		}
	}
	return nil
}
