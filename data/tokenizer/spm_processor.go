package tokenizer

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// SentencePiece is sentencepiece's own encoder for a unigram spm.model
// (SentencePieceProcessor.encode): the model's normalizer (precompiled
// charsmap applied by longest match, heading/trailing/repeated spaces
// removed, the dummy "▁" prefix, spaces escaped as "▁") followed by the
// Viterbi search over the whole normalized sentence, with consecutive
// unknown pieces merged. It is the reference the DeBERTa slow tokenizer is
// built on; the Unigram tokenizer reproduces the Hugging Face fast
// pipeline instead. Safe for concurrent use.
type SentencePiece struct {
	model    *SPMModel
	charsmap *precompiledCharsmap
	user     *ugTrie // user-defined symbols, matched before the charsmap
	lat      ugLattice
	index    map[string]int
}

// SPMToken is one piece of SentencePiece.Encode: its id, the piece (the
// normalized text it covers), the surface (the original text it covers)
// and Begin/End, the byte offsets of the surface in the input.
type SPMToken struct {
	ID         int
	Piece      string
	Surface    string
	Begin, End int
}

// NewSentencePiece prepares the encoder of a unigram model.
func NewSentencePiece(m *SPMModel) (*SentencePiece, error) {
	sp := &SentencePiece{model: m, index: spmPieceIndex(m.Pieces)}
	if len(m.Normalizer.PrecompiledCharsmap) > 0 {
		cm, err := parsePrecompiledCharsmap(m.Normalizer.PrecompiledCharsmap)
		if err != nil {
			return nil, fmt.Errorf("sentencepiece: normalizer_spec.precompiled_charsmap: %w", err)
		}
		sp.charsmap = cm
	}
	strs := make([]string, len(m.Pieces))
	types := make([]SPMPieceType, len(m.Pieces))
	scores := make([]float32, len(m.Pieces))
	hasUser := false
	minScore, maxScore := float32(0), float32(0)
	seen := false
	for i, p := range m.Pieces {
		strs[i], types[i], scores[i] = p.Piece, p.Type, p.Score
		if p.Type == SPMUserDefined {
			hasUser = true
		}
		if p.Type == SPMNormal {
			if !seen || p.Score < minScore {
				minScore = p.Score
			}
			if !seen || p.Score > maxScore {
				maxScore = p.Score
			}
			seen = true
		}
	}
	if !seen {
		return nil, fmt.Errorf("sentencepiece: model has no NORMAL piece")
	}
	isModelPiece := func(id int) bool {
		t := types[id]
		return t == SPMNormal || t == SPMUserDefined || t == SPMUnused
	}
	sp.lat = ugLattice{
		trie: newUgTrie(strs, isModelPiece), unkID: m.UnkID(),
		unkScore: float64(minScore - 10), spm: true, types: types,
		maxScore32: maxScore, scores32: scores,
	}
	if hasUser {
		sp.user = newUgTrie(strs, func(id int) bool { return types[id] == SPMUserDefined })
	}
	return sp, nil
}

const spmSpace = "\u2581"

// normalizePrefix is Normalizer::NormalizePrefix: the normalized text of
// the start of s and the number of input bytes it consumes.
func (sp *SentencePiece) normalizePrefix(s string) (string, int) {
	if sp.user != nil {
		n, l := int32(0), 0
		for i := 0; i < len(s); i++ {
			if n = sp.user.next(n, s[i]); n < 0 {
				break
			}
			if sp.user.value[n] >= 0 {
				l = i + 1
			}
		}
		if l > 0 {
			return s[:l], l
		}
	}
	if sp.charsmap != nil {
		if l, r, ok := sp.charsmap.longestPrefix(s); ok {
			return r, l
		}
	}
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && n <= 1 {
		return "\uFFFD", 1
	}
	return s[:n], n
}

// Normalize returns the normalized text and, per normalized byte plus one
// final entry, the byte offset in text it comes from (norm_to_orig).
func (sp *SentencePiece) Normalize(text string) (string, []int) {
	spec := sp.model.Normalizer
	suffix := sp.model.Trainer.TreatWhitespaceAsSuffix
	if text == "" {
		return "", []int{0}
	}
	consumed := 0
	input := text
	if spec.RemoveExtraWhitespaces {
		for input != "" {
			p, n := sp.normalizePrefix(input)
			if p != " " {
				break
			}
			input = input[n:]
			consumed += n
		}
	}
	if input == "" {
		return "", []int{consumed}
	}
	var out strings.Builder
	n2o := make([]int, 0, len(input)*3)
	addWS := func() {
		if spec.EscapeWhitespaces {
			out.WriteString(spmSpace)
			n2o = append(n2o, consumed, consumed, consumed)
		} else {
			out.WriteByte(' ')
			n2o = append(n2o, consumed)
		}
	}
	if !suffix && spec.AddDummyPrefix {
		addWS()
	}
	prevSpace := spec.RemoveExtraWhitespaces
	for input != "" {
		p, n := sp.normalizePrefix(input)
		for prevSpace && strings.HasPrefix(p, " ") {
			p = p[1:]
		}
		if p != "" {
			for i := 0; i < len(p); i++ {
				if spec.EscapeWhitespaces && p[i] == ' ' {
					out.WriteString(spmSpace)
					n2o = append(n2o, consumed, consumed, consumed)
				} else {
					out.WriteByte(p[i])
					n2o = append(n2o, consumed)
				}
			}
			prevSpace = strings.HasSuffix(p, " ")
		}
		consumed += n
		input = input[n:]
		if !spec.RemoveExtraWhitespaces {
			prevSpace = false
		}
	}
	norm := out.String()
	if spec.RemoveExtraWhitespaces {
		space := " "
		if spec.EscapeWhitespaces {
			space = spmSpace
		}
		for strings.HasSuffix(norm, space) {
			l := len(norm) - len(space)
			consumed = n2o[l]
			norm = norm[:l]
			n2o = n2o[:l]
		}
	}
	if suffix && spec.AddDummyPrefix {
		out.Reset()
		out.WriteString(norm)
		addWS()
		norm = out.String()
	}
	n2o = append(n2o, consumed)
	return norm, n2o
}

// Encode tokenizes text exactly as SentencePieceProcessor.encode does.
func (sp *SentencePiece) Encode(text string) ([]SPMToken, error) {
	norm, n2o := sp.Normalize(text)
	spans, _ := sp.lat.viterbi(norm, nil, nil)
	var out []SPMToken
	prevUnk := false
	for _, s := range spans {
		w := norm[s.start:s.end]
		ob, oe := n2o[s.start], n2o[s.end]
		if ob > oe || oe > len(text) {
			return nil, fmt.Errorf("sentencepiece: bad offsets [%d,%d) for piece %q", ob, oe, w)
		}
		surface := text[ob:oe]
		isUnk := s.id == sp.lat.unkID
		switch {
		case isUnk && sp.model.Trainer.ByteFallback:
			for i := 0; i < len(w); i++ {
				id, ok := sp.index[fmt.Sprintf("<0x%02X>", w[i])]
				if !ok {
					return nil, fmt.Errorf("sentencepiece: byte piece <0x%02X> missing", w[i])
				}
				// Only the first byte carries the surface, as sentencepiece does.
				t := SPMToken{ID: id, Piece: sp.model.Pieces[id].Piece, Begin: ob, End: ob}
				if i == 0 {
					t.Surface, t.End = surface, oe
				}
				out = append(out, t)
			}
		case isUnk && prevUnk:
			last := &out[len(out)-1]
			last.Piece += w
			last.Surface += surface
			last.End = oe
		default:
			out = append(out, SPMToken{ID: s.id, Piece: w, Surface: surface, Begin: ob, End: oe})
		}
		prevUnk = isUnk
	}
	return out, nil
}
