package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// Extended grapheme cluster segmentation (UAX #29, rules GB3–GB13; the
// Unicode 15.1 conjunct rule GB9c is not applied), as the Rust
// unicode-segmentation crate used by the Hugging Face Precompiled normalizer
// computes it. Property tables come from Go's unicode package (Unicode 15)
// except Extended_Pictographic, which is the range list below.

type gcbClass uint8

const (
	gcbOther gcbClass = iota
	gcbCR
	gcbLF
	gcbControl
	gcbExtend
	gcbZWJ
	gcbRI
	gcbPrepend
	gcbSpacingMark
	gcbL
	gcbV
	gcbT
	gcbLV
	gcbLVT
	gcbExtPict
)

// gcbSpacingMarkExceptions are Mc characters whose Grapheme_Cluster_Break is
// not SpacingMark (GraphemeBreakProperty.txt).
var gcbSpacingMarkExceptions = &unicode.RangeTable{R16: []unicode.Range16{
	{0x102B, 0x102C, 1}, {0x1038, 0x1038, 1}, {0x1062, 0x1064, 1}, {0x1067, 0x106D, 1},
	{0x1083, 0x1083, 1}, {0x1087, 0x108C, 1}, {0x108F, 0x108F, 1}, {0x109A, 0x109C, 1},
	{0x1A61, 0x1A61, 1}, {0x1A63, 0x1A64, 1}, {0xAA7B, 0xAA7B, 1}, {0xAA7D, 0xAA7D, 1},
}, R32: []unicode.Range32{{0x11720, 0x11721, 1}}}

var gcbPrependExtra = &unicode.RangeTable{R16: []unicode.Range16{{0x0D4E, 0x0D4E, 1}},
	R32: []unicode.Range32{{0x111C2, 0x111C3, 1}, {0x1193F, 0x1193F, 2}, {0x11A3A, 0x11A3A, 1},
		{0x11A84, 0x11A89, 1}, {0x11D46, 0x11D46, 1}, {0x11F02, 0x11F02, 1}}}

// gcbExtPict is Extended_Pictographic (emoji-data.txt).
var gcbExtPictTable = &unicode.RangeTable{R16: []unicode.Range16{
	{0x00A9, 0x00A9, 1}, {0x00AE, 0x00AE, 1}, {0x203C, 0x203C, 1}, {0x2049, 0x2049, 1},
	{0x2122, 0x2122, 1}, {0x2139, 0x2139, 1}, {0x2194, 0x2199, 1}, {0x21A9, 0x21AA, 1},
	{0x231A, 0x231B, 1}, {0x2328, 0x2328, 1}, {0x2388, 0x2388, 1}, {0x23CF, 0x23CF, 1},
	{0x23E9, 0x23F3, 1}, {0x23F8, 0x23FA, 1}, {0x24C2, 0x24C2, 1}, {0x25AA, 0x25AB, 1},
	{0x25B6, 0x25B6, 1}, {0x25C0, 0x25C0, 1}, {0x25FB, 0x25FE, 1}, {0x2600, 0x2605, 1},
	{0x2607, 0x2612, 1}, {0x2614, 0x2685, 1}, {0x2690, 0x2705, 1}, {0x2708, 0x2712, 1},
	{0x2714, 0x2714, 1}, {0x2716, 0x2716, 1}, {0x271D, 0x271D, 1}, {0x2721, 0x2721, 1},
	{0x2728, 0x2728, 1}, {0x2733, 0x2734, 1}, {0x2744, 0x2744, 1}, {0x2747, 0x2747, 1},
	{0x274C, 0x274C, 1}, {0x274E, 0x274E, 1}, {0x2753, 0x2755, 1}, {0x2757, 0x2757, 1},
	{0x2763, 0x2767, 1}, {0x2795, 0x2797, 1}, {0x27A1, 0x27A1, 1}, {0x27B0, 0x27B0, 1},
	{0x27BF, 0x27BF, 1}, {0x2934, 0x2935, 1}, {0x2B05, 0x2B07, 1}, {0x2B1B, 0x2B1C, 1},
	{0x2B50, 0x2B50, 1}, {0x2B55, 0x2B55, 1}, {0x3030, 0x3030, 1}, {0x303D, 0x303D, 1},
	{0x3297, 0x3297, 1}, {0x3299, 0x3299, 1},
}, R32: []unicode.Range32{
	{0x1F000, 0x1F0FF, 1}, {0x1F10D, 0x1F10F, 1}, {0x1F12F, 0x1F12F, 1}, {0x1F16C, 0x1F171, 1},
	{0x1F17E, 0x1F17F, 1}, {0x1F18E, 0x1F18E, 1}, {0x1F191, 0x1F19A, 1}, {0x1F1AD, 0x1F1E5, 1},
	{0x1F201, 0x1F20F, 1}, {0x1F21A, 0x1F21A, 1}, {0x1F22F, 0x1F22F, 1}, {0x1F232, 0x1F23A, 1},
	{0x1F23C, 0x1F23F, 1}, {0x1F249, 0x1F3FA, 1}, {0x1F400, 0x1F53D, 1}, {0x1F546, 0x1F64F, 1},
	{0x1F680, 0x1F6FF, 1}, {0x1F774, 0x1F77F, 1}, {0x1F7D5, 0x1F7FF, 1}, {0x1F80C, 0x1F80F, 1},
	{0x1F848, 0x1F84F, 1}, {0x1F85A, 0x1F85F, 1}, {0x1F888, 0x1F88F, 1}, {0x1F8AE, 0x1F8FF, 1},
	{0x1F90C, 0x1F93A, 1}, {0x1F93C, 0x1F945, 1}, {0x1F947, 0x1FAFF, 1}, {0x1FC00, 0x1FFFD, 1},
}}

func gcbOf(r rune) gcbClass {
	switch {
	case r == '\r':
		return gcbCR
	case r == '\n':
		return gcbLF
	case r == 0x200D:
		return gcbZWJ
	case r < 0x7F && r >= 0x20:
		return gcbOther
	case r >= 0x1F1E6 && r <= 0x1F1FF:
		return gcbRI
	case r >= 0x1100 && r <= 0x115F, r >= 0xA960 && r <= 0xA97C:
		return gcbL
	case r >= 0x1160 && r <= 0x11A7, r >= 0xD7B0 && r <= 0xD7C6:
		return gcbV
	case r >= 0x11A8 && r <= 0x11FF, r >= 0xD7CB && r <= 0xD7FB:
		return gcbT
	case r >= 0xAC00 && r <= 0xD7A3:
		if (r-0xAC00)%28 == 0 {
			return gcbLV
		}
		return gcbLVT
	case r >= 0x1F3FB && r <= 0x1F3FF:
		return gcbExtend // Emoji_Modifier
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Other_Grapheme_Extend):
		return gcbExtend
	case unicode.Is(unicode.Prepended_Concatenation_Mark, r), unicode.Is(gcbPrependExtra, r):
		return gcbPrepend
	case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp):
		return gcbControl
	case r == 0x0E33 || r == 0x0EB3:
		return gcbSpacingMark
	case unicode.Is(unicode.Mc, r) && !unicode.Is(gcbSpacingMarkExceptions, r):
		return gcbSpacingMark
	case unicode.Is(gcbExtPictTable, r):
		return gcbExtPict
	}
	return gcbOther
}

// graphemeLen returns the byte length of the first extended grapheme
// cluster of s (0 for an empty s). Invalid UTF-8 bytes count as single
// characters of class Other.
func graphemeLen(s string) int {
	if s == "" {
		return 0
	}
	r, n := utf8.DecodeRuneInString(s)
	prev := gcbOf(r)
	if r == utf8.RuneError && n == 1 {
		prev = gcbOther
	}
	ri := 0
	if prev == gcbRI {
		ri = 1
	}
	emoji := prev == gcbExtPict // the cluster so far ends in ExtPict Extend*
	emojiZWJ := false           // … ExtPict Extend* ZWJ
	i := n
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		cur := gcbOf(r)
		if r == utf8.RuneError && n == 1 {
			cur = gcbOther
		}
		join := false
		switch {
		case prev == gcbCR && cur == gcbLF:
			join = true
		case prev == gcbCR || prev == gcbLF || prev == gcbControl:
		case cur == gcbCR || cur == gcbLF || cur == gcbControl:
		case prev == gcbL && (cur == gcbL || cur == gcbV || cur == gcbLV || cur == gcbLVT):
			join = true
		case (prev == gcbLV || prev == gcbV) && (cur == gcbV || cur == gcbT):
			join = true
		case (prev == gcbLVT || prev == gcbT) && cur == gcbT:
			join = true
		case cur == gcbExtend || cur == gcbZWJ || cur == gcbSpacingMark:
			join = true
		case prev == gcbPrepend:
			join = true
		case prev == gcbZWJ && cur == gcbExtPict && emojiZWJ:
			join = true
		case prev == gcbRI && cur == gcbRI && ri%2 == 1:
			join = true
		}
		if !join {
			break
		}
		switch {
		case cur == gcbExtPict:
			emoji, emojiZWJ = true, false
		case cur == gcbExtend && emoji:
			emojiZWJ = false
		case cur == gcbZWJ && emoji:
			emoji, emojiZWJ = false, true
		default:
			emoji, emojiZWJ = false, false
		}
		if cur == gcbRI {
			ri++
		} else {
			ri = 0
		}
		prev = cur
		i += n
	}
	return i
}
