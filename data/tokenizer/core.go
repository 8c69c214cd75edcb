package tokenizer

import (
	"fmt"
	"sort"
)

// model is the part of a pipeline that differs between WordPiece and BPE:
// normalization, pre-tokenization and the sub-word model proper.
type model interface {
	// normalize applies the normalizer to a segment of raw text.
	normalize(s string) string
	// encodeNormalized pre-tokenizes a normalized segment and appends the
	// model's ids to dst. word is true when the segment comes from a pre-split
	// word (is_split_into_words), first when it is the word's first segment.
	encodeNormalized(s string, dst []int, word, first bool) ([]int, error)
	size() int
	id(tok string) (int, bool)
	token(id int) (string, bool)
}

// core is the pipeline shared by the pure-Go backends: added-token
// splitting, normalization, pre-tokenization, the model, and the
// post-processor's special tokens.
type core struct {
	m     model
	added *AddedVocab
	// prefix and suffix are the post-processor's ids around a single
	// sequence ([CLS] … [SEP], <s> … </s>, or nothing).
	prefix, suffix []int
	names          specialNames
	// additional lists the additional special tokens, in order, for Save.
	additional []string
	// ModelMaxLength is tokenizer_config.json's model_max_length (0 if unset).
	modelMaxLength int
}

// specialNames are the special token strings of special_tokens_map.json.
type specialNames struct {
	Pad, UNK, CLS, SEP, BOS, EOS, Mask string
}

func (c *core) Encode(text string) ([]int, error) {
	return c.encode(text, nil, false)
}

func (c *core) encode(text string, dst []int, word bool) ([]int, error) {
	var err error
	first := true
	for _, seg := range c.added.Split(text) {
		if seg.IsAdded {
			dst = append(dst, seg.ID)
			first = false
			continue
		}
		norm := c.m.normalize(seg.Text)
		if !c.added.HasNormalized() {
			if dst, err = c.m.encodeNormalized(norm, dst, word, first); err != nil {
				return nil, err
			}
			first = false
			continue
		}
		for _, s := range c.added.SplitNormalized(norm) {
			if s.IsAdded {
				dst = append(dst, s.ID)
			} else if dst, err = c.m.encodeNormalized(s.Text, dst, word, first); err != nil {
				return nil, err
			}
			first = false
		}
	}
	return dst, nil
}

func (c *core) EncodeWords(words []string) ([]int, []int, error) {
	ids := append([]int(nil), c.prefix...)
	wordIDs := make([]int, len(ids), len(ids)+2*len(words))
	for i := range wordIDs {
		wordIDs[i] = -1
	}
	for w, word := range words {
		n := len(ids)
		var err error
		if ids, err = c.encode(word, ids, true); err != nil {
			return nil, nil, fmt.Errorf("word %d (%q): %w", w, word, err)
		}
		for range ids[n:] {
			wordIDs = append(wordIDs, w)
		}
	}
	ids = append(ids, c.suffix...)
	for range c.suffix {
		wordIDs = append(wordIDs, -1)
	}
	return ids, wordIDs, nil
}

func (c *core) Tokens(ids []int) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		if t, ok := c.added.Token(id); ok {
			out[i] = t.Content
		} else if s, ok := c.m.token(id); ok {
			out[i] = s
		}
	}
	return out
}

func (c *core) TokenToID(tok string) (int, bool) {
	if id, ok := c.added.ID(tok); ok {
		return id, true
	}
	return c.m.id(tok)
}

// VocabSize is len(tokenizer): the model's vocabulary plus the added tokens
// that are not already in it.
func (c *core) VocabSize() int {
	n := c.m.size()
	for _, t := range c.added.tokens {
		if _, ok := c.m.id(t.Content); !ok {
			n++
		}
	}
	return n
}

func (c *core) AddSpecialTokens(tokens ...string) []int {
	ids := c.added.AddTokens(c.m.id, c.m.size(), true, tokens...)
	for _, t := range tokens {
		if t == "" || c.isNamedSpecial(t) {
			continue
		}
		dup := false
		for _, a := range c.additional {
			dup = dup || a == t
		}
		if !dup {
			c.additional = append(c.additional, t)
		}
	}
	return ids
}

func (c *core) isNamedSpecial(t string) bool {
	n := c.names
	for _, s := range []string{n.Pad, n.UNK, n.CLS, n.SEP, n.BOS, n.EOS, n.Mask} {
		if s != "" && s == t {
			return true
		}
	}
	return false
}

func (c *core) SpecialIDs() Special {
	look := func(names ...string) int {
		for _, n := range names {
			if n == "" {
				continue
			}
			if id, ok := c.TokenToID(n); ok {
				return id
			}
		}
		return -1
	}
	n := c.names
	return Special{
		Pad: look(n.Pad),
		CLS: look(n.CLS, n.BOS),
		SEP: look(n.SEP, n.EOS),
		UNK: look(n.UNK),
	}
}

// ModelMaxLength is tokenizer_config.json's model_max_length (0 when the
// folder does not set one).
func (c *core) ModelMaxLength() int { return c.modelMaxLength }

// AddedTokens returns the added vocabulary (special tokens included),
// sorted by id.
func (c *core) AddedTokens() []AddedToken { return c.added.Tokens() }

// registerSpecials makes every named special token an added special token
// (as transformers does when it builds a fast tokenizer), keeping model ids.
func (c *core) registerSpecials() {
	n := c.names
	var toks []string
	for _, s := range []string{n.UNK, n.SEP, n.Pad, n.CLS, n.Mask, n.BOS, n.EOS} {
		if s != "" {
			if _, ok := c.added.ID(s); !ok {
				if _, inModel := c.m.id(s); inModel {
					toks = append(toks, s)
				}
			}
		}
	}
	c.added.AddTokens(c.m.id, c.m.size(), true, toks...)
}

// sortedVocab returns the model vocabulary as tokens sorted by id.
func sortedVocab(vocab map[string]int) []string {
	type kv struct {
		k string
		v int
	}
	l := make([]kv, 0, len(vocab))
	for k, v := range vocab {
		l = append(l, kv{k, v})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].v < l[j].v })
	out := make([]string, len(l))
	for i, e := range l {
		out[i] = e.k
	}
	return out
}
