package data

import (
	"regexp"
	"unicode/utf8"
)

// wordRE is the reference's default "whitespace" splitter, \w+(?:[-_]\w+)*|\S,
// with Python's Unicode classes spelled out: Go's \w and \s are ASCII-only,
// while Python's \S excludes every str.isspace() rune (\t-\r, \x1c-\x1f,
// U+0085 and the Unicode separators \p{Z}), so a no-break space separates
// words in both.
var wordRE = regexp.MustCompile(`[\p{L}\p{N}_]+(?:[-_][\p{L}\p{N}_]+)*|[^\t\n\v\f\r\x{1c}-\x{1f}\x{85}\p{Z}]`)

// Word is one word of a text with its code-point offsets: it covers runes
// [Start, End) of the text (End exclusive), as the reference's start_map and
// end_map do in Python string indices.
type Word struct {
	Text       string
	Start, End int
}

// SplitWords splits text into words exactly as the reference's default
// splitter does (gliner/data_processing/tokenizer.py
// WhitespaceTokenSplitter): runs of letters, numbers and '_' joined by single
// '-' or '_', and every other non-space rune on its own. Offsets are in
// Unicode code points, not bytes. Whitespace-only text gives no words.
func SplitWords(text string) []Word {
	locs := wordRE.FindAllStringIndex(text, -1)
	words := make([]Word, 0, len(locs))
	rune0, byte0 := 0, 0 // running conversion from byte to rune offsets
	for _, l := range locs {
		rune0 += utf8.RuneCountInString(text[byte0:l[0]])
		start := rune0
		rune0 += utf8.RuneCountInString(text[l[0]:l[1]])
		byte0 = l[1]
		words = append(words, Word{Text: text[l[0]:l[1]], Start: start, End: rune0})
	}
	return words
}

// ExampleFromText splits text into an Example with Words, Text and the
// word↔character maps CharStarts/CharEnds set, and no entities.
func ExampleFromText(text string) Example {
	words := SplitWords(text)
	ex := Example{Text: text, Words: make([]string, len(words)), CharStarts: make([]int, len(words)), CharEnds: make([]int, len(words))}
	for i, w := range words {
		ex.Words[i], ex.CharStarts[i], ex.CharEnds[i] = w.Text, w.Start, w.End
	}
	return ex
}
