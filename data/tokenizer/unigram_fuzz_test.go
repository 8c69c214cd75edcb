package tokenizer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzSPMModel: the spm.model parser never panics on corrupted bytes, and a
// model it accepts builds encoders that never panic either.
func FuzzSPMModel(f *testing.F) {
	raw, err := os.ReadFile(filepath.Join(ugFixtureDir(f), "spm.model"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add(raw[:len(raw)/2])
	f.Add(raw[:100])
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x05, 0x0a, 0x01, 'a', 0x18, 0x02})
	flip := append([]byte(nil), raw...)
	for i := 7; i < len(flip); i += 997 {
		flip[i] ^= 0x5a
	}
	f.Add(flip)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseSPMModel("fuzz.model", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "spm model fuzz.model: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if sp, err := NewSentencePiece(m); err == nil {
			if _, err := sp.Encode(" Hello, wörld\u200b ﬁ 👍🏽 \x00"); err != nil {
				t.Fatalf("sentencepiece encode: %v", err)
			}
		}
		if u, err := NewUnigramFromSPMModel(m); err == nil {
			if _, err := u.Encode("Hello, wörld [CLS] ﬁ o\u0302\u0323"); err != nil {
				t.Fatalf("unigram encode: %v", err)
			}
		}
	})
}

// FuzzUnigramEncode: Encode, EncodeWords and the raw sentencepiece encoder
// never panic on arbitrary strings; sentencepiece offsets stay inside the
// input and cover it in order.
func FuzzUnigramEncode(f *testing.F) {
	u := ugLoad(f)
	u.AddSpecialTokens("[FLERT]", "<<ENT>>", "<<SEP>>")
	sp, err := NewSentencePiece(ugLoadSPM(f))
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range ugReadCases(f) {
		f.Add(c.Text)
	}
	f.Add("\xff\xfe<<ENT>>\u200d\r\n  ")
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := u.Encode(s)
		if err != nil {
			t.Fatalf("Encode(%q): %v", s, err)
		}
		for _, id := range ids {
			if id < 0 || id >= u.VocabSize() {
				t.Fatalf("Encode(%q): id %d out of range", s, id)
			}
		}
		wids, wordIDs, err := u.EncodeWords(strings.Fields(s))
		if err != nil || len(wids) != len(wordIDs) || len(wids) < 2 {
			t.Fatalf("EncodeWords(%q): %v %v %v", s, wids, wordIDs, err)
		}
		toks, err := sp.Encode(s)
		if err != nil {
			t.Fatalf("sentencepiece Encode(%q): %v", s, err)
		}
		prev := 0
		for _, tk := range toks {
			if tk.Begin < prev || tk.End < tk.Begin || tk.End > len(s) {
				t.Fatalf("sentencepiece Encode(%q): offsets [%d,%d) after %d", s, tk.Begin, tk.End, prev)
			}
			prev = tk.Begin
		}
	})
}

func BenchmarkUnigramEncode(b *testing.B) {
	u := ugLoad(b)
	var sb strings.Builder
	for _, c := range ugReadCases(b) {
		if c.Kind == "encode" {
			sb.WriteString(c.Text)
			sb.WriteByte(' ')
		}
	}
	text := sb.String()
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := u.Encode(text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnigramEncodeWords(b *testing.B) {
	u := ugLoad(b)
	u.AddSpecialTokens("[FLERT]", "<<ENT>>", "<<SEP>>")
	words := strings.Fields("<<ENT>> person <<ENT>> organization <<SEP>> GLiNER extracts named entities from unstructured text . Barack Obama was born in Honolulu , Hawaii , and later moved to Chicago .")
	n := 0
	for _, w := range words {
		n += len(w)
	}
	b.SetBytes(int64(n))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := u.EncodeWords(words); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSentencePieceEncode(b *testing.B) {
	sp, err := NewSentencePiece(ugLoadSPM(b))
	if err != nil {
		b.Fatal(err)
	}
	text := strings.Repeat("The quick brown fox jumps over the lazy dog. Zürich ﬁnancial 北京. ", 20)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := sp.Encode(text); err != nil {
			b.Fatal(err)
		}
	}
}
