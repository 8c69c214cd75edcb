package data

import (
	"reflect"
	"testing"
)

// The expected words and offsets are what Python's
// re.findall(r"\w+(?:[-_]\w+)*|\S", text) with match.start()/end() gives.
func TestSplitWords(t *testing.T) {
	cases := []struct {
		text string
		want []Word
	}{
		{"Café au lait", []Word{{"Café", 0, 4}, {"au", 5, 7}, {"lait", 8, 12}}},
		{"東京タワー is tall.", []Word{{"東京タワー", 0, 5}, {"is", 6, 8}, {"tall", 9, 13}, {".", 13, 14}}},
		{"I ❤️ Go 🚀!", []Word{{"I", 0, 1}, {"❤", 2, 3}, {"\ufe0f", 3, 4}, {"Go", 5, 7}, {"🚀", 8, 9}, {"!", 9, 10}}},
		{"state-of-the-art e-mail foo_bar x--y -a", []Word{{"state-of-the-art", 0, 16}, {"e-mail", 17, 23}, {"foo_bar", 24, 31},
			{"x", 32, 33}, {"-", 33, 34}, {"-", 34, 35}, {"y", 35, 36}, {"-", 37, 38}, {"a", 38, 39}}},
		// U+0308 COMBINING DIAERESIS is not \w in Python: it splits the word.
		{"nai\u0308ve", []Word{{"nai", 0, 3}, {"\u0308", 3, 4}, {"ve", 4, 6}}},
		{"3.5 km² __init__", []Word{{"3", 0, 1}, {".", 1, 2}, {"5", 2, 3}, {"km²", 4, 7}, {"__init__", 8, 16}}},
		{"  \t\n ", []Word{}},
		{"Ünïcödé\u00a0naïve", []Word{{"Ünïcödé", 0, 7}, {"naïve", 8, 13}}},
		// Python's \s: \v, \x1c-\x1f, U+2003, U+3000 are spaces; U+200B is not.
		{"a\u2003b\vc\x1fd\u3000e\u200bf", []Word{{"a", 0, 1}, {"b", 2, 3}, {"c", 4, 5}, {"d", 6, 7}, {"e", 8, 9}, {"\u200b", 9, 10}, {"f", 10, 11}}},
	}
	for _, c := range cases {
		got := SplitWords(c.text)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("SplitWords(%q)\n got %+v\nwant %+v", c.text, got, c.want)
		}
	}
}

func TestExampleFromText(t *testing.T) {
	ex := ExampleFromText("Zoë's café")
	want := Example{Text: "Zoë's café", Words: []string{"Zoë", "'", "s", "café"}, CharStarts: []int{0, 3, 4, 6}, CharEnds: []int{3, 4, 5, 10}}
	if !reflect.DeepEqual(ex, want) {
		t.Errorf("got %+v want %+v", ex, want)
	}
}

func BenchmarkSplitWords(b *testing.B) {
	text := "Bill Gates founded Microsoft in Albuquerque, New Mexico, on April 4, 1975 — état-of-the-art 東京 🚀. "
	for i := 0; i < 4; i++ {
		text += text
	}
	b.SetBytes(int64(len(text)))
	for i := 0; i < b.N; i++ {
		SplitWords(text)
	}
}
