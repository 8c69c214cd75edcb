package models

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/internal/testutil"
)

func exportFixture(t *testing.T, name string) (src, out string) {
	t.Helper()
	src = testutil.Fixture(t, name)
	m, err := Load(src)
	if err != nil {
		t.Fatal(err)
	}
	tok := fixtureTokenizer(t, src)
	out = filepath.Join(t.TempDir(), "exported")
	if err := Export(m, tok, out); err != nil {
		t.Fatal(err)
	}
	return src, out
}

func TestExportReproducesFixtureFolders(t *testing.T) {
	for _, name := range []string{"uni_span_bert", "uni_span_deberta", "uni_token_bert", "uni_token_deberta", "bi_span_deberta", "bi_token_deberta", "uni_span_decoder_deberta",
		"uni_token_decoder_deberta", "uni_span_relex_deberta", "uni_token_relex_deberta"} {
		t.Run(name, func(t *testing.T) {
			src, out := exportFixture(t, name)
			// Tensors: same names, shapes and bits.
			want, err := checkpoints.ReadState(filepath.Join(src, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := checkpoints.ReadState(filepath.Join(out, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got.Names, ",") != strings.Join(want.Names, ",") {
				t.Fatalf("tensor names differ:\n got %v\nwant %v", got.Names, want.Names)
			}
			for _, n := range want.Names {
				w, g := want.Tensors[n], got.Tensors[n]
				if g.DType != checkpoints.F32 || len(g.Data) != len(w.Data) || !exportEqualInts(g.Shape, w.Shape) {
					t.Fatalf("%s: dtype %s shape %v, want F32 %v", n, g.DType, g.Shape, w.Shape)
				}
				for i := range w.Data {
					if math.Float32bits(g.Data[i]) != math.Float32bits(w.Data[i]) {
						t.Fatalf("%s[%d] = %v, want %v", n, i, g.Data[i], w.Data[i])
					}
				}
			}
			// The safetensors file is byte-identical to the reference's.
			wb, _ := os.ReadFile(filepath.Join(src, "model.safetensors"))
			gb, _ := os.ReadFile(filepath.Join(out, "model.safetensors"))
			if !bytes.Equal(wb, gb) {
				t.Errorf("model.safetensors: %d bytes differ from the reference's %d", len(gb), len(wb))
			}
			f, err := checkpoints.OpenSafetensors(filepath.Join(out, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			if md := f.Metadata(); len(md) != 1 || md["format"] != "pt" {
				t.Errorf("metadata %v, want format pt", md)
			}
			f.Close()
			// gliner_config.json is byte-identical to the reference's to_json_file.
			wc, _ := os.ReadFile(filepath.Join(src, "gliner_config.json"))
			gc, _ := os.ReadFile(filepath.Join(out, "gliner_config.json"))
			if string(gc) != string(wc) {
				t.Errorf("gliner_config.json differs:\n%s", exportFirstDiff(string(gc), string(wc)))
			}
			// The folder loads back with the same config and tokenizer.
			m2, err := Load(out)
			if err != nil {
				t.Fatal(err)
			}
			// Relex models add <<ENT>> <<SEP>> <<REL>> (fixtures README).
			relex := strings.Contains(name, "_relex_")
			added, classIdx := map[string]int{"<<ENT>>": 321, "<<SEP>>": 322, "[FLERT]": 320}, 321
			if relex {
				added, classIdx = map[string]int{"<<ENT>>": 320, "<<SEP>>": 321, "<<REL>>": 322}, 320
			}
			if strings.HasPrefix(name, "uni_") && (m2.Cfg.ClassTokenIndex != classIdx || m2.Cfg.VocabSize != 323 || m2.EncCfg.VocabSize != 323) {
				t.Errorf("reloaded class_token_index %d vocab %d/%d", m2.Cfg.ClassTokenIndex, m2.Cfg.VocabSize, m2.EncCfg.VocabSize)
			}
			if relex && m2.Cfg.RelTokenIndex != 322 {
				t.Errorf("reloaded rel_token_index %d, want 322", m2.Cfg.RelTokenIndex)
			}
			tok, err := tokenizer.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			for tokName, id := range added {
				if got, ok := tok.TokenToID(tokName); !ok || got != id {
					t.Errorf("exported tokenizer: %s = %d, %v; want %d", tokName, got, ok, id)
				}
			}
			for _, file := range []string{"tokenizer_config.json", "special_tokens_map.json"} {
				if _, err := os.Stat(filepath.Join(out, file)); err != nil {
					t.Errorf("exported folder lacks %s", file)
				}
			}
		})
	}
}

func TestExportRefusesNonEmptyFolderUnlessOverwrite(t *testing.T) {
	src := testutil.Fixture(t, "uni_span_bert")
	m, err := Load(src)
	if err != nil {
		t.Fatal(err)
	}
	tok := fixtureTokenizer(t, src)
	dir := filepath.Join(t.TempDir(), "out")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// An empty existing folder is fine.
	if err := Export(m, tok, dir); err != nil {
		t.Fatal(err)
	}
	err = Export(m, tok, dir)
	if err == nil || !strings.Contains(err.Error(), "not empty") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second export: %v, want a refusal naming %s", err, dir)
	}
	stale := filepath.Join(dir, "stale.txt")
	if err := os.WriteFile(stale, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ExportWith(m, tok, dir, ExportOptions{Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("overwrite kept the old folder's files")
	}
	if _, err := Load(dir); err != nil {
		t.Fatal(err)
	}
	// No temporary folders are left beside the target.
	ents, _ := os.ReadDir(filepath.Dir(dir))
	if len(ents) != 1 {
		t.Errorf("parent holds %d entries, want only the export", len(ents))
	}
}

func TestExportRejectsMismatchedTokenizer(t *testing.T) {
	src := testutil.Fixture(t, "uni_span_bert")
	m, err := Load(src)
	if err != nil {
		t.Fatal(err)
	}
	// The base vocabulary lacks <<ENT>>: the config's class_token_index
	// then cannot be checked, but a tokenizer where <<ENT>> has another id
	// must be refused.
	tok := fixtureTokenizer(t, src)
	cfg := *m.Cfg
	cfg.ClassTokenIndex = 5
	m.Cfg = &cfg
	dir := filepath.Join(t.TempDir(), "out")
	err = Export(m, tok, dir)
	if err == nil || !strings.Contains(err.Error(), "class_token_index 5") {
		t.Fatalf("err = %v, want the class_token_index mismatch", err)
	}
	if _, serr := os.Stat(dir); !os.IsNotExist(serr) {
		t.Errorf("failed export left %s behind", dir)
	}
}

func TestPyFloat(t *testing.T) {
	for f, want := range map[float64]string{0: "0.0", 1: "1.0", 0.5: "0.5", 1e-12: "1e-12", 0.02: "0.02", 1e-5: "1e-05",
		0.0001: "0.0001", 1e16: "1e+16", 123456789012345.0: "123456789012345.0", -2.5: "-2.5", 0.1: "0.1"} {
		if got := pyFloat(f); got != want {
			t.Errorf("pyFloat(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestPyJSONEscapes(t *testing.T) {
	var b bytes.Buffer
	writePyJSON(&b, map[string]any{"b": "é😀<\"\x01", "a": []any{}, "c": map[string]any{}}, "")
	want := "{\n  \"a\": [],\n  \"b\": \"\\u00e9\\ud83d\\ude00<\\\"\\u0001\",\n  \"c\": {}\n}"
	if b.String() != want {
		t.Errorf("got %s\nwant %s", b.String(), want)
	}
}

func exportEqualInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func exportFirstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(la) || i < len(lb); i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			return "line " + strconv.Itoa(i+1) + ": got " + x + " | want " + y
		}
	}
	return ""
}
