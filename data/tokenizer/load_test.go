package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/internal/testutil"
)

// TestLoadModelFixtures loads every model fixture's tokenizer folder
// (vocab.txt + added_tokens.json + configs), checks the GLiNER added ids,
// and rebuilds the reference collator's input_ids for the inference batch.
func TestLoadModelFixtures(t *testing.T) {
	for _, name := range testutil.ModelFixtures {
		t.Run(name, func(t *testing.T) {
			dir := testutil.Fixture(t, name)
			tok, err := Load(filepath.Join(dir, "tokenizer"))
			if err != nil {
				t.Fatal(err)
			}
			var added map[string]int
			raw, err := os.ReadFile(filepath.Join(dir, "tokenizer", "added_tokens.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &added); err != nil {
				t.Fatal(err)
			}
			for content, id := range added {
				if got, ok := tok.TokenToID(content); !ok || got != id {
					t.Errorf("TokenToID(%q) = %d, %v; want %d", content, got, ok, id)
				}
			}
			if sp := tok.SpecialIDs(); sp != (Special{Pad: 0, UNK: 1, CLS: 2, SEP: 3}) {
				t.Errorf("SpecialIDs = %+v", sp)
			}
			// Re-adding present tokens returns their ids and changes nothing.
			n := tok.VocabSize()
			if n != 323 {
				t.Errorf("VocabSize = %d, want 323 (320 + 3 added)", n)
			}
			if strings.Contains(name, "relex") {
				return // relex adds <<REL>>; its prompts differ
			}
			if got := tok.AddSpecialTokens("[FLERT]", "<<ENT>>", "<<SEP>>"); !reflect.DeepEqual(got, []int{320, 321, 322}) || tok.VocabSize() != n {
				t.Errorf("AddSpecialTokens again = %v, size %d", got, tok.VocabSize())
			}
			if strings.HasPrefix(name, "bi_") || strings.Contains(name, "decoder") {
				return // other prompt layouts
			}
			var batch struct {
				EntityTypes []string `json:"entity_types"`
				Examples    []struct {
					Words []string `json:"tokenized_text"`
				} `json:"examples"`
				Collated struct {
					InputIDs testutil.JSONTensor `json:"input_ids"`
					Mask     testutil.JSONTensor `json:"attention_mask"`
				} `json:"collated_inference"`
			}
			raw, err = os.ReadFile(filepath.Join(dir, "batch.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &batch); err != nil {
				t.Fatal(err)
			}
			ids, err := batch.Collated.InputIDs.Floats()
			if err != nil {
				t.Fatal(err)
			}
			mask, err := batch.Collated.Mask.Floats()
			if err != nil {
				t.Fatal(err)
			}
			T := batch.Collated.InputIDs.Shape[1]
			for b, ex := range batch.Examples {
				var words []string
				for _, l := range batch.EntityTypes {
					words = append(words, "<<ENT>>", l)
				}
				words = append(append(words, "<<SEP>>"), ex.Words...)
				got, _, err := tok.EncodeWords(words)
				if err != nil {
					t.Fatal(err)
				}
				var want []int
				for k := 0; k < T; k++ {
					if mask[b*T+k] == 1 {
						want = append(want, int(ids[b*T+k]))
					}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("example %d: EncodeWords = %v, want %v", b, got, want)
				}
			}
		})
	}
}

func TestLoadBertVocabTxtMatchesTokenizerJSON(t *testing.T) {
	src := filepath.Join(testutil.FixturesDir(t), "tokenizers", "wordpiece_bert_uncased")
	dir := t.TempDir()
	raw, err := os.ReadFile(filepath.Join(src, "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	fromTxt, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	fromJSON := loadBertJSON(t)
	for _, tok := range []Tokenizer{fromTxt, fromJSON} {
		if got := tok.AddSpecialTokens("[FLERT]", "<<ENT>>", "<<SEP>>"); !reflect.DeepEqual(got, []int{30522, 30523, 30524}) {
			t.Fatalf("AddSpecialTokens = %v", got)
		}
		if tok.VocabSize() != 30525 {
			t.Fatalf("VocabSize = %d", tok.VocabSize())
		}
	}
	text := "[CLS] Héllo, Wörld! <<ENT>> 北京 [MASK] don't"
	a, _ := fromTxt.Encode(text)
	b, _ := fromJSON.Encode(text)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("vocab.txt %v != tokenizer.json %v", a, b)
	}
	if sp := fromTxt.SpecialIDs(); sp != (Special{Pad: 0, UNK: 100, CLS: 101, SEP: 102}) {
		t.Fatalf("SpecialIDs = %+v", sp)
	}
}

// TestSaveRoundTrip saves each tokenizer with the GLiNER tokens added and
// loads it back: same ids for text and words, same vocabulary size.
func TestSaveRoundTrip(t *testing.T) {
	for name, load := range map[string]func(*testing.T) Tokenizer{"bert": loadBertJSON, "gpt2": loadGPT2} {
		t.Run(name, func(t *testing.T) {
			tok := load(t)
			tok.AddSpecialTokens("[FLERT]", "<<ENT>>", "<<SEP>>")
			dir := t.TempDir()
			if err := tok.Save(dir); err != nil {
				t.Fatal(err)
			}
			back, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if back.VocabSize() != tok.VocabSize() || back.SpecialIDs() != tok.SpecialIDs() {
				t.Fatalf("size %d vs %d, special %+v vs %+v", back.VocabSize(), tok.VocabSize(), back.SpecialIDs(), tok.SpecialIDs())
			}
			words := []string{"<<ENT>>", "person", "<<SEP>>", "Zoë", "met", "李雷", "in", "New-York", "!"}
			i1, w1, _ := tok.EncodeWords(words)
			i2, w2, _ := back.EncodeWords(words)
			if !reflect.DeepEqual(i1, i2) || !reflect.DeepEqual(w1, w2) {
				t.Fatalf("EncodeWords differs after Save/Load: %v %v vs %v %v", i1, w1, i2, w2)
			}
			// Without tokenizer.json the slow-tokenizer files give the same.
			if err := os.Remove(filepath.Join(dir, "tokenizer.json")); err != nil {
				t.Fatal(err)
			}
			slow, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			i3, w3, _ := slow.EncodeWords(words)
			if !reflect.DeepEqual(i1, i3) || !reflect.DeepEqual(w1, w3) || slow.VocabSize() != tok.VocabSize() {
				t.Fatalf("EncodeWords from %s differs: %v %v vs %v %v", name, i1, w1, i3, w3)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	empty := t.TempDir()
	if _, err := Load(empty); err == nil || !strings.Contains(err.Error(), empty) {
		t.Fatalf("empty folder: err = %v, want one naming %s", err, empty)
	}
	if _, err := Load(filepath.Join(empty, "missing")); err == nil {
		t.Fatal("missing folder loaded")
	}
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "tokenizer.json"), []byte(`{"model":{"type":"WordLevel","vocab":{}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "WordLevel") {
		t.Fatalf("unsupported model: err = %v", err)
	}
	merges := t.TempDir()
	os.WriteFile(filepath.Join(merges, "vocab.json"), []byte(`{"a":0,"b":1,"ab":2}`), 0o644)
	os.WriteFile(filepath.Join(merges, "merges.txt"), []byte("#version: 0.2\na b\nab\n"), 0o644)
	if _, err := Load(merges); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("bad merges: err = %v, want one naming line 3", err)
	}
}
