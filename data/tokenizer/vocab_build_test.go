package tokenizer

import (
	"reflect"
	"testing"
)

func TestBuildWordPieceVocabOrder(t *testing.T) {
	words := [][]string{
		{"Bill", "Gates", "founded", "Microsoft", "."},
		{"Gates", "met", "bill", "in", "Hewlett-Packard", "."},
	}
	got, err := BuildWordPieceVocab(words, VocabOptions{Lowercase: true})
	if err != nil {
		t.Fatal(err)
	}
	chars := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "k", "l", "m", "n", "o", "p", "r", "s", "t", "u", "w"}
	want := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
		// frequency 2, then 1, ties in byte order
		".", "bill", "gates",
		"-", "founded", "hewlett", "in", "met", "microsoft", "packard"}
	// single characters ("-" and "." are already there), then ##characters
	want = append(want, chars...)
	for _, c := range append([]string{"-", "."}, chars...) {
		want = append(want, "##"+c)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("vocab\n got %q\nwant %q", got, want)
	}
	again, _ := BuildWordPieceVocab([][]string{words[1], words[0]}, VocabOptions{Lowercase: true})
	if !reflect.DeepEqual(again, got) {
		t.Fatalf("vocabulary depends on example order")
	}

	capped, err := BuildWordPieceVocab(words, VocabOptions{Lowercase: true, MaxWords: 2, MinFrequency: 2})
	if err != nil {
		t.Fatal(err)
	}
	if capped[5] != "." || capped[6] != "bill" || capped[7] != "-" {
		t.Fatalf("capped vocabulary starts %q", capped[:8])
	}
	if _, err := BuildWordPieceVocab(words, VocabOptions{Specials: []string{"[UNK]", "[UNK]"}}); err == nil {
		t.Fatal("duplicate special accepted")
	}
	if _, err := BuildWordPieceVocab([][]string{{"a\xff"}}, VocabOptions{}); err == nil {
		t.Fatal("invalid UTF-8 accepted")
	}
}

func TestNewBertWordPieceEncodesEveryWord(t *testing.T) {
	words := [][]string{{"Bill", "Gates", "founded", "Microsoft", "."}, {"Gates", "met", "Hewlett-Packard"}}
	vocab, err := BuildWordPieceVocab(words, VocabOptions{Lowercase: true, MaxWords: 3})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := NewBertWordPiece(vocab, true)
	if err != nil {
		t.Fatal(err)
	}
	id := func(s string) int {
		i, ok := tok.TokenToID(s)
		if !ok {
			t.Fatalf("no token %q", s)
		}
		return i
	}
	ids, wids, err := tok.EncodeWords([]string{"Gates", "founded", "Bill"})
	if err != nil {
		t.Fatal(err)
	}
	// "gates" is a kept whole word; "founded" and "bill" (cut by MaxWords
	// or not) fall back to characters, never to [UNK].
	wantIDs := []int{id("[CLS]"), id("gates"), id("f"), id("##o"), id("##u"), id("##n"), id("##d"), id("##e"), id("##d")}
	wantIDs = append(wantIDs, tok.mustWord(t, "bill")...)
	wantIDs = append(wantIDs, id("[SEP]"))
	if !reflect.DeepEqual(ids, wantIDs) {
		t.Fatalf("ids %v, want %v (%q)", ids, wantIDs, tok.Tokens(ids))
	}
	if wids[0] != -1 || wids[1] != 0 || wids[2] != 1 || wids[len(wids)-1] != -1 {
		t.Fatalf("word ids %v", wids)
	}
	if s := tok.SpecialIDs(); s != (Special{Pad: 0, UNK: 1, CLS: 2, SEP: 3}) {
		t.Fatalf("special ids %+v", s)
	}
	n := tok.VocabSize()
	added := tok.AddSpecialTokens("[FLERT]", "<<ENT>>", "<<SEP>>")
	if !reflect.DeepEqual(added, []int{n, n + 1, n + 2}) || tok.VocabSize() != n+3 {
		t.Fatalf("added ids %v for vocabulary of %d", added, n)
	}

	dir := t.TempDir()
	if err := tok.Save(dir); err != nil {
		t.Fatal(err)
	}
	back, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	words2 := []string{"Microsoft", "<<ENT>>", "met", "Gates", "xyz"}
	a, _, err1 := tok.EncodeWords(words2)
	b, _, err2 := back.EncodeWords(words2)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(a, b) || back.VocabSize() != tok.VocabSize() {
		t.Fatalf("saved tokenizer differs: %v vs %v (%v, %v)", a, b, err1, err2)
	}
	if got := tok.Tokens(a[len(a)-2 : len(a)-1]); got[0] != "[UNK]" {
		t.Fatalf("unseen characters encode as %q, want [UNK]", got)
	}
}

// mustWord encodes one word without framing.
func (t *WordPiece) mustWord(tb testing.TB, w string) []int {
	ids, err := t.Encode(w)
	if err != nil {
		tb.Fatal(err)
	}
	return ids
}
