package tokenizer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// precompiledCharsmap is sentencepiece's precompiled normalization rules
// (NormalizerSpec.precompiled_charsmap): a little-endian uint32 byte count
// of a Darts-clone double-array trie, the trie units, then a blob of
// NUL-terminated replacement strings the trie's values point into.
type precompiledCharsmap struct {
	units      []uint32
	normalized []byte
	raw        []byte
	// ascii caches transformFirst of each single ASCII byte.
	ascii    [128]string
	asciiHas [128]bool
}

func parsePrecompiledCharsmap(b []byte) (*precompiledCharsmap, error) {
	if len(b) <= 4 {
		return nil, fmt.Errorf("blob of %d bytes is too short for a trie size", len(b))
	}
	size := int64(binary.LittleEndian.Uint32(b))
	if size >= int64(len(b)) || size > int64(len(b)-4) {
		return nil, fmt.Errorf("trie size %d exceeds the blob size %d", size, len(b))
	}
	if size%4 != 0 {
		return nil, fmt.Errorf("trie size %d is not a multiple of 4", size)
	}
	if size == 0 {
		return nil, errors.New("empty trie")
	}
	units := make([]uint32, size/4)
	for i := range units {
		units[i] = binary.LittleEndian.Uint32(b[4+4*i:])
	}
	norm := b[4+size:]
	if !utf8.Valid(norm) {
		return nil, errors.New("replacement strings are not valid UTF-8")
	}
	p := &precompiledCharsmap{units: units, normalized: norm, raw: append([]byte(nil), b...)}
	for c := 0; c < 128; c++ {
		p.ascii[c], p.asciiHas[c] = p.transformFirst(string(rune(c)))
	}
	return p, nil
}

// Darts-clone unit accessors.
func dartsOffset(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }
func dartsLabel(u uint32) uint32  { return u & ((1 << 31) | 0xFF) }
func dartsHasLeaf(u uint32) bool  { return (u>>8)&1 == 1 }
func dartsValue(u uint32) uint32  { return u & ((1 << 31) - 1) }

// prefixMatches calls fn(length, value) for every key of the trie that is a
// prefix of key, shortest first; fn returns false to stop. stopAtNUL
// mirrors the Rust port (a NUL byte ends the search); sentencepiece's
// length-bounded Darts search walks NUL like any byte.
func (p *precompiledCharsmap) prefixMatches(key string, stopAtNUL bool, fn func(length int, value uint32) bool) {
	u := p.units
	if len(u) == 0 {
		return
	}
	pos := dartsOffset(u[0])
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c == 0 && stopAtNUL {
			return
		}
		pos ^= uint32(c)
		if int(pos) >= len(u) {
			return
		}
		unit := u[pos]
		if dartsLabel(unit) != uint32(c) {
			return
		}
		pos ^= dartsOffset(unit)
		if dartsHasLeaf(unit) {
			if int(pos) >= len(u) {
				return
			}
			if !fn(i+1, dartsValue(u[pos])) {
				return
			}
		}
	}
}

// replacement returns the NUL-terminated string at value in the blob.
func (p *precompiledCharsmap) replacement(value uint32) (string, bool) {
	if int64(value) > int64(len(p.normalized)) {
		return "", false
	}
	rest := p.normalized[value:]
	end := 0
	for end < len(rest) && rest[end] != 0 {
		end++
	}
	return string(rest[:end]), true
}

// transformFirst is the Hugging Face Precompiled::transform: the
// replacement of the first (shortest) rule whose key is a prefix of chunk.
// The rule need not cover all of chunk (that is how the Rust library
// behaves; the rest of the chunk is then dropped).
func (p *precompiledCharsmap) transformFirst(chunk string) (string, bool) {
	var out string
	found := false
	p.prefixMatches(chunk, true, func(_ int, v uint32) bool {
		out, found = p.replacement(v)
		return false
	})
	return out, found
}

// longestPrefix is sentencepiece's Normalizer::NormalizePrefix trie part:
// the longest rule matching a prefix of s, as (length, replacement).
func (p *precompiledCharsmap) longestPrefix(s string) (int, string, bool) {
	best, bestV := 0, uint32(0)
	p.prefixMatches(s, false, func(l int, v uint32) bool {
		if l > best {
			best, bestV = l, v
		}
		return true
	})
	if best == 0 {
		return 0, "", false
	}
	r, ok := p.replacement(bestV)
	if !ok {
		return 0, "", false
	}
	return best, r, true
}

// normalizeHF applies the charsmap as the Hugging Face Precompiled
// normalizer does: per extended grapheme cluster, a cluster shorter than 6
// bytes is replaced as a whole when a rule matches a prefix of it;
// otherwise each character is replaced by its own rule, if any.
func (p *precompiledCharsmap) normalizeHF(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for len(s) > 0 {
		if c := s[0]; c < 0x80 && (len(s) == 1 || s[1] < 0x80) && c != '\r' {
			// A lone ASCII character (only CR joins a following ASCII LF).
			if p.asciiHas[c] {
				b.WriteString(p.ascii[c])
			} else {
				b.WriteByte(c)
			}
			s = s[1:]
			continue
		}
		n := graphemeLen(s)
		g := s[:n]
		s = s[n:]
		if len(g) < 6 {
			if r, ok := p.transformFirst(g); ok {
				b.WriteString(r)
				continue
			}
		}
		for len(g) > 0 {
			_, sz := utf8.DecodeRuneInString(g)
			part := g[:sz]
			g = g[sz:]
			if r, ok := p.transformFirst(part); ok {
				b.WriteString(r)
			} else {
				b.WriteString(part)
			}
		}
	}
	return b.String()
}
