package tokenizer

import (
	"fmt"
	"math"
	"strings"
	"sync"
)

func init() {
	unigramFromJSON = func(raw []byte) (Tokenizer, error) {
		u, err := NewUnigramFromJSON(raw)
		if err != nil {
			return nil, err
		}
		return u, nil
	}
	unigramFromSPM = func(path string) (Tokenizer, error) {
		u, err := NewUnigramFromSPM(path)
		if err != nil {
			return nil, err
		}
		return u, nil
	}
}

// Unigram is the SentencePiece Unigram tokenizer as the Hugging Face fast
// tokenizer runs it (DebertaV2TokenizerFast for DeBERTa-v2/v3): added
// tokens cut out of the raw text, then per remaining chunk the normalizer
// (for DeBERTa: Strip → Precompiled charsmap → Replace(" {2,}", " ")), the
// Metaspace pre-tokenizer ("▁", prepend always, split) and the unigram
// Viterbi search, consecutive unknown characters fused into one unknown
// token. It implements Tokenizer and is safe for concurrent use, except
// that AddSpecialTokens must not run concurrently with anything else.
type Unigram struct {
	pieces       []string
	scores       []float64
	index        map[string]int
	unkID        int
	byteFallback bool
	lat          ugLattice
	norm         []ugNormStep
	pre          ugPreTok
	added        *AddedVocab
	prefix       []int // post-processor ids before a sequence ([CLS])
	suffix       []int // … and after it ([SEP])
	names        specialNames
	additional   []string
	spm          *SPMModel // the source model, or nil when built from tokenizer.json
	charsmap     *precompiledCharsmap
	maxLen       int
	pool         sync.Pool
}

type ugScratch struct {
	best  []ugBest
	spans []ugSpan
}

// NewUnigramFromSPM reads an spm.model and builds the DeBERTa-v2/v3 fast
// tokenizer transformers converts it to (see NewUnigramFromSPMModel).
func NewUnigramFromSPM(path string) (*Unigram, error) {
	m, err := ReadSPMModel(path)
	if err != nil {
		return nil, err
	}
	u, err := NewUnigramFromSPMModel(m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return u, nil
}

// NewUnigramFromSPMModel builds the tokenizer DebertaV2TokenizerFast gets
// from a unigram spm.model: vocabulary = the pieces with their scores;
// CONTROL pieces and [UNK] are special added tokens, USER_DEFINED pieces
// non-normalized added tokens; [CLS]/[SEP]/[UNK]/[PAD]/[MASK] are the special
// tokens, [MASK] (and any of them missing from the pieces) appended after
// the pieces in the order transformers adds them; the post-processor wraps
// a sequence as [CLS] … [SEP].
func NewUnigramFromSPMModel(m *SPMModel) (*Unigram, error) {
	var cm *precompiledCharsmap
	if len(m.Normalizer.PrecompiledCharsmap) > 0 {
		var err error
		if cm, err = parsePrecompiledCharsmap(m.Normalizer.PrecompiledCharsmap); err != nil {
			return nil, fmt.Errorf("normalizer_spec.precompiled_charsmap: %w", err)
		}
	}
	pieces := make([]string, len(m.Pieces))
	scores := make([]float64, len(m.Pieces))
	for i, p := range m.Pieces {
		pieces[i], scores[i] = p.Piece, float64(p.Score)
	}
	u, err := newUnigram(pieces, scores, m.UnkID(), m.Trainer.ByteFallback)
	if err != nil {
		return nil, err
	}
	u.spm = m
	u.charsmap = cm
	u.norm = ugDebertaNormalizer(cm, false)
	u.pre = ugPreTok{replacement: spmSpace, prepend: ugPrependAlways, split: true}
	for i, p := range m.Pieces {
		switch p.Type {
		case SPMControl:
			err = u.added.Insert(AddedToken{ID: i, Content: p.Piece, Special: true})
		case SPMUserDefined:
			err = u.added.Insert(AddedToken{ID: i, Content: p.Piece})
		}
		if err != nil {
			return nil, fmt.Errorf("piece %d: %w", i, err)
		}
	}
	u.names = specialNames{Pad: "[PAD]", UNK: "[UNK]", CLS: "[CLS]", SEP: "[SEP]", BOS: "[CLS]", EOS: "[SEP]", Mask: "[MASK]"}
	// transformers' order: bos, eos, unk, sep, pad, cls, mask.
	for _, s := range []string{"[CLS]", "[SEP]", "[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"} {
		u.added.AddTokens(u.modelID, len(u.pieces), true, s)
	}
	cls, _ := u.TokenToID("[CLS]")
	sep, _ := u.TokenToID("[SEP]")
	u.prefix, u.suffix = []int{cls}, []int{sep}
	u.maxLen = 512
	u.added.Split("") // build the matcher now, so Encode never mutates it
	return u, nil
}

func newUnigram(pieces []string, scores []float64, unkID int, byteFallback bool) (*Unigram, error) {
	if len(pieces) == 0 {
		return nil, fmt.Errorf("unigram: empty vocabulary")
	}
	if unkID < 0 || unkID >= len(pieces) {
		return nil, fmt.Errorf("unigram: unk_id %d outside the vocabulary of %d pieces", unkID, len(pieces))
	}
	minScore := math.Inf(1)
	for i, s := range scores {
		if math.IsNaN(s) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("unigram: piece %d %q has score %v", i, pieces[i], s)
		}
		if pieces[i] == "" {
			return nil, fmt.Errorf("unigram: piece %d is empty", i)
		}
		minScore = math.Min(minScore, s)
	}
	index := make(map[string]int, len(pieces))
	for i, p := range pieces {
		index[p] = i
	}
	u := &Unigram{
		pieces: pieces, scores: scores, index: index, unkID: unkID, byteFallback: byteFallback,
		added: NewAddedVocab(), maxLen: 0,
	}
	// The Hugging Face model searches every vocabulary entry (control pieces
	// included) and gives unknown characters min score − 10.
	u.lat = ugLattice{trie: newUgTrie(pieces, func(int) bool { return true }), scores: scores,
		unkID: unkID, unkScore: minScore - 10}
	u.pool.New = func() any { return &ugScratch{} }
	return u, nil
}

func (u *Unigram) modelID(s string) (int, bool) {
	id, ok := u.index[s]
	return id, ok
}

// Encode tokenizes text without [CLS]/[SEP].
func (u *Unigram) Encode(text string) ([]int, error) {
	return u.encode(text, nil)
}

func (u *Unigram) encode(text string, dst []int) ([]int, error) {
	text = ugSanitize(text)
	first := true
	for _, seg := range u.added.Split(text) {
		if seg.IsAdded {
			dst = append(dst, seg.ID)
			first = false
			continue
		}
		norm := seg.Text
		for _, st := range u.norm {
			norm = st.apply(norm)
		}
		if !u.added.HasNormalized() {
			dst = u.encodeNormalized(norm, first, dst)
			first = false
			continue
		}
		for _, s := range u.added.SplitNormalized(norm) {
			if s.IsAdded {
				dst = append(dst, s.ID)
			} else {
				dst = u.encodeNormalized(s.Text, first, dst)
			}
			first = false
		}
	}
	return dst, nil
}

// encodeNormalized pre-tokenizes a normalized chunk and runs the model on
// each word.
func (u *Unigram) encodeNormalized(s string, first bool, dst []int) []int {
	sc := u.pool.Get().(*ugScratch)
	u.pre.pretokenize(s, first, func(w string) {
		dst = u.encodeWord(w, sc, dst)
	})
	u.pool.Put(sc)
	return dst
}

// encodeWord is the Hugging Face Unigram::tokenize of one word: Viterbi,
// consecutive unknown pieces fused into one string, then each string's id
// (the unknown id, or byte pieces with byte_fallback, when it is not in the
// vocabulary).
func (u *Unigram) encodeWord(w string, sc *ugScratch, dst []int) []int {
	if w == "" {
		return dst
	}
	sc.spans, sc.best = u.lat.viterbi(w, sc.best, sc.spans[:0])
	spans := sc.spans
	for i := 0; i < len(spans); {
		j := i + 1
		if spans[i].id == u.unkID {
			for j < len(spans) && spans[j].id == u.unkID {
				j++
			}
		}
		tok := w[spans[i].start:spans[j-1].end]
		if j == i+1 && spans[i].id != u.unkID {
			dst = append(dst, spans[i].id)
		} else if id, ok := u.index[tok]; ok {
			dst = append(dst, id)
		} else {
			dst = u.unknown(tok, dst)
		}
		i = j
	}
	return dst
}

func (u *Unigram) unknown(tok string, dst []int) []int {
	if u.byteFallback {
		ids := make([]int, 0, len(tok))
		for i := 0; i < len(tok); i++ {
			id, ok := u.index[fmt.Sprintf("<0x%02X>", tok[i])]
			if !ok {
				return append(dst, u.unkID)
			}
			ids = append(ids, id)
		}
		return append(dst, ids...)
	}
	return append(dst, u.unkID)
}

// EncodeWords tokenizes pre-split words (is_split_into_words=True): each
// word is a sequence of its own (its own "▁" prefix), wrapped in [CLS] …
// [SEP]; wordIDs gives each id's word index, -1 for [CLS]/[SEP].
func (u *Unigram) EncodeWords(words []string) ([]int, []int, error) {
	ids := append(make([]int, 0, len(u.prefix)+3*len(words)+len(u.suffix)), u.prefix...)
	wordIDs := make([]int, len(ids), cap(ids))
	for i := range wordIDs {
		wordIDs[i] = -1
	}
	for w, word := range words {
		n := len(ids)
		var err error
		if ids, err = u.encode(word, ids); err != nil {
			return nil, nil, fmt.Errorf("word %d (%q): %w", w, word, err)
		}
		for range ids[n:] {
			wordIDs = append(wordIDs, w)
		}
	}
	ids = append(ids, u.suffix...)
	for range u.suffix {
		wordIDs = append(wordIDs, -1)
	}
	return ids, wordIDs, nil
}

// Tokens returns the token strings of ids ("" for an unknown id).
func (u *Unigram) Tokens(ids []int) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		if t, ok := u.added.Token(id); ok {
			out[i] = t.Content
		} else if id >= 0 && id < len(u.pieces) {
			out[i] = u.pieces[id]
		}
	}
	return out
}

// Decode joins the tokens of ids, skipping special tokens, with "▁" turned
// back into spaces and the leading space removed (the Metaspace decoder).
func (u *Unigram) Decode(ids []int) string {
	var b strings.Builder
	for i, id := range ids {
		if t, ok := u.added.Token(id); ok && t.Special {
			continue
		}
		b.WriteString(u.Tokens(ids[i : i+1])[0])
	}
	s := strings.ReplaceAll(b.String(), u.pre.replacement, " ")
	return strings.TrimPrefix(s, " ")
}

// TokenToID returns the id of a piece or added token.
func (u *Unigram) TokenToID(tok string) (int, bool) {
	if id, ok := u.added.ID(tok); ok {
		return id, true
	}
	return u.modelID(tok)
}

// VocabSize is len(tokenizer): the pieces plus the added tokens that are
// not pieces (2001 for the fixture model with [MASK]; 128001 for
// DeBERTa-v3).
func (u *Unigram) VocabSize() int {
	n := len(u.pieces)
	for _, t := range u.added.Tokens() {
		if _, ok := u.modelID(t.Content); !ok {
			n++
		}
	}
	return n
}

// AddSpecialTokens appends tokens as special added tokens (as
// tokenizer.add_tokens(tokens, special_tokens=True)) and returns their ids.
func (u *Unigram) AddSpecialTokens(tokens ...string) []int {
	ids := u.added.AddTokens(u.modelID, len(u.pieces), true, tokens...)
	for _, t := range tokens {
		if t == "" || u.isNamed(t) {
			continue
		}
		dup := false
		for _, a := range u.additional {
			dup = dup || a == t
		}
		if !dup {
			u.additional = append(u.additional, t)
		}
	}
	u.added.Split("")
	return ids
}

func (u *Unigram) isNamed(t string) bool {
	n := u.names
	for _, s := range []string{n.Pad, n.UNK, n.CLS, n.SEP, n.BOS, n.EOS, n.Mask} {
		if s != "" && s == t {
			return true
		}
	}
	return false
}

// SpecialIDs reports the [PAD], [CLS], [SEP] and [UNK] ids (-1 if absent).
func (u *Unigram) SpecialIDs() Special {
	id := func(s string) int {
		if s == "" {
			return -1
		}
		if v, ok := u.TokenToID(s); ok {
			return v
		}
		return -1
	}
	sp := Special{Pad: id(u.names.Pad), CLS: -1, SEP: -1, UNK: u.unkID}
	if len(u.prefix) == 1 {
		sp.CLS = u.prefix[0]
	} else {
		sp.CLS = id(u.names.CLS)
	}
	if len(u.suffix) == 1 {
		sp.SEP = u.suffix[0]
	} else {
		sp.SEP = id(u.names.SEP)
	}
	return sp
}

// AddedTokens returns the added tokens sorted by id.
func (u *Unigram) AddedTokens() []AddedToken { return u.added.Tokens() }

// Pieces returns the model's pieces (ids 0 … len−1) and their scores.
func (u *Unigram) Pieces() ([]string, []float64) {
	return append([]string(nil), u.pieces...), append([]float64(nil), u.scores...)
}
