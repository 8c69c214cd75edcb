package tokenizer

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gliner-go/gliner/internal/fileio"
)

type addedTokenNoID struct {
	Content    string `json:"content"`
	LStrip     bool   `json:"lstrip"`
	Normalized bool   `json:"normalized"`
	RStrip     bool   `json:"rstrip"`
	SingleWord bool   `json:"single_word"`
	Special    bool   `json:"special"`
}

type tokenizerJSONOut struct {
	Version       string       `json:"version"`
	Truncation    any          `json:"truncation"`
	Padding       any          `json:"padding"`
	AddedTokens   []AddedToken `json:"added_tokens"`
	Normalizer    any          `json:"normalizer"`
	PreTokenizer  any          `json:"pre_tokenizer"`
	PostProcessor any          `json:"post_processor"`
	Decoder       any          `json:"decoder"`
	Model         any          `json:"model"`
}

func writeJSON(dir, name string, v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("save %s: %w", name, err)
	}
	p := filepath.Join(dir, name)
	if err := writeFileAtomic(p, append(raw, '\n')); err != nil {
		return fmt.Errorf("save tokenizer: %w", err)
	}
	return nil
}

type kv = map[string]any

// templatePost is a TemplateProcessing for [cls] $A [sep] (either optional).
func (c *core) templatePost() any {
	var single []any
	special := kv{}
	add := func(id int) {
		tok := c.Tokens([]int{id})[0]
		single = append(single, kv{"SpecialToken": kv{"id": tok, "type_id": 0}})
		special[tok] = kv{"id": tok, "ids": []int{id}, "tokens": []string{tok}}
	}
	for _, id := range c.prefix {
		add(id)
	}
	single = append(single, kv{"Sequence": kv{"id": "A", "type_id": 0}})
	for _, id := range c.suffix {
		add(id)
	}
	return kv{"type": "TemplateProcessing", "single": single, "pair": single, "special_tokens": special}
}

// saveCommon writes tokenizer.json (from model, normalizer, pre-tokenizer,
// post-processor, decoder) and the three config files.
func (c *core) saveCommon(dir, class string, modelJSON, normalizer, preTok, post, decoder any, extraCfg kv) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save tokenizer: %w", err)
	}
	added := c.added.Tokens()
	if added == nil {
		added = []AddedToken{}
	}
	tj := tokenizerJSONOut{Version: "1.0", AddedTokens: added, Normalizer: normalizer,
		PreTokenizer: preTok, PostProcessor: post, Decoder: decoder, Model: modelJSON}
	if err := writeJSON(dir, fileTokenizerJSON, tj); err != nil {
		return err
	}
	decoderMap := kv{}
	addedJSON := kv{}
	for _, t := range added {
		decoderMap[strconv.Itoa(t.ID)] = addedTokenNoID{t.Content, t.LStrip, t.Normalized, t.RStrip, t.SingleWord, t.Special}
		if _, inModel := c.m.id(t.Content); !inModel {
			addedJSON[t.Content] = t.ID
		}
	}
	specialMap := kv{}
	n := c.names
	for _, key := range nameKeys {
		if v := *n.ptr(key); v != "" {
			specialMap[key] = v
		}
	}
	if len(c.additional) > 0 {
		specialMap["additional_special_tokens"] = c.additional
	}
	cfg := kv{"added_tokens_decoder": decoderMap, "clean_up_tokenization_spaces": true, "tokenizer_class": class}
	for k, v := range specialMap {
		cfg[k] = v
	}
	if c.modelMaxLength > 0 {
		cfg["model_max_length"] = c.modelMaxLength
	}
	for k, v := range extraCfg {
		cfg[k] = v
	}
	if err := writeJSON(dir, fileConfig, cfg); err != nil {
		return err
	}
	if err := writeJSON(dir, fileSpecialMap, specialMap); err != nil {
		return err
	}
	return writeJSON(dir, fileAddedTokens, addedJSON)
}

// Save writes tokenizer.json, vocab.txt, tokenizer_config.json,
// special_tokens_map.json and added_tokens.json into dir.
func (t *WordPiece) Save(dir string) error {
	var normalizer any
	extra := kv{}
	if n := t.Normalizer; n != nil {
		normalizer = kv{"type": "BertNormalizer", "clean_text": n.CleanText, "handle_chinese_chars": n.HandleChineseChars,
			"strip_accents": n.StripAccents, "lowercase": n.Lowercase}
		extra["do_lower_case"] = n.Lowercase
		extra["strip_accents"] = n.StripAccents
		extra["tokenize_chinese_chars"] = n.HandleChineseChars
	} else {
		extra["do_lower_case"] = false
	}
	m := t.Model
	model := kv{"type": "WordPiece", "unk_token": m.UNK, "continuing_subword_prefix": m.ContinuingSubwordPrefix,
		"max_input_chars_per_word": m.MaxInputCharsPerWord, "vocab": m.Vocab}
	if err := t.saveCommon(dir, "BertTokenizer", model, normalizer, kv{"type": "BertPreTokenizer"}, t.templatePost(),
		kv{"type": "WordPiece", "prefix": m.ContinuingSubwordPrefix, "cleanup": true}, extra); err != nil {
		return err
	}
	// vocab.txt only when ids are contiguous (one token per line in id order).
	toks := sortedVocab(m.Vocab)
	for i, tok := range toks {
		if m.Vocab[tok] != i || strings.ContainsAny(tok, "\r\n") {
			return nil
		}
	}
	p := filepath.Join(dir, fileVocabTxt)
	if err := writeFileAtomic(p, []byte(strings.Join(toks, "\n")+"\n")); err != nil {
		return fmt.Errorf("save tokenizer: %w", err)
	}
	return nil
}

// Save writes tokenizer.json, vocab.json, merges.txt, tokenizer_config.json,
// special_tokens_map.json and added_tokens.json into dir.
func (t *BPE) Save(dir string) error {
	m := t.Model
	merges := make([]string, len(m.Merges))
	for i, mg := range m.Merges {
		merges[i] = mg[0] + " " + mg[1]
	}
	var unk any
	if m.UNK != "" {
		unk = m.UNK
	}
	model := kv{"type": "BPE", "dropout": nil, "unk_token": unk, "continuing_subword_prefix": nil,
		"end_of_word_suffix": nil, "fuse_unk": false, "byte_fallback": false, "ignore_merges": m.IgnoreMerges,
		"vocab": m.Vocab, "merges": merges}
	pre := kv{"type": "ByteLevel", "add_prefix_space": t.AddPrefixSpace, "trim_offsets": t.TrimOffsets, "use_regex": true}
	var post any = kv{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true}
	class := "GPT2Tokenizer"
	if len(t.prefix) > 0 || len(t.suffix) > 0 {
		post = t.templatePost()
		if t.postType == "RobertaProcessing" && len(t.prefix) == 1 && len(t.suffix) == 1 {
			cls, sep := t.Tokens(t.prefix)[0], t.Tokens(t.suffix)[0]
			post = kv{"type": "RobertaProcessing", "sep": []any{sep, t.suffix[0]}, "cls": []any{cls, t.prefix[0]},
				"trim_offsets": t.TrimOffsets, "add_prefix_space": t.AddPrefixSpace}
			class = "RobertaTokenizer"
		}
	}
	dec := kv{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}
	if err := t.saveCommon(dir, class, model, nil, pre, post, dec, kv{"add_prefix_space": t.AddPrefixSpace}); err != nil {
		return err
	}
	if err := writeJSON(dir, fileVocabJSON, m.Vocab); err != nil {
		return err
	}
	p := filepath.Join(dir, fileMerges)
	if err := writeFileAtomic(p, []byte("#version: 0.2\n"+strings.Join(merges, "\n")+"\n")); err != nil {
		return fmt.Errorf("save tokenizer: %w", err)
	}
	return nil
}

// writeFileAtomic writes b to path through internal/fileio (a temporary
// file renamed into place), as every file the project writes.
func writeFileAtomic(path string, b []byte) error {
	return fileio.WriteFile(path, func(w io.Writer) error { _, err := w.Write(b); return err })
}
