package data

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/gliner-go/gliner/data/tokenizer"
)

// wpDouble is a minimal WordPiece test double (lower-casing, punctuation
// split, greedy longest match, added tokens matched whole) good enough for
// the fixtures' plain ASCII words. It lets the collator be tested apart
// from the real tokenizers.
type wpDouble struct {
	vocab map[string]int
	inv   []string
	added map[string]bool
	sp    tokenizer.Special
}

var _ tokenizer.Tokenizer = (*wpDouble)(nil)

func loadWPDouble(dir string) (*wpDouble, error) {
	f, err := os.Open(filepath.Join(dir, "vocab.txt"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d := &wpDouble{vocab: map[string]int{}, added: map[string]bool{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		d.vocab[sc.Text()] = len(d.inv)
		d.inv = append(d.inv, sc.Text())
	}
	if b, err := os.ReadFile(filepath.Join(dir, "added_tokens.json")); err == nil {
		var at map[string]int
		if err := json.Unmarshal(b, &at); err != nil {
			return nil, err
		}
		for len(d.inv) < len(d.vocab)+len(at) {
			d.inv = append(d.inv, "")
		}
		for tok, id := range at {
			d.vocab[tok] = id
			d.inv[id] = tok
			d.added[tok] = true
		}
	}
	d.sp = tokenizer.Special{Pad: d.vocab["[PAD]"], CLS: d.vocab["[CLS]"], SEP: d.vocab["[SEP]"], UNK: d.vocab["[UNK]"]}
	return d, nil
}

func (d *wpDouble) Encode(text string) ([]int, error) {
	var out []int
	for _, w := range strings.Fields(text) {
		ids, err := d.word(w)
		if err != nil {
			return nil, err
		}
		out = append(out, ids...)
	}
	return out, nil
}

func (d *wpDouble) word(w string) ([]int, error) {
	if d.added[w] || w == "[PAD]" {
		return []int{d.vocab[w]}, nil
	}
	var pieces []string
	cur := ""
	for _, r := range strings.ToLower(w) {
		switch {
		case unicode.IsSpace(r):
			if cur != "" {
				pieces = append(pieces, cur)
			}
			cur = ""
		case unicode.IsPunct(r) || unicode.IsSymbol(r):
			if cur != "" {
				pieces = append(pieces, cur)
			}
			pieces = append(pieces, string(r))
			cur = ""
		default:
			cur += string(r)
		}
	}
	if cur != "" {
		pieces = append(pieces, cur)
	}
	var out []int
	for _, p := range pieces {
		start := 0
		var sub []int
		for start < len(p) {
			end := len(p)
			found := -1
			for end > start {
				s := p[start:end]
				if start > 0 {
					s = "##" + s
				}
				if id, ok := d.vocab[s]; ok {
					found = id
					break
				}
				end--
			}
			if found < 0 {
				sub = []int{d.sp.UNK}
				break
			}
			sub = append(sub, found)
			start = end
		}
		out = append(out, sub...)
	}
	return out, nil
}

func (d *wpDouble) EncodeWords(words []string) ([]int, []int, error) {
	ids := []int{d.sp.CLS}
	wids := []int{-1}
	for i, w := range words {
		t, err := d.word(w)
		if err != nil {
			return nil, nil, err
		}
		for _, id := range t {
			ids = append(ids, id)
			wids = append(wids, i)
		}
	}
	return append(ids, d.sp.SEP), append(wids, -1), nil
}

func (d *wpDouble) Tokens(ids []int) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = d.inv[id]
	}
	return out
}

func (d *wpDouble) TokenToID(tok string) (int, bool) { id, ok := d.vocab[tok]; return id, ok }
func (d *wpDouble) VocabSize() int                   { return len(d.inv) }
func (d *wpDouble) AddSpecialTokens(tokens ...string) []int {
	out := make([]int, len(tokens))
	for i, t := range tokens {
		if id, ok := d.vocab[t]; ok {
			out[i] = id
			continue
		}
		d.vocab[t] = len(d.inv)
		d.inv = append(d.inv, t)
		d.added[t] = true
		out[i] = d.vocab[t]
	}
	return out
}
func (d *wpDouble) SpecialIDs() tokenizer.Special { return d.sp }
func (d *wpDouble) Save(dir string) error         { return fmt.Errorf("wpDouble: Save not supported") }
