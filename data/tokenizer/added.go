package tokenizer

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AddedToken is one entry of a tokenizer's added vocabulary, with the flags
// of tokenizer.json's "added_tokens" list.
type AddedToken struct {
	ID      int    `json:"id"`
	Content string `json:"content"`
	// SingleWord: only match when not glued to a word character on either side.
	SingleWord bool `json:"single_word"`
	// LStrip / RStrip: the match swallows the whitespace on its left / right.
	LStrip bool `json:"lstrip"`
	RStrip bool `json:"rstrip"`
	// Normalized: the token is matched in the normalized text rather than the
	// raw text. Special tokens are never normalized.
	Normalized bool `json:"normalized"`
	// Special marks special tokens ([CLS], <|endoftext|>, GLiNER's <<ENT>> …).
	Special bool `json:"special"`
}

// Segment is one piece of a text split on added tokens: either an added
// token (IsAdded, with its ID) or a run of ordinary text to hand to the
// model (ID is -1).
type Segment struct {
	Text    string
	ID      int
	IsAdded bool
}

// AddedVocab holds the added tokens of a tokenizer (special tokens such as
// [CLS] and tokens added later such as <<ENT>>) and splits raw text on them
// the way the Hugging Face fast tokenizers do: leftmost-longest,
// case-sensitive matching, honouring single_word, lstrip and rstrip.
// The zero value is not usable; call NewAddedVocab. Split may be called
// from several goroutines at once; Insert and AddTokens may not run
// concurrently with anything else.
type AddedVocab struct {
	byContent map[string]int // content -> index in tokens
	byID      map[int]int    // id -> index in tokens
	tokens    []AddedToken
	// candidates per first byte, longest first; rebuilt lazily.
	raw, norm [256][]int
	dirty     bool
}

// NewAddedVocab returns an empty added vocabulary.
func NewAddedVocab() *AddedVocab {
	return &AddedVocab{byContent: map[string]int{}, byID: map[int]int{}}
}

// Insert adds tok with its explicit id (as read from tokenizer.json or
// added_tokens.json). Re-inserting the same content with the same id
// updates its flags; an empty content or a content/id clash is an error.
func (a *AddedVocab) Insert(tok AddedToken) error {
	if tok.Content == "" {
		return fmt.Errorf("added token with id %d has empty content", tok.ID)
	}
	if tok.ID < 0 {
		return fmt.Errorf("added token %q has negative id %d", tok.Content, tok.ID)
	}
	if i, ok := a.byContent[tok.Content]; ok {
		if a.tokens[i].ID != tok.ID {
			return fmt.Errorf("added token %q given id %d and id %d", tok.Content, a.tokens[i].ID, tok.ID)
		}
		a.tokens[i] = tok
		a.dirty = true
		a.rebuild()
		return nil
	}
	if i, ok := a.byID[tok.ID]; ok {
		return fmt.Errorf("added tokens %q and %q share id %d", a.tokens[i].Content, tok.Content, tok.ID)
	}
	a.byContent[tok.Content] = len(a.tokens)
	a.byID[tok.ID] = len(a.tokens)
	a.tokens = append(a.tokens, tok)
	a.dirty = true
	a.rebuild()
	return nil
}

// AddTokens adds contents as new added tokens the way the Hugging Face
// tokenizers library assigns ids: a token already in the added vocabulary
// keeps its id; one in the model vocabulary (modelID) takes the model's id;
// any other gets max(modelSize, largest added id + 1). special sets the
// Special flag (and Normalized = !special, as transformers does). It returns
// the id of every content, in order. Empty contents get -1.
func (a *AddedVocab) AddTokens(modelID func(string) (int, bool), modelSize int, special bool, contents ...string) []int {
	ids := make([]int, len(contents))
	for k, c := range contents {
		if c == "" {
			ids[k] = -1
			continue
		}
		if i, ok := a.byContent[c]; ok {
			if special && !a.tokens[i].Special {
				a.tokens[i].Special = true
				a.tokens[i].Normalized = false
				a.dirty = true
				a.rebuild()
			}
			ids[k] = a.tokens[i].ID
			continue
		}
		id, ok := -1, false
		if modelID != nil {
			id, ok = modelID(c)
		}
		if !ok {
			id = modelSize
			if m := a.MaxID(); m >= modelSize || modelSize == 0 {
				id = m + 1
			}
			for { // never reuse an id (cannot happen with the rule above unless ids are sparse)
				if _, taken := a.byID[id]; !taken {
					break
				}
				id++
			}
		}
		tok := AddedToken{ID: id, Content: c, Special: special, Normalized: !special}
		// Insert cannot fail here: content is new and non-empty, id is free or
		// a model id not used by another added token.
		if err := a.Insert(tok); err != nil {
			// A model id already taken by a different added token: fall back to
			// a fresh id rather than failing.
			tok.ID = a.MaxID() + 1
			if tok.ID < modelSize {
				tok.ID = modelSize
			}
			_ = a.Insert(tok)
		}
		ids[k] = tok.ID
	}
	return ids
}

// Len is the number of added tokens.
func (a *AddedVocab) Len() int { return len(a.tokens) }

// MaxID is the largest added id, or -1 when empty.
func (a *AddedVocab) MaxID() int {
	m := -1
	for _, t := range a.tokens {
		if t.ID > m {
			m = t.ID
		}
	}
	return m
}

// ID returns the id of an added token's content.
func (a *AddedVocab) ID(content string) (int, bool) {
	i, ok := a.byContent[content]
	if !ok {
		return -1, false
	}
	return a.tokens[i].ID, true
}

// Token returns the added token with id.
func (a *AddedVocab) Token(id int) (AddedToken, bool) {
	i, ok := a.byID[id]
	if !ok {
		return AddedToken{}, false
	}
	return a.tokens[i], true
}

// Tokens returns a copy of the added tokens sorted by id.
func (a *AddedVocab) Tokens() []AddedToken {
	out := append([]AddedToken(nil), a.tokens...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Clone returns an independent copy.
func (a *AddedVocab) Clone() *AddedVocab {
	b := NewAddedVocab()
	for _, t := range a.tokens {
		_ = b.Insert(t)
	}
	return b
}

func (a *AddedVocab) rebuild() {
	if !a.dirty {
		return
	}
	for i := range a.raw {
		a.raw[i] = a.raw[i][:0]
		a.norm[i] = a.norm[i][:0]
	}
	for i, t := range a.tokens {
		b := t.Content[0]
		if t.Normalized && !t.Special {
			a.norm[b] = append(a.norm[b], i)
		} else {
			a.raw[b] = append(a.raw[b], i)
		}
	}
	for i := range a.raw {
		for _, l := range [][]int{a.raw[i], a.norm[i]} {
			sort.SliceStable(l, func(x, y int) bool {
				cx, cy := a.tokens[l[x]].Content, a.tokens[l[y]].Content
				if len(cx) != len(cy) {
					return len(cx) > len(cy)
				}
				return cx < cy
			})
		}
	}
	a.dirty = false
}

// Split cuts text on the added tokens that are matched in the raw text
// (every special token, and non-special tokens with normalized=false).
// Non-added segments keep their text exactly (minus whitespace swallowed by
// lstrip/rstrip tokens); empty segments are dropped. The segments'
// texts concatenated give text back except for that stripped whitespace.
func (a *AddedVocab) Split(text string) []Segment {
	a.rebuild()
	return a.split(text, &a.raw)
}

// SplitNormalized cuts an already normalized text on the added tokens with
// normalized=true (non-special). A tokenizer calls it on each ordinary
// segment of Split after applying its normalizer.
func (a *AddedVocab) SplitNormalized(text string) []Segment {
	a.rebuild()
	return a.split(text, &a.norm)
}

// HasNormalized reports whether any added token is matched after
// normalization.
func (a *AddedVocab) HasNormalized() bool {
	for _, t := range a.tokens {
		if t.Normalized && !t.Special {
			return true
		}
	}
	return false
}

func isWordChar(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }

func (a *AddedVocab) split(text string, cand *[256][]int) []Segment {
	if len(a.tokens) == 0 || text == "" {
		if text == "" {
			return nil
		}
		return []Segment{{Text: text, ID: -1}}
	}
	var segs []Segment
	emitText := func(s string) {
		if s != "" {
			segs = append(segs, Segment{Text: s, ID: -1})
		}
	}
	last := 0 // end of the previous emitted piece
	i := 0
	for i < len(text) {
		list := cand[text[i]]
		match := -1
		for _, ti := range list {
			if strings.HasPrefix(text[i:], a.tokens[ti].Content) {
				match = ti
				break
			}
		}
		if match < 0 {
			_, sz := utf8.DecodeRuneInString(text[i:])
			i += sz
			continue
		}
		tok := a.tokens[match]
		start, stop := i, i+len(tok.Content)
		if tok.SingleWord {
			before, _ := utf8.DecodeLastRuneInString(text[:start])
			after, _ := utf8.DecodeRuneInString(text[stop:])
			if (start > 0 && isWordChar(before)) || (stop < len(text) && isWordChar(after)) {
				i = stop // the matcher consumed this span; it is not retried shorter
				continue
			}
		}
		if tok.LStrip {
			s := strings.TrimRightFunc(text[last:start], unicode.IsSpace)
			start = last + len(s)
		}
		if tok.RStrip {
			rest := strings.TrimLeftFunc(text[stop:], unicode.IsSpace)
			stop = len(text) - len(rest)
		}
		emitText(text[last:start])
		segs = append(segs, Segment{Text: tok.Content, ID: tok.ID, IsAdded: true})
		last, i = stop, stop
	}
	emitText(text[last:])
	return segs
}
