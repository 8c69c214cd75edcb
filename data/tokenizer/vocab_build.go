package tokenizer

import (
	"fmt"
	"sort"
	"unicode/utf8"
)

// VocabOptions tune BuildWordPieceVocab.
type VocabOptions struct {
	// Specials come first, in order; nil means the BERT specials
	// [PAD], [UNK], [CLS], [SEP], [MASK] (ids 0–4).
	Specials []string
	// Lowercase lower-cases (and strips accents from) the text before
	// counting, as an uncased BERT tokenizer normalizes it.
	Lowercase bool
	// MinFrequency drops whole words seen fewer times (0 or 1 keeps all).
	MinFrequency int
	// MaxWords caps the whole words kept, most frequent first (0: no cap).
	// Characters are always kept, so every word stays encodable.
	MaxWords int
}

// BuildWordPieceVocab builds a WordPiece vocabulary from words
// deterministically: the specials, then the whole words (after the BERT
// normalizer and pre-tokenizer: punctuation is split off) by descending
// frequency, ties in byte order, then every single character seen and
// every "##"+character, each sorted in byte order. Any word made of seen
// characters is therefore encodable without [UNK]. The result is the
// token list in id order (vocab.txt order).
func BuildWordPieceVocab(words [][]string, opts VocabOptions) ([]string, error) {
	specials := opts.Specials
	if specials == nil {
		specials = []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
	}
	if opts.MinFrequency < 0 || opts.MaxWords < 0 {
		return nil, fmt.Errorf("build vocabulary: min frequency %d and max words %d must be ≥ 0", opts.MinFrequency, opts.MaxWords)
	}
	norm := &BertNormalizer{CleanText: true, HandleChineseChars: true, Lowercase: opts.Lowercase}
	freq := map[string]int{}
	chars := map[string]bool{}
	for i, ws := range words {
		for j, w := range ws {
			if !utf8.ValidString(w) {
				return nil, fmt.Errorf("build vocabulary: text %d word %d is not valid UTF-8", i, j)
			}
			_ = bertPreTokenize(norm.Normalize(w), func(p string) error {
				freq[p]++
				for _, r := range p {
					chars[string(r)] = true
				}
				return nil
			})
		}
	}
	out := make([]string, 0, len(specials)+len(freq)+2*len(chars))
	seen := map[string]bool{}
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	for _, s := range specials {
		if s == "" {
			return nil, fmt.Errorf("build vocabulary: empty special token")
		}
		if seen[s] {
			return nil, fmt.Errorf("build vocabulary: special token %q given twice", s)
		}
		add(s)
	}
	ws := make([]string, 0, len(freq))
	for w, n := range freq {
		if n >= opts.MinFrequency {
			ws = append(ws, w)
		}
	}
	sort.Slice(ws, func(a, b int) bool {
		if freq[ws[a]] != freq[ws[b]] {
			return freq[ws[a]] > freq[ws[b]]
		}
		return ws[a] < ws[b]
	})
	if opts.MaxWords > 0 && len(ws) > opts.MaxWords {
		ws = ws[:opts.MaxWords]
	}
	for _, w := range ws {
		add(w)
	}
	cs := make([]string, 0, len(chars))
	for c := range chars {
		cs = append(cs, c)
	}
	sort.Strings(cs)
	for _, c := range cs {
		add(c)
	}
	for _, c := range cs {
		add("##" + c)
	}
	return out, nil
}

// NewBertWordPiece returns a BERT WordPiece tokenizer over tokens (id =
// position, e.g. from BuildWordPieceVocab) as Load builds one from a
// vocab.txt: BertNormalizer (lower-casing when lowercase), the BERT
// pre-tokenizer, [CLS] … [SEP] framing and the named specials [PAD],
// [UNK], [CLS], [SEP], [MASK] (those present) as special tokens.
func NewBertWordPiece(tokens []string, lowercase bool) (*WordPiece, error) {
	vocab := make(map[string]int, len(tokens))
	for i, t := range tokens {
		if _, dup := vocab[t]; dup {
			return nil, fmt.Errorf("bert wordpiece: token %q appears twice (ids %d and %d)", t, vocab[t], i)
		}
		vocab[t] = i
	}
	wp, err := NewWordPiece(vocab, &BertNormalizer{CleanText: true, HandleChineseChars: true, Lowercase: lowercase}, "[UNK]", 100, "##")
	if err != nil {
		return nil, fmt.Errorf("bert wordpiece: %w", err)
	}
	wp.core.registerSpecials()
	wp.core.setClsSepPost(wp.core.names.CLS, wp.core.names.SEP)
	return wp, nil
}
