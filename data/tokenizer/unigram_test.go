package tokenizer

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func ugLoad(t testing.TB) *Unigram {
	u, err := NewUnigramFromSPM(filepath.Join(ugFixtureDir(t), "spm.model"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// ugFastOverrides holds the cases where the fast tokenizer (what GLiNER
// users run, and what Unigram reproduces) differs from the slow
// DebertaV2Tokenizer that produced the fixture ids. Each entry gives the
// fast pipeline's result and why.
var ugFastOverrides = map[string]struct {
	ids, wordIDs []int
	why          string
}{
	// README, Unigram: the fast tokenizer uses Precompiled(spm charsmap)
	// instead of spm's own normalizer. The text ends in "o\u0302\u0323", one
	// grapheme cluster of 5 bytes: the Precompiled normalizer replaces a
	// cluster shorter than 6 bytes by the rule of its *shortest* matching
	// prefix ("o\u0302" → "ô"), so the dot below is dropped; sentencepiece
	// applies rules by longest match and keeps U+0323 as an [UNK] (3).
	"t17": {ids: []int{4, 1979, 60, 4, 1998, 60, 4, 1983}, why: "Precompiled grapheme rule drops U+0323"},
	// README, Unigram: whitespace-only / control-character inputs. The word
	// "\u200b" is not White_Space, so Strip() keeps it; the charsmap maps it to
	// " ", and Metaspace turns that into "▁" (4) — the slow tokenizer's spm
	// normalizer removes it as a heading space and yields nothing. Word 7
	// therefore gets one token in the fast tokenizer.
	"w08": {
		ids:     []int{1, 2002, 500, 5, 51, 2003, 295, 82, 16, 637, 965, 4, 4, 98, 86, 2},
		wordIDs: []int{-1, 0, 1, 1, 1, 2, 3, 3, 3, 5, 6, 7, 8, 8, 8, -1},
		why:     "zero-width space word becomes ▁",
	},
}

// ugCheckCases runs every fixture case through tokenizers made by mk (one
// plain, one with the GLiNER tokens added).
func ugCheckCases(t *testing.T, mk func(t *testing.T) *Unigram) {
	cases := ugReadCases(t)
	plain := mk(t)
	withAdded := mk(t)
	if got := withAdded.AddSpecialTokens("[FLERT]", "<<ENT>>", "<<SEP>>"); !reflect.DeepEqual(got, []int{2001, 2002, 2003}) {
		t.Fatalf("AddSpecialTokens = %v, want [2001 2002 2003]", got)
	}
	nEnc, nWords := 0, 0
	for _, c := range cases {
		u := plain
		if c.WithAddedTokens || c.Kind == "words" {
			u = withAdded
		}
		wantIDs := c.IDs
		if wantIDs == nil {
			wantIDs = []int{}
		}
		var wantWordIDs []int
		for _, w := range c.WordIDs {
			if w == nil {
				wantWordIDs = append(wantWordIDs, -1)
			} else {
				wantWordIDs = append(wantWordIDs, *w)
			}
		}
		wantTokens := c.Tokens
		if o, ok := ugFastOverrides[c.ID]; ok {
			wantIDs, wantWordIDs, wantTokens = o.ids, o.wordIDs, nil
		}
		var got, gotWordIDs []int
		var err error
		switch c.Kind {
		case "encode":
			nEnc++
			got, err = u.Encode(c.Text)
		case "words":
			nWords++
			got, gotWordIDs, err = u.EncodeWords(c.Words)
		default:
			t.Fatalf("%s: unknown kind %q", c.ID, c.Kind)
		}
		if err != nil {
			t.Errorf("%s: %v", c.ID, err)
			continue
		}
		if got == nil {
			got = []int{}
		}
		if !reflect.DeepEqual(got, wantIDs) {
			t.Errorf("%s %q%q: ids\n got %v %q\nwant %v", c.ID, c.Text, c.Words, got, u.Tokens(got), wantIDs)
			continue
		}
		if c.Kind == "words" && !reflect.DeepEqual(gotWordIDs, wantWordIDs) {
			t.Errorf("%s: word ids\n got %v\nwant %v", c.ID, gotWordIDs, wantWordIDs)
		}
		if wantTokens != nil {
			toks := u.Tokens(got)
			for i := range toks {
				want := wantTokens[i]
				if got[i] == 3 {
					want = "[UNK]" // the slow tokenizer lists an unknown piece's text
				}
				if toks[i] != want {
					t.Errorf("%s: token %d = %q, want %q", c.ID, i, toks[i], want)
				}
			}
		}
	}
	if nEnc < 50 || nWords < 8 {
		t.Fatalf("only %d encode and %d words cases", nEnc, nWords)
	}
}

func TestUnigramConformance(t *testing.T) {
	ugCheckCases(t, func(t *testing.T) *Unigram { return ugLoad(t) })
}

// The same cases through tokenizer.json written by Save and read back.
func TestUnigramJSONConformance(t *testing.T) {
	dir := t.TempDir()
	if err := ugLoad(t).Save(dir); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	ugCheckCases(t, func(t *testing.T) *Unigram {
		u, err := NewUnigramFromJSON(raw)
		if err != nil {
			t.Fatal(err)
		}
		return u
	})
}

func TestUnigramSpecials(t *testing.T) {
	u := ugLoad(t)
	if got, want := u.SpecialIDs(), (Special{Pad: 0, CLS: 1, SEP: 2, UNK: 3}); got != want {
		t.Fatalf("SpecialIDs = %+v, want %+v", got, want)
	}
	if n := u.VocabSize(); n != 2001 {
		t.Fatalf("VocabSize = %d, want 2001 (2000 pieces + [MASK])", n)
	}
	if id, ok := u.TokenToID("[MASK]"); !ok || id != 2000 {
		t.Fatalf("[MASK] = %d %v, want 2000", id, ok)
	}
	u.AddSpecialTokens("[FLERT]", "<<ENT>>", "<<SEP>>")
	if n := u.VocabSize(); n != 2004 {
		t.Fatalf("VocabSize = %d, want 2004", n)
	}
	// Adding again keeps the ids.
	if got := u.AddSpecialTokens("<<SEP>>", "[MASK]", "▁the"); !reflect.DeepEqual(got, []int{2003, 2000, 23}) {
		t.Fatalf("re-adding = %v, want [2003 2000 23]", got)
	}
	if got := u.Tokens([]int{1, 23, 2000, 2002}); !reflect.DeepEqual(got, []string{"[CLS]", "▁the", "[MASK]", "<<ENT>>"}) {
		t.Fatalf("Tokens = %q", got)
	}
	if got := u.Decode([]int{1, 285, 206, 254, 295, 82, 62, 16, 2}); got != "Hello world" {
		t.Fatalf("Decode = %q", got)
	}
}

// Edge cases of the fast pipeline (Strip → Precompiled → Replace multi-space
// → Metaspace always), each stated against an input the fixtures pin down.
func TestUnigramFastEdgeCases(t *testing.T) {
	u := ugLoad(t)
	u.AddSpecialTokens("[FLERT]", "<<ENT>>", "<<SEP>>")
	enc := func(s string) []int {
		ids, err := u.Encode(s)
		if err != nil {
			t.Fatalf("Encode(%q): %v", s, err)
		}
		if ids == nil {
			ids = []int{}
		}
		return ids
	}
	hello := enc("hello") // t49: ▁ he ll o
	if !reflect.DeepEqual(hello, []int{4, 383, 233, 17}) {
		t.Fatalf("hello = %v", hello)
	}
	cat := func(parts ...[]int) []int {
		out := []int{}
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	for _, tc := range []struct {
		in   string
		want []int
	}{
		{"", []int{}},
		{" \t\n\u00a0\u3000 ", []int{}},           // all White_Space: Strip empties it
		{"  hello   ", hello},                     // Strip
		{"\u2028hello\u0085", hello},              // LS and NEL are White_Space too
		{"\u200b", []int{4}},                      // ZWSP survives Strip, maps to " " → "▁"
		{"hello\u200b", cat(hello, []int{4})},     // … also at the end (spm would drop it)
		{"\u200bhello", hello},                    // a leading " " is the Metaspace prefix
		{"hello \u200b hello", cat(hello, hello)}, // "hello   hello": Replace collapses the run
		{"hello\x7f", hello},                      // DEL maps to nothing
		{"[CLS]hello[SEP]", cat([]int{1}, hello, []int{2})},
		{"<<ENT>>  hello  <<SEP>>", cat([]int{2002}, hello, []int{2003})},
		{"hello<<ENT>>hello", cat(hello, []int{2002}, hello)}, // each chunk gets its own ▁
		{"[cls]", []int{72, 51, 62, 5, 47}},                   // t51: case-sensitive
		{"\xffhello", hello},                                  // invalid UTF-8 → U+FFFD, which the charsmap deletes (t48)
	} {
		if got := enc(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Encode(%q) = %v %q, want %v", tc.in, got, u.Tokens(got), tc.want)
		}
	}
	ids, wids, err := u.EncodeWords([]string{" hello ", "", "<<ENT>>", "\t"})
	if err != nil {
		t.Fatal(err)
	}
	if want := cat([]int{1}, hello, []int{2002, 2}); !reflect.DeepEqual(ids, want) {
		t.Fatalf("EncodeWords ids = %v, want %v", ids, want)
	}
	if want := []int{-1, 0, 0, 0, 0, 2, -1}; !reflect.DeepEqual(wids, want) {
		t.Fatalf("EncodeWords word ids = %v, want %v", wids, want)
	}
}

// Save then Load (the package's folder loader) reproduces the tokenizer,
// through tokenizer.json and, without it, through spm.model +
// added_tokens.json.
func TestUnigramSaveLoad(t *testing.T) {
	u := ugLoad(t)
	u.AddSpecialTokens("[FLERT]", "<<ENT>>", "<<SEP>>")
	dir := t.TempDir()
	if err := u.Save(dir); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "spm.model"))
	if err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(filepath.Join(ugFixtureDir(t), "spm.model"))
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != string(orig) {
		t.Fatal("saved spm.model differs from the source file")
	}
	text := "<<ENT>> person <<SEP>> Renée Zellweger, 北京 and [MASK]"
	want, _ := u.Encode(text)
	check := func(name string) {
		tok, err := Load(dir)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if tok.VocabSize() != 2004 {
			t.Fatalf("%s: VocabSize %d", name, tok.VocabSize())
		}
		got, err := tok.Encode(text)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: Encode = %v %v, want %v", name, got, err, want)
		}
		if id, ok := tok.TokenToID("<<ENT>>"); !ok || id != 2002 {
			t.Fatalf("%s: <<ENT>> = %d", name, id)
		}
		if tok.SpecialIDs() != u.SpecialIDs() {
			t.Fatalf("%s: specials %+v", name, tok.SpecialIDs())
		}
	}
	check("tokenizer.json")
	if err := os.Remove(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	check("spm.model")

	// A tokenizer read from tokenizer.json saves a synthesized spm.model
	// that reads back to the same pieces.
	dir2 := t.TempDir()
	if err := u.Save(dir2); err != nil {
		t.Fatal(err)
	}
	rawJSON, err := os.ReadFile(filepath.Join(dir2, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := NewUnigramFromJSON(rawJSON)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseSPMModel("synthesized", fromJSON.spmModel().Marshal())
	if err != nil {
		t.Fatal(err)
	}
	src := ugLoadSPM(t)
	for i := range src.Pieces {
		if m.Pieces[i] != src.Pieces[i] {
			t.Fatalf("synthesized piece %d = %+v, want %+v", i, m.Pieces[i], src.Pieces[i])
		}
	}
	u2, err := NewUnigramFromSPMModel(m)
	if err != nil {
		t.Fatal(err)
	}
	u2.AddSpecialTokens("[FLERT]", "<<ENT>>", "<<SEP>>")
	if got, _ := u2.Encode(text); !reflect.DeepEqual(got, want) {
		t.Fatalf("synthesized model: Encode = %v, want %v", got, want)
	}
}

func TestUnigramJSONErrors(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{`, "tokenizer.json"},
		{`{"model":{"type":"BPE"}}`, `model.type "BPE"`},
		{`{"model":{"type":"Unigram","vocab":[["a",-1]]}}`, "unk_id missing"},
		{`{"model":{"type":"Unigram","unk_id":5,"vocab":[["a",-1]]},"pre_tokenizer":{"type":"Metaspace","replacement":"▁"}}`, "unk_id 5 outside"},
		{`{"model":{"type":"Unigram","unk_id":0,"vocab":[["a"]]}}`, "model.vocab[0]: 1 elements"},
		{`{"model":{"type":"Unigram","unk_id":0,"vocab":[["a",-1]]},"normalizer":{"type":"Precompiled","precompiled_charsmap":"!!"}}`, "base64"},
		{`{"model":{"type":"Unigram","unk_id":0,"vocab":[["a",-1]]},"normalizer":{"type":"Precompiled","precompiled_charsmap":"AAAA"}}`, "too short"},
		{`{"model":{"type":"Unigram","unk_id":0,"vocab":[["a",-1]]},"normalizer":{"type":"NFKC"}}`, `normalizer: type "NFKC" not supported`},
		{`{"model":{"type":"Unigram","unk_id":0,"vocab":[["a",-1]]},"pre_tokenizer":{"type":"Whitespace"}}`, `type "Whitespace" not supported`},
		{`{"model":{"type":"Unigram","unk_id":0,"vocab":[["a",-1]]},"pre_tokenizer":{"type":"Metaspace","replacement":"▁","prepend_scheme":"sometimes"}}`, "prepend_scheme"},
		{`{"model":{"type":"Unigram","unk_id":0,"vocab":[["a",-1]]},"pre_tokenizer":{"type":"Metaspace","replacement":"▁"},"added_tokens":[{"id":0,"content":"b"}]}`, `added_tokens[0] "b": id 0 belongs to piece "a"`},
	} {
		_, err := NewUnigramFromJSON([]byte(tc.json))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to mention %q", tc.json, err, tc.want)
		}
	}
}
