package tokenizer

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// BertNormalizer is tokenizer.json's "BertNormalizer", applied in the fast
// tokenizer's order: clean text, pad CJK ideographs with spaces, strip
// accents (NFD, drop Mn), lowercase (per character).
type BertNormalizer struct {
	CleanText          bool `json:"clean_text"`
	HandleChineseChars bool `json:"handle_chinese_chars"`
	// StripAccents nil follows Lowercase, as in the reference.
	StripAccents *bool `json:"strip_accents"`
	Lowercase    bool  `json:"lowercase"`
}

func (n *BertNormalizer) stripAccents() bool {
	if n.StripAccents != nil {
		return *n.StripAccents
	}
	return n.Lowercase
}

// isBertControl is the fast tokenizer's is_control: categories Cc, Cf and
// Co (the unicode_categories crate's is_other), except \t \n \r. Unlike
// the slow tokenizer, unassigned code points (Cn) are kept: the fast
// tokenizer sees an emoji newer than its tables as a symbol (→ [UNK]).
func isBertControl(r rune) bool {
	switch r {
	case '\t', '\n', '\r':
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co)
}

func isBertWhitespace(r rune) bool {
	switch r {
	case '\t', '\n', '\r', ' ':
		return true
	}
	return unicode.IsSpace(r)
}

func isChineseChar(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) || (r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}

// isBertPunct: ASCII punctuation or Unicode category P*.
func isBertPunct(r rune) bool {
	if r < 128 {
		return (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126)
	}
	return unicode.IsPunct(r)
}

// Normalize applies the normalizer to s. Invalid UTF-8 bytes decode to
// U+FFFD, which clean_text removes.
func (n *BertNormalizer) Normalize(s string) string {
	if out, ok := n.normalizeASCII(s); ok {
		return out
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		if n.CleanText {
			if r == 0 || r == utf8.RuneError || isBertControl(r) {
				continue
			}
			if isBertWhitespace(r) {
				r = ' '
			}
		}
		if n.HandleChineseChars && isChineseChar(r) {
			b.WriteByte(' ')
			b.WriteRune(r)
			b.WriteByte(' ')
			continue
		}
		b.WriteRune(r)
	}
	out := b.String()
	if n.stripAccents() {
		out = stripMn(out)
	}
	if n.Lowercase {
		out = lowerChars(out)
	}
	return out
}

// normalizeASCII is Normalize's fast path for ASCII text (no CJK, no
// accents; lowercasing and cleaning are byte maps).
func (n *BertNormalizer) normalizeASCII(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return "", false
		}
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if n.CleanText {
			switch {
			case c == '\t' || c == '\n' || c == '\r':
				c = ' '
			case c < 0x20 || c == 0x7f:
				continue
			}
		}
		if n.Lowercase && c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b), true
}

func stripMn(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	d := norm.NFD.String(s)
	var b strings.Builder
	b.Grow(len(d))
	for _, r := range d {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// lowerChars lowercases character by character with the full (Rust
// char::to_lowercase) mapping: no context-dependent final sigma.
func lowerChars(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r == 'İ' {
			b.WriteString("i\u0307")
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// bertPreTokenize splits on whitespace (dropped) and isolates every
// punctuation character.
func bertPreTokenize(s string, fn func(word string) error) error {
	start := -1
	for i, r := range s {
		switch {
		case isBertWhitespace(r):
			if start >= 0 {
				if err := fn(s[start:i]); err != nil {
					return err
				}
				start = -1
			}
		case isBertPunct(r):
			if start >= 0 {
				if err := fn(s[start:i]); err != nil {
					return err
				}
				start = -1
			}
			if err := fn(s[i : i+utf8.RuneLen(r)]); err != nil {
				return err
			}
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		return fn(s[start:])
	}
	return nil
}

// WordPieceModel is the greedy longest-match-first WordPiece model.
type WordPieceModel struct {
	Vocab                   map[string]int
	UNK                     string
	ContinuingSubwordPrefix string
	MaxInputCharsPerWord    int

	inv   []string
	unkID int
}

func (w *WordPieceModel) init() error {
	if w.ContinuingSubwordPrefix == "" && w.MaxInputCharsPerWord == 0 {
		w.ContinuingSubwordPrefix = "##"
	}
	if w.MaxInputCharsPerWord <= 0 {
		w.MaxInputCharsPerWord = 100
	}
	id, ok := w.Vocab[w.UNK]
	if !ok {
		return fmt.Errorf("wordpiece: unk token %q is not in the vocabulary", w.UNK)
	}
	w.unkID = id
	maxID := -1
	for _, v := range w.Vocab {
		if v < 0 {
			return fmt.Errorf("wordpiece: negative id %d in vocabulary", v)
		}
		if v > maxID {
			maxID = v
		}
	}
	if maxID >= 4*len(w.Vocab)+1024 {
		return fmt.Errorf("wordpiece: id %d far beyond vocabulary size %d", maxID, len(w.Vocab))
	}
	w.inv = make([]string, maxID+1)
	for k, v := range w.Vocab {
		w.inv[v] = k
	}
	return nil
}

// encodeWord appends the ids of one pre-token.
func (w *WordPieceModel) encodeWord(word string, dst []int) []int {
	if utf8.RuneCountInString(word) > w.MaxInputCharsPerWord {
		return append(dst, w.unkID)
	}
	n0 := len(dst)
	start := 0
	var buf []byte
	for start < len(word) {
		end := len(word)
		found := -1
		for end > start {
			if start > 0 {
				buf = append(append(buf[:0], w.ContinuingSubwordPrefix...), word[start:end]...)
				// a map lookup keyed by string(buf) does not allocate
				if id, ok := w.Vocab[string(buf)]; ok {
					found = id
					break
				}
			} else if id, ok := w.Vocab[word[start:end]]; ok {
				found = id
				break
			}
			_, sz := utf8.DecodeLastRuneInString(word[start:end])
			end -= sz
		}
		if found < 0 {
			return append(dst[:n0], w.unkID)
		}
		dst = append(dst, found)
		start = end
	}
	return dst
}

// WordPiece is a BERT tokenizer: BertNormalizer, BertPreTokenizer and the
// WordPiece model, with added tokens and [CLS] … [SEP] around EncodeWords.
type WordPiece struct {
	*core
	Normalizer *BertNormalizer
	Model      *WordPieceModel
	// tokenizer.json extras kept for Save.
	preTokenizer string
}

type wordPieceModel struct{ t *WordPiece }

func (m wordPieceModel) normalize(s string) string {
	if m.t.Normalizer == nil {
		return s
	}
	return m.t.Normalizer.Normalize(s)
}

func (m wordPieceModel) encodeNormalized(s string, dst []int, _, _ bool) ([]int, error) {
	err := bertPreTokenize(s, func(word string) error {
		dst = m.t.Model.encodeWord(word, dst)
		return nil
	})
	return dst, err
}

func (m wordPieceModel) size() int { return len(m.t.Model.Vocab) }

func (m wordPieceModel) id(tok string) (int, bool) {
	id, ok := m.t.Model.Vocab[tok]
	return id, ok
}

func (m wordPieceModel) token(id int) (string, bool) {
	if id < 0 || id >= len(m.t.Model.inv) || m.t.Model.inv[id] == "" {
		if id >= 0 && id < len(m.t.Model.inv) {
			if got, ok := m.t.Model.Vocab[""]; ok && got == id {
				return "", true
			}
		}
		return "", false
	}
	return m.t.Model.inv[id], true
}

// NewWordPiece builds a BERT WordPiece tokenizer from a vocabulary (token →
// id), a normalizer (nil for none), the unk token ("" = "[UNK]"), the
// longest word in characters (0 = 100) and the continuation prefix ("" =
// "##"). Load and FromTokenizerJSON also install the special tokens and the
// [CLS] … [SEP] framing of EncodeWords; a bare NewWordPiece has neither.
func NewWordPiece(vocab map[string]int, normalizer *BertNormalizer, unk string, maxInputCharsPerWord int, prefix string) (*WordPiece, error) {
	if unk == "" {
		unk = "[UNK]"
	}
	m := &WordPieceModel{Vocab: vocab, UNK: unk, ContinuingSubwordPrefix: prefix, MaxInputCharsPerWord: maxInputCharsPerWord}
	if prefix == "" {
		m.ContinuingSubwordPrefix = "##"
	}
	if err := m.init(); err != nil {
		return nil, err
	}
	t := &WordPiece{Normalizer: normalizer, Model: m, preTokenizer: "BertPreTokenizer"}
	t.core = &core{added: NewAddedVocab(), names: specialNames{
		Pad: "[PAD]", UNK: unk, CLS: "[CLS]", SEP: "[SEP]", Mask: "[MASK]"}}
	t.core.m = wordPieceModel{t}
	return t, nil
}

// setClsSepPost frames sequences with the CLS and SEP tokens when present.
func (c *core) setClsSepPost(cls, sep string) {
	c.prefix, c.suffix = nil, nil
	if id, ok := c.TokenToID(cls); ok && cls != "" {
		c.prefix = []int{id}
	}
	if id, ok := c.TokenToID(sep); ok && sep != "" {
		c.suffix = []int{id}
	}
}
