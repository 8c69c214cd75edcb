package tokenizer

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// ugJSON is the part of a tokenizer.json a Unigram tokenizer reads.
type ugJSON struct {
	AddedTokens   []AddedToken    `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Model         struct {
		Type         string              `json:"type"`
		UnkID        *int                `json:"unk_id"`
		Vocab        [][]json.RawMessage `json:"vocab"`
		ByteFallback bool                `json:"byte_fallback"`
	} `json:"model"`
}

// NewUnigramFromJSON builds a tokenizer from the bytes of a Hugging Face
// tokenizer.json whose model.type is "Unigram": vocab as [piece, score]
// pairs, unk_id, byte_fallback; normalizer null, Precompiled (base64
// charsmap), Strip, Replace, Lowercase or a Sequence of them; pre-tokenizer
// Metaspace (optionally after Punctuation in a Sequence); post-processor
// TemplateProcessing of the form [special] $A [special]; added_tokens.
func NewUnigramFromJSON(raw []byte) (*Unigram, error) {
	var tj ugJSON
	if err := json.Unmarshal(raw, &tj); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	if tj.Model.Type != "Unigram" {
		return nil, fmt.Errorf("tokenizer.json: model.type %q, want \"Unigram\"", tj.Model.Type)
	}
	if tj.Model.UnkID == nil {
		return nil, errors.New("tokenizer.json: model.unk_id missing (a Unigram model without unk_id cannot encode unknown characters)")
	}
	pieces := make([]string, len(tj.Model.Vocab))
	scores := make([]float64, len(tj.Model.Vocab))
	for i, e := range tj.Model.Vocab {
		if len(e) != 2 {
			return nil, fmt.Errorf("tokenizer.json: model.vocab[%d]: %d elements, want [piece, score]", i, len(e))
		}
		if err := json.Unmarshal(e[0], &pieces[i]); err != nil {
			return nil, fmt.Errorf("tokenizer.json: model.vocab[%d]: piece: %w", i, err)
		}
		if err := json.Unmarshal(e[1], &scores[i]); err != nil {
			return nil, fmt.Errorf("tokenizer.json: model.vocab[%d]: score: %w", i, err)
		}
	}
	u, err := newUnigram(pieces, scores, *tj.Model.UnkID, tj.Model.ByteFallback)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: model: %w", err)
	}
	if u.norm, err = ugParseNormalizer(tj.Normalizer, "normalizer"); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	for _, st := range u.norm {
		if p, ok := st.(ugPrecompiled); ok && p.cm != nil {
			u.charsmap = p.cm
		}
	}
	if u.pre, err = ugParsePreTok(tj.PreTokenizer); err != nil {
		return nil, fmt.Errorf("tokenizer.json: pre_tokenizer: %w", err)
	}
	for i, at := range tj.AddedTokens {
		if id, ok := u.modelID(at.Content); ok && id != at.ID {
			return nil, fmt.Errorf("tokenizer.json: added_tokens[%d] %q: id %d, but the vocabulary gives it %d", i, at.Content, at.ID, id)
		}
		if at.ID < len(pieces) && pieces[at.ID] != at.Content {
			return nil, fmt.Errorf("tokenizer.json: added_tokens[%d] %q: id %d belongs to piece %q", i, at.Content, at.ID, pieces[at.ID])
		}
		if err := u.added.Insert(at); err != nil {
			return nil, fmt.Errorf("tokenizer.json: added_tokens[%d]: %w", i, err)
		}
	}
	if err := u.parsePost(tj.PostProcessor); err != nil {
		return nil, fmt.Errorf("tokenizer.json: post_processor: %w", err)
	}
	u.names.UNK = pieces[u.unkID]
	for _, cand := range []struct {
		dst *string
		tok string
	}{{&u.names.Pad, "[PAD]"}, {&u.names.Mask, "[MASK]"}, {&u.names.Pad, "<pad>"}, {&u.names.Mask, "<mask>"}} {
		if _, ok := u.TokenToID(cand.tok); ok && *cand.dst == "" {
			*cand.dst = cand.tok
		}
	}
	for _, t := range u.added.Tokens() {
		if t.Special && !u.isNamed(t.Content) {
			u.additional = append(u.additional, t.Content)
		}
	}
	u.added.Split("")
	return u, nil
}

type ugTyped struct {
	Type string `json:"type"`
}

func ugParseNormalizer(raw json.RawMessage, where string) ([]ugNormStep, error) {
	if isNull(raw) {
		return nil, nil
	}
	var t ugTyped
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	switch t.Type {
	case "Sequence":
		var seq struct {
			Normalizers []json.RawMessage `json:"normalizers"`
		}
		if err := json.Unmarshal(raw, &seq); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		var out []ugNormStep
		for i, r := range seq.Normalizers {
			s, err := ugParseNormalizer(r, fmt.Sprintf("%s.normalizers[%d]", where, i))
			if err != nil {
				return nil, err
			}
			out = append(out, s...)
		}
		return out, nil
	case "Strip":
		var s struct {
			Left  bool `json:"strip_left"`
			Right bool `json:"strip_right"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		return []ugNormStep{ugStrip{left: s.Left, right: s.Right}}, nil
	case "Precompiled":
		var s struct {
			Charsmap *string `json:"precompiled_charsmap"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if s.Charsmap == nil || *s.Charsmap == "" {
			return []ugNormStep{ugPrecompiled{}}, nil
		}
		b, err := base64.StdEncoding.DecodeString(*s.Charsmap)
		if err != nil {
			return nil, fmt.Errorf("%s: precompiled_charsmap: base64: %w", where, err)
		}
		cm, err := parsePrecompiledCharsmap(b)
		if err != nil {
			return nil, fmt.Errorf("%s: precompiled_charsmap: %w", where, err)
		}
		return []ugNormStep{ugPrecompiled{cm: cm}}, nil
	case "Replace":
		var s struct {
			Pattern struct {
				Regex  *string `json:"Regex"`
				String *string `json:"String"`
			} `json:"pattern"`
			Content string `json:"content"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		switch {
		case s.Pattern.Regex != nil:
			re, err := ugParseRegex(*s.Pattern.Regex)
			if err != nil {
				return nil, fmt.Errorf("%s: pattern: %w", where, err)
			}
			return []ugNormStep{ugReplace{re: re, content: s.Content}}, nil
		case s.Pattern.String != nil:
			return []ugNormStep{ugReplace{literal: *s.Pattern.String, content: s.Content}}, nil
		}
		return nil, fmt.Errorf("%s: Replace without a Regex or String pattern", where)
	case "Lowercase":
		return []ugNormStep{ugLowercase{}}, nil
	}
	return nil, fmt.Errorf("%s: type %q not supported for Unigram (Sequence, Strip, Precompiled, Replace, Lowercase)", where, t.Type)
}

func ugParsePreTok(raw json.RawMessage) (ugPreTok, error) {
	if isNull(raw) {
		return ugPreTok{}, errors.New("missing (a Metaspace pre-tokenizer is required)")
	}
	var t ugTyped
	if err := json.Unmarshal(raw, &t); err != nil {
		return ugPreTok{}, err
	}
	switch t.Type {
	case "Sequence":
		var seq struct {
			Pre []json.RawMessage `json:"pretokenizers"`
		}
		if err := json.Unmarshal(raw, &seq); err != nil {
			return ugPreTok{}, err
		}
		punct := false
		for i, r := range seq.Pre {
			var ti struct {
				Type     string `json:"type"`
				Behavior string `json:"behavior"`
			}
			if err := json.Unmarshal(r, &ti); err != nil {
				return ugPreTok{}, fmt.Errorf("pretokenizers[%d]: %w", i, err)
			}
			switch {
			case ti.Type == "Punctuation" && (ti.Behavior == "Isolated" || ti.Behavior == "") && i == 0 && len(seq.Pre) == 2:
				punct = true
			case ti.Type == "Metaspace" && i == len(seq.Pre)-1:
				p, err := ugParsePreTok(r)
				if err != nil {
					return ugPreTok{}, fmt.Errorf("pretokenizers[%d]: %w", i, err)
				}
				p.punct = punct
				return p, nil
			default:
				return ugPreTok{}, fmt.Errorf("pretokenizers[%d]: %s not supported (only [Punctuation(Isolated),] Metaspace)", i, ti.Type)
			}
		}
		return ugPreTok{}, errors.New("Sequence without a final Metaspace")
	case "Metaspace":
		var m struct {
			Replacement    string  `json:"replacement"`
			AddPrefixSpace *bool   `json:"add_prefix_space"`
			PrependScheme  *string `json:"prepend_scheme"`
			Split          *bool   `json:"split"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return ugPreTok{}, err
		}
		if m.Replacement == "" {
			return ugPreTok{}, errors.New("Metaspace: empty replacement")
		}
		p := ugPreTok{replacement: m.Replacement, prepend: ugPrependAlways, split: true}
		if m.Split != nil {
			p.split = *m.Split
		}
		switch {
		case m.PrependScheme != nil:
			switch *m.PrependScheme {
			case "always":
			case "first":
				p.prepend = ugPrependFirst
			case "never":
				p.prepend = ugPrependNever
			default:
				return ugPreTok{}, fmt.Errorf("Metaspace: prepend_scheme %q (want always, first or never)", *m.PrependScheme)
			}
		case m.AddPrefixSpace != nil && !*m.AddPrefixSpace:
			p.prepend = ugPrependNever
		}
		return p, nil
	}
	return ugPreTok{}, fmt.Errorf("type %q not supported for Unigram (Metaspace)", t.Type)
}

func (u *Unigram) parsePost(raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	var pp struct {
		Type          string          `json:"type"`
		Single        []templatePiece `json:"single"`
		SpecialTokens map[string]struct {
			IDs []int `json:"ids"`
		} `json:"special_tokens"`
	}
	if err := json.Unmarshal(raw, &pp); err != nil {
		return err
	}
	if pp.Type != "TemplateProcessing" {
		return fmt.Errorf("type %q not supported for Unigram (TemplateProcessing)", pp.Type)
	}
	pre, suf, seen, err := templateSides(pp.Single)
	if err != nil {
		return err
	}
	if !seen {
		return errors.New("single template without $A")
	}
	ids := func(names []string) ([]int, error) {
		var out []int
		for _, n := range names {
			st, ok := pp.SpecialTokens[n]
			if !ok {
				id, ok := u.TokenToID(n)
				if !ok {
					return nil, fmt.Errorf("special token %q unknown", n)
				}
				out = append(out, id)
				continue
			}
			out = append(out, st.IDs...)
		}
		return out, nil
	}
	if u.prefix, err = ids(pre); err != nil {
		return err
	}
	if u.suffix, err = ids(suf); err != nil {
		return err
	}
	if len(pre) == 1 {
		u.names.CLS, u.names.BOS = pre[0], pre[0]
	}
	if len(suf) == 1 {
		u.names.SEP, u.names.EOS = suf[0], suf[0]
	}
	return nil
}

// tokenizerJSON returns the tokenizer.json document of u.
func (u *Unigram) tokenizerJSON() any {
	vocab := make([]any, len(u.pieces))
	for i, p := range u.pieces {
		vocab[i] = []any{p, u.scores[i]}
	}
	norm := make([]any, len(u.norm))
	for i, n := range u.norm {
		norm[i] = n.json()
	}
	var normalizer any
	if len(norm) > 0 {
		normalizer = kv{"type": "Sequence", "normalizers": norm}
	}
	single := []any{}
	special := kv{}
	addSpecial := func(id int) {
		tok := u.Tokens([]int{id})[0]
		single = append(single, kv{"SpecialToken": kv{"id": tok, "type_id": 0}})
		special[tok] = kv{"id": tok, "ids": []int{id}, "tokens": []string{tok}}
	}
	for _, id := range u.prefix {
		addSpecial(id)
	}
	single = append(single, kv{"Sequence": kv{"id": "A", "type_id": 0}})
	for _, id := range u.suffix {
		addSpecial(id)
	}
	pair := append([]any(nil), single...)
	pair = append(pair, kv{"Sequence": kv{"id": "B", "type_id": 1}})
	for _, id := range u.suffix {
		tok := u.Tokens([]int{id})[0]
		pair = append(pair, kv{"SpecialToken": kv{"id": tok, "type_id": 1}})
	}
	unk := u.unkID
	return kv{
		"version":        "1.0",
		"truncation":     nil,
		"padding":        nil,
		"added_tokens":   u.added.Tokens(),
		"normalizer":     normalizer,
		"pre_tokenizer":  u.pre.json(),
		"post_processor": kv{"type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": special},
		"decoder":        kv{"type": "Metaspace", "replacement": u.pre.replacement, "prepend_scheme": u.pre.prepend.String(), "split": u.pre.split},
		"model":          kv{"type": "Unigram", "unk_id": unk, "vocab": vocab, "byte_fallback": u.byteFallback},
	}
}

// spmModel returns the model to write as spm.model: the source model, or
// one synthesized from the vocabulary (UNKNOWN for unk_id, CONTROL for
// special added tokens inside the vocabulary, NORMAL otherwise).
func (u *Unigram) spmModel() *SPMModel {
	if u.spm != nil {
		return u.spm
	}
	m := &SPMModel{
		Trainer: SPMTrainerSpec{ModelType: 1, VocabSize: int32(len(u.pieces)), ByteFallback: u.byteFallback,
			UnkID: int32(u.unkID), BosID: -1, EosID: -1, PadID: -1, UnkPiece: u.pieces[u.unkID]},
		Normalizer: SPMNormalizerSpec{Name: "identity", AddDummyPrefix: u.pre.prepend != ugPrependNever,
			RemoveExtraWhitespaces: true, EscapeWhitespaces: true},
	}
	if u.charsmap != nil {
		m.Normalizer.Name = "nmt_nfkc"
		m.Normalizer.PrecompiledCharsmap = u.charsmap.raw
	}
	for i, p := range u.pieces {
		sp := SPMPiece{Piece: p, Score: float32(u.scores[i]), Type: SPMNormal}
		if t, ok := u.added.Token(i); ok && t.Special {
			sp.Type = SPMControl
		} else if ok {
			sp.Type = SPMUserDefined
		}
		if i == u.unkID {
			sp.Type = SPMUnknown
		}
		m.Pieces = append(m.Pieces, sp)
	}
	set := func(name string, id *int32, s *string) {
		if v, ok := u.modelID(name); ok && name != "" {
			*id, *s = int32(v), name
		}
	}
	set(u.names.CLS, &m.Trainer.BosID, &m.Trainer.BosPiece)
	set(u.names.SEP, &m.Trainer.EosID, &m.Trainer.EosPiece)
	set(u.names.Pad, &m.Trainer.PadID, &m.Trainer.PadPiece)
	return m
}

// Save writes spm.model, tokenizer.json, tokenizer_config.json,
// special_tokens_map.json and added_tokens.json into dir (created if
// needed), the files save_pretrained writes for DebertaV2TokenizerFast.
func (u *Unigram) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save tokenizer: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, "spm.model"), u.spmModel().Marshal()); err != nil {
		return fmt.Errorf("save tokenizer: %w", err)
	}
	if err := ugWriteJSON(dir, "tokenizer.json", u.tokenizerJSON()); err != nil {
		return err
	}
	decoder := kv{}
	addedJSON := kv{}
	for _, t := range u.added.Tokens() {
		decoder[strconv.Itoa(t.ID)] = kv{"content": t.Content, "lstrip": t.LStrip, "normalized": t.Normalized,
			"rstrip": t.RStrip, "single_word": t.SingleWord, "special": t.Special}
		if t.ID >= len(u.pieces) {
			addedJSON[t.Content] = t.ID
		}
	}
	names := kv{}
	for _, e := range []struct{ key, v string }{{"bos_token", u.names.BOS}, {"eos_token", u.names.EOS}, {"unk_token", u.names.UNK},
		{"sep_token", u.names.SEP}, {"pad_token", u.names.Pad}, {"cls_token", u.names.CLS}, {"mask_token", u.names.Mask}} {
		if e.v != "" {
			names[e.key] = e.v
		}
	}
	additional := append([]string{}, u.additional...)
	sort.SliceStable(additional, func(i, j int) bool {
		a, _ := u.TokenToID(additional[i])
		b, _ := u.TokenToID(additional[j])
		return a < b
	})
	stm := kv{}
	for k, v := range names {
		stm[k] = v
	}
	if len(additional) > 0 {
		stm["additional_special_tokens"] = additional
	}
	cfg := kv{"do_lower_case": false, "split_by_punct": u.pre.punct, "vocab_type": "spm", "sp_model_kwargs": kv{},
		"tokenizer_class": "DebertaV2Tokenizer", "added_tokens_decoder": decoder, "clean_up_tokenization_spaces": true}
	if u.maxLen > 0 {
		cfg["model_max_length"] = u.maxLen
	}
	for k, v := range stm {
		cfg[k] = v
	}
	if err := ugWriteJSON(dir, "tokenizer_config.json", cfg); err != nil {
		return err
	}
	if err := ugWriteJSON(dir, "special_tokens_map.json", stm); err != nil {
		return err
	}
	return ugWriteJSON(dir, "added_tokens.json", addedJSON)
}

func ugWriteJSON(dir, name string, v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("save tokenizer %s: %w", name, err)
	}
	if err := writeFileAtomic(filepath.Join(dir, name), append(raw, '\n')); err != nil {
		return fmt.Errorf("save tokenizer: %w", err)
	}
	return nil
}
