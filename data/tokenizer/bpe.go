package tokenizer

import (
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// byteToRune is GPT-2's bytes_to_unicode table: printable bytes map to
// themselves, the others to U+0100 onwards.
var byteToRune, runeToByte = func() ([256]rune, map[rune]byte) {
	var b2r [256]rune
	r2b := make(map[rune]byte, 256)
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			b2r[b] = rune(b)
		} else {
			b2r[b] = rune(256 + n)
			n++
		}
		r2b[b2r[b]] = byte(b)
	}
	return b2r, r2b
}()

// gpt2Split cuts s the way GPT-2's pre-tokenization regex does:
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// with \s the Unicode White_Space property (as Oniguruma and Python's regex
// module use). Every piece is passed to fn, in order; their concatenation is s.
func gpt2Split(s string, fn func(piece string)) {
	i := 0
	for i < len(s) {
		n := gpt2Match(s, i)
		fn(s[i : i+n])
		i += n
	}
}

func isLetter(r rune) bool { return unicode.IsLetter(r) }
func isNumber(r rune) bool { return unicode.IsNumber(r) }
func isOther(r rune) bool  { return !unicode.IsSpace(r) && !unicode.IsLetter(r) && !unicode.IsNumber(r) }

// gpt2Match returns the byte length of the regex match starting at i (> 0).
func gpt2Match(s string, i int) int {
	rest := s[i:]
	// Contractions.
	if rest[0] == '\'' && len(rest) >= 2 {
		switch rest[1] {
		case 's', 't', 'm', 'd':
			return 2
		}
		if len(rest) >= 3 {
			switch rest[1:3] {
			case "re", "ve", "ll":
				return 3
			}
		}
	}
	// ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`.
	j := 0
	if rest[0] == ' ' {
		j = 1
	}
	if j < len(rest) {
		r, _ := utf8.DecodeRuneInString(rest[j:])
		for _, class := range []func(rune) bool{isLetter, isNumber, isOther} {
			if class(r) {
				return j + runLen(rest[j:], class)
			}
		}
	}
	// `\s+(?!\S)` then `\s+`.
	r, sz := utf8.DecodeRuneInString(rest)
	if !unicode.IsSpace(r) {
		// Unreachable for valid classes (every rune is letter, number, other
		// or space), kept so that the loop always advances.
		return sz
	}
	n := runLen(rest, unicode.IsSpace)
	if n == len(rest) {
		return n // whitespace up to the end
	}
	_, lastSz := utf8.DecodeLastRuneInString(rest[:n])
	if n-lastSz > 0 {
		return n - lastSz // leave the last space to prefix the next word
	}
	return n
}

func runLen(s string, class func(rune) bool) int {
	n := 0
	for n < len(s) {
		r, sz := utf8.DecodeRuneInString(s[n:])
		if !class(r) {
			break
		}
		n += sz
	}
	return n
}

type pair struct{ a, b int }

// BPEModel is a byte-pair-encoding model: a vocabulary and merges by rank.
type BPEModel struct {
	Vocab  map[string]int
	Merges [][2]string
	// UNK, when set, replaces symbols not in the vocabulary.
	UNK string
	// IgnoreMerges: a pre-token found whole in the vocabulary is used as is.
	IgnoreMerges bool

	inv   []string
	ranks map[pair]pairMerge
	unkID int

	mu    sync.Mutex
	cache map[string][]int
}

type pairMerge struct{ rank, id int }

const bpeCacheMax = 1 << 16

func (m *BPEModel) init() error {
	maxID := -1
	for k, v := range m.Vocab {
		if v < 0 {
			return fmt.Errorf("bpe: token %q has negative id %d", k, v)
		}
		if v > maxID {
			maxID = v
		}
	}
	if maxID >= 4*len(m.Vocab)+1024 {
		return fmt.Errorf("bpe: id %d far beyond vocabulary size %d", maxID, len(m.Vocab))
	}
	m.inv = make([]string, maxID+1)
	for k, v := range m.Vocab {
		m.inv[v] = k
	}
	m.unkID = -1
	if m.UNK != "" {
		id, ok := m.Vocab[m.UNK]
		if !ok {
			return fmt.Errorf("bpe: unk token %q is not in the vocabulary", m.UNK)
		}
		m.unkID = id
	}
	m.ranks = make(map[pair]pairMerge, len(m.Merges))
	for r, mg := range m.Merges {
		a, okA := m.Vocab[mg[0]]
		b, okB := m.Vocab[mg[1]]
		if !okA || !okB {
			return fmt.Errorf("bpe: merge %d (%q %q): token not in the vocabulary", r+1, mg[0], mg[1])
		}
		id, ok := m.Vocab[mg[0]+mg[1]]
		if !ok {
			return fmt.Errorf("bpe: merge %d (%q %q): merged token %q not in the vocabulary", r+1, mg[0], mg[1], mg[0]+mg[1])
		}
		if _, dup := m.ranks[pair{a, b}]; !dup {
			m.ranks[pair{a, b}] = pairMerge{r, id}
		}
	}
	m.cache = map[string][]int{}
	return nil
}

// encodeWord appends the ids of one pre-token given in the model's alphabet
// (for byte-level models, already mapped through bytes_to_unicode).
func (m *BPEModel) encodeWord(word string, dst []int) ([]int, error) {
	if word == "" {
		return dst, nil
	}
	m.mu.Lock()
	ids, ok := m.cache[word]
	m.mu.Unlock()
	if ok {
		return append(dst, ids...), nil
	}
	if m.IgnoreMerges {
		if id, ok := m.Vocab[word]; ok {
			return append(dst, id), nil
		}
	}
	// Initial symbols: one per character.
	syms := make([]int, 0, len(word))
	for i, r := range word {
		c := word[i : i+utf8.RuneLen(r)]
		id, ok := m.Vocab[c]
		if !ok {
			if m.unkID < 0 {
				return nil, fmt.Errorf("bpe: character %q is not in the vocabulary and the model has no unk token", c)
			}
			id = m.unkID
		}
		syms = append(syms, id)
	}
	// Merge the lowest-ranked adjacent pair until none applies. Pieces are
	// short (one pre-token), so the quadratic scan is cheap and exact.
	for len(syms) > 1 {
		best, bestRank := -1, 0
		for k := 0; k+1 < len(syms); k++ {
			if pm, ok := m.ranks[pair{syms[k], syms[k+1]}]; ok && (best < 0 || pm.rank < bestRank) {
				best, bestRank = k, pm.rank
			}
		}
		if best < 0 {
			break
		}
		merged := m.ranks[pair{syms[best], syms[best+1]}].id
		syms[best] = merged
		syms = append(syms[:best+1], syms[best+2:]...)
	}
	m.mu.Lock()
	if len(m.cache) >= bpeCacheMax {
		m.cache = map[string][]int{}
	}
	m.cache[word] = append([]int(nil), syms...)
	m.mu.Unlock()
	return append(dst, syms...), nil
}

// BPE is a byte-level BPE tokenizer (GPT-2, RoBERTa): GPT-2's
// pre-tokenization regex, bytes mapped to printable characters, merges by
// rank (with a cache), added tokens, and optional <s> … </s> framing.
type BPE struct {
	*core
	Model *BPEModel
	// AddPrefixSpace prepends a space to a text that does not start with one
	// (the ByteLevel pre-tokenizer's add_prefix_space). EncodeWords always
	// does, as the fast tokenizers require for is_split_into_words.
	AddPrefixSpace bool
	// TrimOffsets is kept for Save (offsets are not computed).
	TrimOffsets bool
	postType    string // "ByteLevel" | "RobertaProcessing" | "TemplateProcessing"
}

type bpeModel struct{ t *BPE }

func (m bpeModel) normalize(s string) string { return s }

func (m bpeModel) encodeNormalized(s string, dst []int, word, _ bool) ([]int, error) {
	if s == "" {
		return dst, nil
	}
	if (word || m.t.AddPrefixSpace) && s[0] != ' ' {
		s = " " + s
	}
	var err error
	var buf strings.Builder
	gpt2Split(s, func(piece string) {
		if err != nil {
			return
		}
		buf.Reset()
		for k := 0; k < len(piece); k++ {
			buf.WriteRune(byteToRune[piece[k]])
		}
		dst, err = m.t.Model.encodeWord(buf.String(), dst)
	})
	return dst, err
}

func (m bpeModel) size() int { return len(m.t.Model.Vocab) }

func (m bpeModel) id(tok string) (int, bool) {
	id, ok := m.t.Model.Vocab[tok]
	return id, ok
}

func (m bpeModel) token(id int) (string, bool) {
	if id < 0 || id >= len(m.t.Model.inv) {
		return "", false
	}
	s := m.t.Model.inv[id]
	if s == "" {
		if got, ok := m.t.Model.Vocab[""]; !ok || got != id {
			return "", false
		}
	}
	return s, true
}

// NewBPE builds a byte-level BPE tokenizer from a vocabulary and merges
// (ranked by position). With GPT-2's files it behaves as
// GPT2Tokenizer(add_prefix_space=False): no special tokens around sequences;
// <|endoftext|> is the special token.
func NewBPE(vocab map[string]int, merges [][2]string) (*BPE, error) {
	m := &BPEModel{Vocab: vocab, Merges: merges}
	if err := m.init(); err != nil {
		return nil, err
	}
	t := &BPE{Model: m, postType: "ByteLevel", TrimOffsets: true}
	t.core = &core{added: NewAddedVocab(), names: specialNames{
		UNK: "<|endoftext|>", BOS: "<|endoftext|>", EOS: "<|endoftext|>"}}
	t.core.m = bpeModel{t}
	return t, nil
}

// Decode turns ids back into text (byte-level decoding; added tokens as
// their content). Unknown ids are skipped.
func (t *BPE) Decode(ids []int) string {
	var b []byte
	for _, id := range ids {
		if at, ok := t.added.Token(id); ok {
			b = append(b, at.Content...)
			continue
		}
		tok, ok := t.m.token(id)
		if !ok {
			continue
		}
		for _, r := range tok {
			if c, ok := runeToByte[r]; ok {
				b = append(b, c)
			} else {
				b = utf8.AppendRune(b, r)
			}
		}
	}
	return string(b)
}
