package finetune

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/models"
)

func TestBuildFromGLiNERFolder(t *testing.T) {
	dir := testutil.Fixture(t, "uni_span_bert")
	r := DefaultRecipe()
	r.Model.PrevPath = dir
	b, err := BuildModel(&r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Source != FromGLiNER || b.Model.Cfg.ClassTokenIndex != 321 || b.Model.Cfg.VocabSize != 323 || b.Model.Cfg.MaxWidth != 4 {
		t.Fatalf("source %v, config %+v", b.Source, b.Model.Cfg)
	}
	// The tokenizer comes from the folder's tokenizer/ subfolder.
	if id, ok := b.Tokenizer.TokenToID("<<ENT>>"); !ok || id != 321 || b.Tokenizer.VocabSize() != 323 {
		t.Fatalf("<<ENT>> id %d (%v), vocabulary %d", id, ok, b.Tokenizer.VocabSize())
	}
	st, err := checkpoints.ReadState(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range b.Model.Store.Params() {
		if !equalF32(p.Data, st.Tensors[p.Name].Data) {
			t.Fatalf("%s differs from the folder's weights", p.Name)
		}
	}
}

// writeHFEncoder writes a Hugging Face BERT folder from the fixture's
// encoder weights (under the "bert." wrapper prefix, as BertForMaskedLM
// saves them) with rows embedding rows and the base 320-token vocab.txt.
func writeHFEncoder(t *testing.T, rows int) (dir string, orig map[string][]float32) {
	fx := testutil.Fixture(t, "uni_span_bert")
	st, err := checkpoints.ReadState(filepath.Join(fx, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	orig = map[string][]float32{}
	var ts []checkpoints.Tensor
	pre := models.TextEncoderPrefix + "."
	for _, n := range st.Names {
		if !strings.HasPrefix(n, pre) {
			continue
		}
		key := strings.TrimPrefix(n, pre)
		x := st.Tensors[n]
		data, shape := x.Data, x.Shape
		if key == wordEmbeddings {
			// 323 rows in the fixture: cut to rows, or extend with a
			// recognisable pattern.
			dim := shape[1]
			d := make([]float32, rows*dim)
			copy(d, data)
			for i := len(data); i < len(d); i++ {
				d[i] = float32(i % 7)
			}
			data, shape = d, []int{rows, dim}
		}
		orig[key] = data
		ts = append(ts, checkpoints.Tensor{Name: "bert." + key, Shape: shape, Data: data})
	}
	ts = append(ts, checkpoints.Tensor{Name: "cls.predictions.bias", Shape: []int{rows}, Data: make([]float32, rows)})
	if err := checkpoints.WriteSafetensors(filepath.Join(dir, "model.safetensors"), ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	testutil.ReadJSON(t, filepath.Join(fx, "config.json"), &cfg)
	cfg["vocab_size"] = rows
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	vocab, err := os.ReadFile(filepath.Join(fx, "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), vocab, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, orig
}

func TestBuildFromEncoderFolder(t *testing.T) {
	for _, c := range []struct {
		name string
		rows int // embedding rows in the encoder checkpoint
	}{
		{"grow 320 to 323", 320},
		{"shrink 330 to 323 (as DeBERTa-v3)", 330},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, orig := writeHFEncoder(t, c.rows)
			r := DefaultRecipe()
			r.Model.ModelName = dir
			r.Model.HiddenSize, r.Model.MaxWidth, r.Model.Dropout = 24, 4, 0
			b, err := BuildModel(&r, nil)
			if err != nil {
				t.Fatal(err)
			}
			cfg := b.Model.Cfg
			// Tokenizer 320 + [FLERT] <<ENT>> <<SEP>>: class_token_index =
			// len−2 = 321, vocab_size = 323 (gliner/model.py
			// set_class_indices).
			if cfg.ClassTokenIndex != 321 || cfg.VocabSize != 323 || b.Model.EncCfg.VocabSize != 323 || b.Tokenizer.VocabSize() != 323 {
				t.Fatalf("class_token_index %d, vocab_size %d, encoder vocab %d, tokenizer %d",
					cfg.ClassTokenIndex, cfg.VocabSize, b.Model.EncCfg.VocabSize, b.Tokenizer.VocabSize())
			}
			var ec map[string]any
			if err := json.Unmarshal(cfg.EncoderConfig, &ec); err != nil || ec["vocab_size"] != 323.0 {
				t.Fatalf("encoder_config vocab_size %v (%v)", ec["vocab_size"], err)
			}
			for i, tok := range GLiNERTokens {
				if id, _ := b.Tokenizer.TokenToID(tok); id != 320+i {
					t.Fatalf("%s id %d", tok, id)
				}
			}
			pre := models.TextEncoderPrefix + "."
			for _, p := range b.Model.Store.Params() {
				key, isEnc := strings.CutPrefix(p.Name, pre)
				switch {
				case key == wordEmbeddings:
					dim := p.Shape[1]
					if p.Shape[0] != 323 {
						t.Fatalf("embedding rows %d", p.Shape[0])
					}
					keep := min(c.rows, 323) * dim
					if !equalF32(p.Data[:keep], orig[key][:keep]) {
						t.Fatal("kept embedding rows changed")
					}
					var ss float64
					for _, v := range p.Data[keep:] {
						ss += float64(v) * float64(v)
					}
					if n := len(p.Data) - keep; n > 0 {
						// New rows: N(0, 0.02²), so RMS ≈ 0.02.
						if rms := math.Sqrt(ss / float64(n)); rms < 0.01 || rms > 0.04 {
							t.Fatalf("new rows RMS %g, want ≈ initializer_range 0.02", rms)
						}
					}
				case isEnc:
					if !equalF32(p.Data, orig[key]) {
						t.Fatalf("%s differs from the encoder folder", p.Name)
					}
				default:
					nonzero := false
					for _, v := range p.Data {
						nonzero = nonzero || v != 0
					}
					if !nonzero && !strings.HasSuffix(p.Name, "bias") {
						t.Fatalf("head parameter %s not initialised", p.Name)
					}
				}
			}
			if _, ok := b.Model.Store.Get("token_rep_layer.projection.weight"); !ok {
				t.Fatal("hidden_size 24 ≠ encoder 32 but no projection")
			}
		})
	}
}

func TestBuildRandomEncoder(t *testing.T) {
	r, err := ParseRecipe([]byte(tinyRecipe), "tiny.yaml")
	if err != nil {
		t.Fatal(err)
	}
	words := [][]string{{"Bill", "Gates", "founded", "Microsoft", "."}, {"Paris", "is", "big"}}
	b, err := BuildModel(r, words)
	if err != nil {
		t.Fatal(err)
	}
	n := b.Tokenizer.VocabSize()
	if b.Source != FromRandomInit || b.Model.Cfg.VocabSize != n || b.Model.Cfg.ClassTokenIndex != n-2 || b.Model.EncCfg.VocabSize != n {
		t.Fatalf("vocab %d, config %d / %d, encoder %d", n, b.Model.Cfg.VocabSize, b.Model.Cfg.ClassTokenIndex, b.Model.EncCfg.VocabSize)
	}
	ids, _, err := b.Tokenizer.EncodeWords([]string{"Gates", "Microsoft"})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Tokenizer.Tokens(ids); strings.Join(got, " ") != "[CLS] gates microsoft [SEP]" {
		t.Fatalf("tokens %q", got)
	}
	// Same recipe, same words: the same model.
	b2, err := BuildModel(r, words)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range b.Model.Store.Params() {
		if !equalF32(p.Data, b2.Model.Store.Params()[i].Data) {
			t.Fatalf("%s differs between two builds", p.Name)
		}
	}
	if err := r.Set("model.encoder_config.vocab_size=100"); err != nil {
		t.Fatal(err)
	}
	if _, err := BuildModel(r, words); err == nil || !strings.Contains(err.Error(), "vocab_size") {
		t.Fatalf("explicit vocab_size: %v", err)
	}
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
