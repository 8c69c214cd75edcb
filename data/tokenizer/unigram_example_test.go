package tokenizer_test

import (
	"fmt"
	"path/filepath"

	"github.com/gliner-go/gliner/data/tokenizer"
)

// Build the DeBERTa-v3 tokenizer from an spm.model, add GLiNER's tokens and
// encode a prompt plus text as the collator does.
func ExampleNewUnigramFromSPM() {
	u, err := tokenizer.NewUnigramFromSPM(filepath.Join(fixtures(), "tokenizers", "unigram_deberta_v3", "spm.model"))
	if err != nil {
		fmt.Println(err)
		return
	}
	ids, _ := u.Encode("Hello world")
	fmt.Println(ids, u.Tokens(ids))
	fmt.Println(u.AddSpecialTokens("[FLERT]", "<<ENT>>", "<<SEP>>"), u.VocabSize())
	ids, wordIDs, _ := u.EncodeWords([]string{"<<ENT>>", "person", "<<SEP>>", "John"})
	fmt.Println(ids)
	fmt.Println(wordIDs)
	// Output:
	// [285 206 254 295 82 62 16] [▁H el lo ▁w or l d]
	// [2001 2002 2003] 2004
	// [1 2002 599 5 83 2003 243 17 50 18 2]
	// [-1 0 1 1 1 2 3 3 3 3 -1]
}

// The raw sentencepiece encoding, with byte offsets into the input.
func ExampleSentencePiece_Encode() {
	m, err := tokenizer.ReadSPMModel(filepath.Join(fixtures(), "tokenizers", "unigram_deberta_v3", "spm.model"))
	if err != nil {
		fmt.Println(err)
		return
	}
	sp, err := tokenizer.NewSentencePiece(m)
	if err != nil {
		fmt.Println(err)
		return
	}
	toks, _ := sp.Encode("  Zürich")
	for _, t := range toks {
		fmt.Printf("%d %q %q [%d,%d)\n", t.ID, t.Piece, t.Surface, t.Begin, t.End)
	}
	// Output:
	// 4 "▁" "" [2,2)
	// 475 "Z" "Z" [2,3)
	// 373 "ü" "ü" [3,5)
	// 90 "ri" "ri" [5,7)
	// 73 "ch" "ch" [7,9)
}
