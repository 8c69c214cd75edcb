//go:build hftokenizers

package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	hf "github.com/daulet/tokenizers"
)

// HFTokenizer runs the Hugging Face Rust tokenizers (through
// github.com/daulet/tokenizers, cgo, build tag `hftokenizers`) for the
// sub-word encoding, and the pure-Go tokenizer of the same folder for
// everything the Rust binding does not expose (token lookup, adding tokens,
// special ids, saving). Tokens added after loading are split out in Go
// before the Rust tokenizer sees the text. Call Close when done.
type HFTokenizer struct {
	meta Tokenizer
	rust *hf.Tokenizer
	// extra holds the tokens added after loading (unknown to rust).
	extra *AddedVocab
	// prefix and suffix are the special ids Rust's post-processor puts
	// around a sequence.
	prefix, suffix []int
	// wordPrefixSpace: byte-level BPE words get a leading space, as the fast
	// tokenizer does with is_split_into_words (add_prefix_space).
	wordPrefixSpace bool
}

var _ Tokenizer = (*HFTokenizer)(nil)

// LoadHF loads dir with Load (for the metadata) and its tokenizer.json into
// the Rust library (written from the Go tokenizer when the folder has
// none). The file's truncation and padding settings are removed: like
// transformers' fast wrapper, encoding neither truncates nor pads.
func LoadHF(dir string) (*HFTokenizer, error) {
	meta, err := Load(dir)
	if err != nil {
		return nil, err
	}
	p := filepath.Join(dir, fileTokenizerJSON)
	raw, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		tmp, terr := os.MkdirTemp("", "gliner-tokenizer-")
		if terr != nil {
			return nil, fmt.Errorf("hf tokenizer %s: %w", dir, terr)
		}
		defer os.RemoveAll(tmp)
		if err := meta.Save(tmp); err != nil {
			return nil, fmt.Errorf("hf tokenizer %s: %w", dir, err)
		}
		p = filepath.Join(tmp, fileTokenizerJSON)
		raw, err = os.ReadFile(p)
	}
	if err != nil {
		return nil, fmt.Errorf("hf tokenizer %s: %w", dir, err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("hf tokenizer %s: %w", p, err)
	}
	doc["truncation"] = json.RawMessage("null")
	doc["padding"] = json.RawMessage("null")
	if raw, err = json.Marshal(doc); err != nil {
		return nil, fmt.Errorf("hf tokenizer %s: %w", p, err)
	}
	rt, err := hf.FromBytes(raw)
	if err != nil {
		return nil, fmt.Errorf("hf tokenizer %s: %w", p, err)
	}
	h := &HFTokenizer{meta: meta, rust: rt, extra: NewAddedVocab()}
	_, h.wordPrefixSpace = meta.(*BPE)
	// Find the post-processor's special tokens around a probe sequence.
	plain, _ := rt.Encode("a", false)
	full, _ := rt.Encode("a", true)
	if i := indexOf(full, plain); i >= 0 {
		h.prefix = toInts(full[:i])
		h.suffix = toInts(full[i+len(plain):])
	}
	return h, nil
}

func indexOf(hay, needle []uint32) int {
	for i := 0; i+len(needle) <= len(hay); i++ {
		if slices.Equal(hay[i:i+len(needle)], needle) {
			return i
		}
	}
	return -1
}

func toInts(u []uint32) []int {
	out := make([]int, len(u))
	for i, v := range u {
		out[i] = int(v)
	}
	return out
}

// Close frees the Rust tokenizer.
func (h *HFTokenizer) Close() error { return h.rust.Close() }

func (h *HFTokenizer) encode(text string, dst []int, word bool) []int {
	for _, seg := range h.extra.Split(text) {
		if seg.IsAdded {
			dst = append(dst, seg.ID)
			continue
		}
		s := seg.Text
		if word && h.wordPrefixSpace && s[0] != ' ' {
			s = " " + s
		}
		ids, _ := h.rust.Encode(s, false)
		for _, id := range ids {
			dst = append(dst, int(id))
		}
	}
	return dst
}

// Encode tokenizes text without special tokens.
func (h *HFTokenizer) Encode(text string) ([]int, error) { return h.encode(text, nil, false), nil }

// EncodeWords tokenizes pre-split words with the post-processor's special
// tokens and per-id word indices (-1 for specials).
func (h *HFTokenizer) EncodeWords(words []string) ([]int, []int, error) {
	ids := append([]int(nil), h.prefix...)
	wids := make([]int, len(ids))
	for i := range wids {
		wids[i] = -1
	}
	for w, word := range words {
		n := len(ids)
		ids = h.encode(word, ids, true)
		for range ids[n:] {
			wids = append(wids, w)
		}
	}
	for _, id := range h.suffix {
		ids = append(ids, id)
		wids = append(wids, -1)
	}
	return ids, wids, nil
}

func (h *HFTokenizer) Tokens(ids []int) []string        { return h.meta.Tokens(ids) }
func (h *HFTokenizer) TokenToID(tok string) (int, bool) { return h.meta.TokenToID(tok) }
func (h *HFTokenizer) VocabSize() int                   { return h.meta.VocabSize() }
func (h *HFTokenizer) SpecialIDs() Special              { return h.meta.SpecialIDs() }
func (h *HFTokenizer) Save(dir string) error            { return h.meta.Save(dir) }
func (h *HFTokenizer) RustVocabSize() int               { return int(h.rust.VocabSize()) }

// AddSpecialTokens adds tokens through the Go tokenizer (same ids as the
// reference) and splits them out before the Rust tokenizer from now on.
func (h *HFTokenizer) AddSpecialTokens(tokens ...string) []int {
	ids := h.meta.AddSpecialTokens(tokens...)
	for i, t := range tokens {
		if ids[i] < 0 {
			continue
		}
		if _, ok := h.extra.ID(t); !ok {
			_ = h.extra.Insert(AddedToken{ID: ids[i], Content: t, Special: true})
		}
	}
	return ids
}
