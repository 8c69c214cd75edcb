package tokenizer

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/gliner-go/gliner/internal/testutil"
)

// FuzzTokenizerJSON: the tokenizer.json loader returns an error or a
// tokenizer, never panics, and the tokenizer it returns encodes without
// panicking.
func FuzzTokenizerJSON(f *testing.F) {
	f.Add([]byte(`{"model":{"type":"WordPiece","unk_token":"[UNK]","vocab":{"[UNK]":0,"a":1,"##b":2}},"pre_tokenizer":{"type":"BertPreTokenizer"}}`))
	f.Add([]byte(`{"added_tokens":[{"id":3,"content":"<x>","special":true}],"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]},"pre_tokenizer":{"type":"ByteLevel"}}`))
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":[["a","b"]]},"pre_tokenizer":{"type":"ByteLevel"},"post_processor":{"type":"RobertaProcessing","sep":["b",1],"cls":["a",0]}}`))
	f.Add([]byte(`{"model":{"type":"Unigram"}}`))
	f.Add([]byte(`{"model":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		tok, err := FromTokenizerJSON(raw)
		if err != nil || tok == nil {
			return
		}
		for _, s := range []string{"ab", "a b<x>", "\xff\xfe", ""} {
			_, _ = tok.Encode(s)
			_, _, _ = tok.EncodeWords([]string{s, "a"})
		}
		tok.AddSpecialTokens("<<ENT>>")
		_ = tok.Tokens([]int{-1, 0, 1 << 30})
		_ = tok.SpecialIDs()
	})
}

func fuzzEncode(f *testing.F, load func(*testing.T) Tokenizer) {
	for _, s := range []string{"Hello world", "<<ENT>> person <<SEP>> x", "\xff\xc3", "a\u0301\u200b🫨", "  \t\n", "don't", "[CLS]<|endoftext|>"} {
		f.Add(s)
	}
	var tok Tokenizer
	f.Fuzz(func(t *testing.T, s string) {
		if tok == nil {
			tok = load(t)
			tok.AddSpecialTokens("[FLERT]", "<<ENT>>", "<<SEP>>")
		}
		ids, err := tok.Encode(s)
		if err != nil {
			t.Fatalf("Encode(%q): %v", s, err)
		}
		n := tok.VocabSize()
		for _, id := range ids {
			if id < 0 || id >= n {
				t.Fatalf("Encode(%q): id %d outside [0,%d)", s, id, n)
			}
		}
		if b, ok := tok.(*BPE); ok && utf8.ValidString(s) {
			// Byte-level BPE is lossless.
			if got := b.Decode(ids); got != s {
				t.Fatalf("Decode(Encode(%q)) = %q", s, got)
			}
		}
		ids, wids, err := tok.EncodeWords([]string{s, "x"})
		if err != nil || len(ids) != len(wids) {
			t.Fatalf("EncodeWords(%q): %v, %d ids, %d word ids", s, err, len(ids), len(wids))
		}
	})
}

// FuzzEncodeWordPiece: Encode never panics on arbitrary (also invalid
// UTF-8) strings and only yields ids of the vocabulary.
func FuzzEncodeWordPiece(f *testing.F) { fuzzEncode(f, loadBertJSON) }

// FuzzEncodeBPE: as FuzzEncodeWordPiece, and byte-level BPE round-trips
// valid UTF-8 through Decode.
func FuzzEncodeBPE(f *testing.F) { fuzzEncode(f, loadGPT2) }

var benchText = "GLiNER extracts named entities, such as Barack Obama (born 1961 in Honolulu), " +
	"from unstructured text: it's fast, multilingual (Zürich, 北京, Москва) and open-source! "

func benchEncode(b *testing.B, tok Tokenizer) {
	b.SetBytes(int64(len(benchText)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tok.Encode(benchText); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeWordPiece(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join(testutil.FixturesDir(b), "tokenizers", "wordpiece_bert_uncased", "tokenizer.json"))
	if err != nil {
		b.Fatal(err)
	}
	tok, err := FromTokenizerJSON(raw)
	if err != nil {
		b.Fatal(err)
	}
	benchEncode(b, tok)
}

func BenchmarkEncodeBPE(b *testing.B) {
	tok, err := Load(filepath.Join(testutil.FixturesDir(b), "tokenizers", "bpe_gpt2"))
	if err != nil {
		b.Fatal(err)
	}
	benchEncode(b, tok)
}

// BenchmarkEncodeBPENoCache measures the merge loop itself (cache cleared
// before each call).
func BenchmarkEncodeBPENoCache(b *testing.B) {
	tok, err := Load(filepath.Join(testutil.FixturesDir(b), "tokenizers", "bpe_gpt2"))
	if err != nil {
		b.Fatal(err)
	}
	m := tok.(*BPE).Model
	b.SetBytes(int64(len(benchText)))
	for b.Loop() {
		m.mu.Lock()
		m.cache = map[string][]int{}
		m.mu.Unlock()
		if _, err := tok.Encode(benchText); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeWordsWordPiece(b *testing.B) {
	tok, err := Load(filepath.Join(testutil.Fixture(b, "uni_span_bert"), "tokenizer"))
	if err != nil {
		b.Fatal(err)
	}
	words := []string{"<<ENT>>", "person", "<<ENT>>", "organization", "<<SEP>>"}
	for i := 0; i < 20; i++ {
		words = append(words, "Alice", "Brown", "joined", "Microsoft", "in", "London", "yesterday", ".")
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := tok.EncodeWords(words); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConcurrentEncode: Encode may be called from several goroutines
// (run with -race); every call gives the same ids.
func TestConcurrentEncode(t *testing.T) {
	for _, tok := range []Tokenizer{loadGPT2(t), loadBertJSON(t)} {
		tok.AddSpecialTokens("<<ENT>>")
		want, err := tok.Encode(benchText + " <<ENT>>")
		if err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 4)
		for g := 0; g < 4; g++ {
			go func() {
				for i := 0; i < 50; i++ {
					got, err := tok.Encode(benchText + " <<ENT>>")
					if err == nil && !slices.Equal(got, want) {
						err = fmt.Errorf("concurrent Encode gave %v, want %v", got, want)
					}
					if err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for g := 0; g < 4; g++ {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	}
}
