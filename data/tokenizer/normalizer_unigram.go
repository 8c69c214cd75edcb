package tokenizer

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ugNormStep is one normalizer of a Unigram tokenizer.json normalizer
// (Sequence members): Strip, Precompiled, Replace, Lowercase.
type ugNormStep interface {
	apply(s string) string
	json() any
}

type ugStrip struct{ left, right bool }

func (n ugStrip) apply(s string) string {
	// Rust char::is_whitespace is the White_Space property, as unicode.IsSpace.
	if n.left {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
	}
	if n.right {
		s = strings.TrimRightFunc(s, unicode.IsSpace)
	}
	return s
}

func (n ugStrip) json() any {
	return kv{"type": "Strip", "strip_left": n.left, "strip_right": n.right}
}

type ugPrecompiled struct{ cm *precompiledCharsmap }

func (n ugPrecompiled) apply(s string) string {
	if n.cm == nil {
		return s
	}
	return n.cm.normalizeHF(s)
}

func (n ugPrecompiled) json() any {
	var raw []byte
	if n.cm != nil {
		raw = n.cm.raw
	}
	return kv{"type": "Precompiled", "precompiled_charsmap": base64.StdEncoding.EncodeToString(raw)}
}

type ugReplace struct {
	re      *regexp.Regexp // nil for a literal pattern
	literal string
	content string
}

func (n ugReplace) apply(s string) string {
	if n.re != nil {
		return n.re.ReplaceAllLiteralString(s, n.content)
	}
	if n.literal == "" {
		return s
	}
	return strings.ReplaceAll(s, n.literal, n.content)
}

func (n ugReplace) json() any {
	pat := kv{"String": n.literal}
	if n.re != nil {
		pat = kv{"Regex": n.re.String()}
	}
	return kv{"type": "Replace", "pattern": pat, "content": n.content}
}

type ugLowercase struct{}

func (ugLowercase) apply(s string) string {
	// Rust's str::to_lowercase: full Unicode lowercase; the one multi-rune
	// mapping outside final sigma handling is U+0130.
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r == 0x130 {
			b.WriteString("i\u0307")
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

func (ugLowercase) json() any { return kv{"type": "Lowercase"} }

// ugPrepend is the Metaspace prepend_scheme.
type ugPrepend int

const (
	ugPrependAlways ugPrepend = iota
	ugPrependFirst
	ugPrependNever
)

func (p ugPrepend) String() string {
	return [...]string{"always", "first", "never"}[p]
}

// ugPreTok is the pre-tokenizer of a Unigram tokenizer: optional
// Punctuation(Isolated) then Metaspace.
type ugPreTok struct {
	punct       bool
	replacement string
	prepend     ugPrepend
	split       bool
}

// pretokenize splits a normalized segment into the words the model sees.
// first is true for a segment that starts its sequence (prepend "first").
func (p *ugPreTok) pretokenize(s string, first bool, fn func(word string)) {
	if s == "" {
		return
	}
	if p.punct {
		start := 0
		for i, r := range s {
			if ugIsPunct(r) {
				if i > start {
					p.metaspace(s[start:i], first && start == 0, fn)
				}
				p.metaspace(s[i:i+utf8.RuneLen(r)], first && i == 0, fn)
				start = i + utf8.RuneLen(r)
			}
		}
		if start < len(s) {
			p.metaspace(s[start:], first && start == 0, fn)
		}
		return
	}
	p.metaspace(s, first, fn)
}

func (p *ugPreTok) metaspace(s string, first bool, fn func(word string)) {
	rep := p.replacement
	s = strings.ReplaceAll(s, " ", rep)
	if !strings.HasPrefix(s, rep) && (p.prepend == ugPrependAlways || p.prepend == ugPrependFirst && first) {
		s = rep + s
	}
	if !p.split {
		fn(s)
		return
	}
	// MergedWithNext: every replacement character starts a new word.
	start := 0
	for start < len(s) {
		j := strings.Index(s[start+1:], rep)
		if j < 0 {
			fn(s[start:])
			return
		}
		fn(s[start : start+1+j])
		start += 1 + j
	}
}

func (p *ugPreTok) json() any {
	ms := kv{"type": "Metaspace", "replacement": p.replacement, "prepend_scheme": p.prepend.String(), "split": p.split}
	if !p.punct {
		return ms
	}
	return kv{"type": "Sequence", "pretokenizers": []any{kv{"type": "Punctuation", "behavior": "Isolated"}, ms}}
}

// ugIsPunct is the Hugging Face is_punctuation: ASCII punctuation or a
// Unicode punctuation category.
func ugIsPunct(r rune) bool {
	if r < 0x80 {
		return r >= '!' && r <= '/' || r >= ':' && r <= '@' || r >= '[' && r <= '`' || r >= '{' && r <= '~'
	}
	return unicode.IsPunct(r)
}

// ugDebertaNormalizer is the normalizer transformers' DebertaV2Converter
// builds: Strip() → Precompiled(charsmap) → Replace(" {2,}", " ").
func ugDebertaNormalizer(cm *precompiledCharsmap, lowercase bool) []ugNormStep {
	var steps []ugNormStep
	if lowercase {
		steps = append(steps, ugLowercase{})
	}
	steps = append(steps, ugStrip{left: true, right: true})
	if cm != nil {
		steps = append(steps, ugPrecompiled{cm: cm})
	}
	steps = append(steps, ugReplace{re: regexp.MustCompile(" {2,}"), content: " "})
	return steps
}

// ugSanitize replaces every byte of invalid UTF-8 with U+FFFD (Python
// strings, and so the reference, cannot hold invalid UTF-8).
func ugSanitize(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func ugParseRegex(pat string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, fmt.Errorf("regex %q: %w", pat, err)
	}
	return re, nil
}
