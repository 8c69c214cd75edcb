package tokenizer

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gliner-go/gliner/internal/testutil"
)

// ugCase is one line of unigram_deberta_v3/cases.jsonl.
type ugCase struct {
	ID              string   `json:"id"`
	Kind            string   `json:"kind"`
	Text            string   `json:"text"`
	Words           []string `json:"words"`
	IDs             []int    `json:"ids"`
	Tokens          []string `json:"tokens"`
	WordIDs         []*int   `json:"word_ids"`
	WithAddedTokens bool     `json:"with_added_tokens"`
	SPM             *struct {
		IDs          []int    `json:"ids"`
		Pieces       []string `json:"pieces"`
		Surfaces     []string `json:"surfaces"`
		Offsets      [][2]int `json:"offsets"`
		OffsetsBytes [][2]int `json:"offsets_bytes"`
	} `json:"spm"`
}

func ugFixtureDir(t testing.TB) string {
	return filepath.Join(testutil.FixturesDir(t), "tokenizers", "unigram_deberta_v3")
}

func ugReadCases(t testing.TB) []ugCase {
	p := filepath.Join(ugFixtureDir(t), "cases.jsonl")
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []ugCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for line := 1; sc.Scan(); line++ {
		var c ugCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("%s line %d: %v", p, line, err)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no cases", p)
	}
	return out
}

func ugLoadSPM(t testing.TB) *SPMModel {
	m, err := ReadSPMModel(filepath.Join(ugFixtureDir(t), "spm.model"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSPMModelParse(t *testing.T) {
	m := ugLoadSPM(t)
	if len(m.Pieces) != 2000 {
		t.Fatalf("pieces = %d, want 2000", len(m.Pieces))
	}
	want := []SPMPiece{{"[PAD]", 0, SPMControl}, {"[CLS]", 0, SPMControl}, {"[SEP]", 0, SPMControl}, {"[UNK]", 0, SPMUnknown}}
	if !reflect.DeepEqual(m.Pieces[:4], want) {
		t.Fatalf("first pieces = %+v, want %+v", m.Pieces[:4], want)
	}
	// spm.vocab lists "▁	-2.59753" and "s	-3.27905" as ids 4 and 5.
	if m.Pieces[4].Piece != "▁" || float32(m.Pieces[4].Score) != float32(-2.59753) && (m.Pieces[4].Score > -2.5975 || m.Pieces[4].Score < -2.5976) {
		t.Fatalf("piece 4 = %+v", m.Pieces[4])
	}
	if m.Pieces[5].Piece != "s" || m.Pieces[5].Type != SPMNormal {
		t.Fatalf("piece 5 = %+v", m.Pieces[5])
	}
	tr := m.Trainer
	if tr.ModelType != 1 || tr.VocabSize != 2000 || tr.UnkID != 3 || tr.BosID != 1 || tr.EosID != 2 || tr.PadID != 0 ||
		tr.UnkPiece != "[UNK]" || tr.BosPiece != "[CLS]" || tr.EosPiece != "[SEP]" || tr.PadPiece != "[PAD]" || tr.ByteFallback {
		t.Fatalf("trainer spec = %+v", tr)
	}
	n := m.Normalizer
	if n.Name != "nmt_nfkc" || !n.AddDummyPrefix || !n.RemoveExtraWhitespaces || !n.EscapeWhitespaces || len(n.PrecompiledCharsmap) == 0 {
		t.Fatalf("normalizer spec = %+v (charsmap %d bytes)", n.Name, len(n.PrecompiledCharsmap))
	}
}

// Every piece and score of spm.vocab (the text export of the model).
func TestSPMModelMatchesVocab(t *testing.T) {
	m := ugLoadSPM(t)
	f, err := os.Open(filepath.Join(ugFixtureDir(t), "spm.vocab"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	i := 0
	for ; sc.Scan(); i++ {
		var piece string
		var score float64
		line := sc.Text()
		tab := -1
		for k := len(line) - 1; k >= 0; k-- {
			if line[k] == '\t' {
				tab = k
				break
			}
		}
		if tab < 0 {
			t.Fatalf("spm.vocab line %d: no tab", i+1)
		}
		piece = line[:tab]
		if err := json.Unmarshal([]byte(line[tab+1:]), &score); err != nil {
			t.Fatalf("spm.vocab line %d: %v", i+1, err)
		}
		if i >= len(m.Pieces) {
			t.Fatalf("spm.vocab has more lines than the model's %d pieces", len(m.Pieces))
		}
		p := m.Pieces[i]
		if p.Piece != piece || abs64(float64(p.Score)-score) > 1e-5*(1+abs64(score)) {
			t.Fatalf("piece %d = %q %v, spm.vocab says %q %v", i, p.Piece, p.Score, piece, score)
		}
	}
	if i != len(m.Pieces) {
		t.Fatalf("spm.vocab has %d lines, model %d pieces", i, len(m.Pieces))
	}
}

func abs64(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// The raw sentencepiece encoding of every case (ids, pieces, surfaces and
// offsets in bytes and code points) matches sentencepiece 0.1.97.
func TestSentencePieceConformance(t *testing.T) {
	sp, err := NewSentencePiece(ugLoadSPM(t))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range ugReadCases(t) {
		if c.SPM == nil {
			continue
		}
		n++
		toks, err := sp.Encode(c.Text)
		if err != nil {
			t.Errorf("%s: %v", c.ID, err)
			continue
		}
		ids := make([]int, len(toks))
		pieces := make([]string, len(toks))
		surfaces := make([]string, len(toks))
		offB := make([][2]int, len(toks))
		offC := make([][2]int, len(toks))
		for i, tk := range toks {
			ids[i], pieces[i], surfaces[i] = tk.ID, tk.Piece, tk.Surface
			offB[i] = [2]int{tk.Begin, tk.End}
			offC[i] = [2]int{utf8.RuneCountInString(c.Text[:tk.Begin]), utf8.RuneCountInString(c.Text[:tk.End])}
		}
		want := c.SPM
		if len(want.IDs) == 0 {
			want.IDs, want.Pieces, want.Surfaces, want.Offsets, want.OffsetsBytes = []int{}, []string{}, []string{}, [][2]int{}, [][2]int{}
		}
		if !reflect.DeepEqual(ids, want.IDs) {
			t.Errorf("%s %q: ids\n got %v\nwant %v", c.ID, c.Text, ids, want.IDs)
			continue
		}
		if !reflect.DeepEqual(surfaces, want.Surfaces) {
			t.Errorf("%s: surfaces\n got %q\nwant %q", c.ID, surfaces, want.Surfaces)
		}
		if !reflect.DeepEqual(offB, want.OffsetsBytes) {
			t.Errorf("%s: byte offsets\n got %v\nwant %v", c.ID, offB, want.OffsetsBytes)
		}
		if !reflect.DeepEqual(offC, want.Offsets) {
			t.Errorf("%s: offsets\n got %v\nwant %v", c.ID, offC, want.Offsets)
		}
		for i := range pieces {
			// For a known piece the fixture holds the piece; for [UNK] it holds
			// the normalized text the unknown piece covers, as our Piece does.
			if pieces[i] != want.Pieces[i] {
				t.Errorf("%s: piece %d = %q, want %q", c.ID, i, pieces[i], want.Pieces[i])
			}
		}
	}
	if n < 50 {
		t.Fatalf("only %d cases with an spm object", n)
	}
}

func TestSPMModelErrors(t *testing.T) {
	piece := func(s string, typ byte) []byte {
		b := []byte{0x0a, byte(len(s))}
		b = append(b, s...)
		b = append(b, 0x18, typ)
		return append([]byte{0x0a, byte(len(b))}, b...)
	}
	raw, err := os.ReadFile(filepath.Join(ugFixtureDir(t), "spm.model"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "field pieces (1): no pieces"},
		{"wire type", []byte{0x08, 0x01}, "field pieces (1): wire type 0, want bytes"},
		{"truncated", raw[:len(raw)/2], "spm model truncated: field "},
		{"bad type", piece("a", 9), "field pieces (1) #0: field type (3): unknown piece type 9"},
		{"no unk", piece("a", 1), "no piece of type UNKNOWN"},
		{"bpe", append(append(piece("<unk>", 2), piece("a", 1)...), 0x12, 0x02, 0x18, 0x02), "field trainer_spec.model_type (3): 2 is not UNIGRAM"},
		{"charsmap", append(append(piece("<unk>", 2), piece("a", 1)...), 0x1a, 0x07, 0x12, 0x05, 0xff, 0, 0, 0, 1), "field normalizer_spec.precompiled_charsmap (2): trie size 255 exceeds"},
		{"bad score", []byte{0x0a, 0x05, 0x0a, 0x01, 'a', 0x15, 0x01}, "field pieces (1) #0: field 2: unexpected EOF"},
	} {
		_, err := ParseSPMModel(tc.name, tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "spm model "+tc.name+": ") {
			t.Errorf("%s: error %v, want it to name the file and contain %q", tc.name, err, tc.want)
		}
	}
	if _, err := ReadSPMModel(filepath.Join(t.TempDir(), "missing.model")); err == nil || !strings.Contains(err.Error(), "missing.model") {
		t.Errorf("missing file: %v", err)
	}
}
