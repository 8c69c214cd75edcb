// Package tokenizer implements the sub-word tokenizers GLiNER checkpoints
// ship with, in pure Go and matching the Hugging Face fast (Rust)
// tokenizers: WordPiece (BERT), byte-level BPE (GPT-2, RoBERTa) and Unigram
// (SentencePiece, DeBERTa-v3), loaded from a model folder's tokenizer.json,
// vocab.txt, vocab.json+merges.txt or spm.model. The optional
// github.com/daulet/tokenizers backend lives behind the `hftokenizers` build tag.
package tokenizer

// Tokenizer is the one interface every backend implements.
type Tokenizer interface {
	// Encode tokenizes text without special tokens ([CLS]/[SEP]); added
	// tokens present in the text are matched first and never split.
	Encode(text string) ([]int, error)
	// EncodeWords tokenizes pre-split words as the reference does with
	// is_split_into_words=True and add_special_tokens=True. It returns the
	// ids (with special tokens) and, per id, the index of the word it came
	// from (-1 for special tokens).
	EncodeWords(words []string) (ids []int, wordIDs []int, err error)
	// Tokens returns the token strings of ids.
	Tokens(ids []int) []string
	// TokenToID returns the id of a token, if it is in the vocabulary.
	TokenToID(tok string) (int, bool)
	// VocabSize is the number of ids, added tokens included (len(tokenizer)).
	VocabSize() int
	// AddSpecialTokens appends tokens (e.g. "[FLERT]", "<<ENT>>", "<<SEP>>")
	// as special tokens in order, skipping ones already present, and
	// returns their ids — the same ids the reference gives them.
	AddSpecialTokens(tokens ...string) []int
	// SpecialIDs reports the pad, cls/bos and sep/eos ids (-1 if absent).
	SpecialIDs() Special
	// Save writes the tokenizer's files into dir so that Load (and the
	// Hugging Face libraries) can read them back.
	Save(dir string) error
}

// Special holds the ids of the special tokens a collator needs.
type Special struct {
	Pad, CLS, SEP, UNK int
}
