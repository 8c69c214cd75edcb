package tokenizer_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gliner-go/gliner/data/tokenizer"
)

func fixtures() string {
	if d := os.Getenv("GLINER_SHARED"); d != "" {
		return filepath.Join(d, "fixtures")
	}
	return filepath.Join("..", "..", "..", "shared", "fixtures")
}

// Load a GLiNER model folder's tokenizer and encode a prompt plus text the
// way the reference collator does (is_split_into_words=True).
func ExampleLoad() {
	tok, err := tokenizer.Load(filepath.Join(fixtures(), "uni_span_bert", "tokenizer"))
	if err != nil {
		fmt.Println(err)
		return
	}
	ids, wordIDs, err := tok.EncodeWords([]string{"<<ENT>>", "person", "<<SEP>>", "alice", "brown"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ids)
	fmt.Println(wordIDs)
	fmt.Println(tok.Tokens(ids))
	// Output:
	// [2 321 149 322 67 66 3]
	// [-1 0 1 2 3 4 -1]
	// [[CLS] <<ENT>> person <<SEP>> alice brown [SEP]]
}

// Add GLiNER's special tokens to a fresh tokenizer: they get the ids
// len(tokenizer), len+1, … exactly as in the reference.
func ExampleTokenizer_AddSpecialTokens() {
	tok, err := tokenizer.Load(filepath.Join(fixtures(), "tokenizers", "bpe_gpt2"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.VocabSize())
	fmt.Println(tok.AddSpecialTokens("[FLERT]", "<<ENT>>", "<<SEP>>"))
	ids, _ := tok.Encode("<<ENT>> person")
	fmt.Println(ids, tok.Tokens(ids))
	// Output:
	// 50257
	// [50257 50258 50259]
	// [50258 1048] [<<ENT>> Ġperson]
}
