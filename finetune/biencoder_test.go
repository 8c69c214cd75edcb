package finetune

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/internal/testutil/hfencoder"
	"github.com/gliner-go/gliner/models"
)

// biEncoderFolders writes a Hugging Face DeBERTa-v2 text encoder folder
// (keys under "deberta.", as DebertaV2ForMaskedLM saves them) and a bare
// BERT labels encoder folder (as BertModel, e.g. a BGE download, saves
// them) from the reference's BiEncoderToken fixture; both have the
// fixture's 320-token vocab.txt. noPooler leaves the labels encoder's
// pooler out (a masked-LM checkpoint).
func biEncoderFolders(t *testing.T, noPooler bool) (text, labels string, textW, labelsW map[string][]float32) {
	text, textW = hfencoder.Write(t, hfencoder.Folder{Fixture: "bi_token_deberta", Prefix: models.TextEncoderPrefix, Config: "config.json", Wrapper: "deberta."})
	labels, labelsW = hfencoder.Write(t, hfencoder.Folder{Fixture: "bi_token_deberta", Prefix: models.LabelsEncoderPrefix,
		Config: "labels_encoder_config.json", NoPooler: noPooler})
	return text, labels, textW, labelsW
}

// A bi-encoder from two Hugging Face encoder folders (model.model_name and
// model.bi_encoder.labels_encoder): both encoders carry the folders'
// weights, the labels tokenizer is the labels folder's (no GLiNER tokens),
// the text tokenizer gets [FLERT] <<ENT>> <<SEP>> with the embeddings
// resized, the projections and heads are random.
func TestBuildBiEncoderFromEncoderFolders(t *testing.T) {
	for _, c := range []struct {
		name     string
		spanMode string
		want     models.Architecture
		noPooler bool
	}{
		{"token", "token_level", models.BiEncoderToken, false},
		{"span, labels encoder without pooler", "markerV0", models.BiEncoderSpan, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			text, labels, textW, labelsW := biEncoderFolders(t, c.noPooler)
			r := DefaultRecipe()
			r.Model.ModelName, r.Model.SpanMode = text, c.spanMode
			r.Model.HiddenSize, r.Model.MaxWidth, r.Model.Dropout = 24, 4, 0
			r.Model.BiEncoder = &BiEncoderSection{LabelsEncoder: labels}
			r.Data.TrainData, r.Training.OutputDir = "train.jsonl", "out"
			if err := r.Validate(); err != nil {
				t.Fatal(err)
			}
			b, err := BuildModel(&r, nil)
			if err != nil {
				t.Fatal(err)
			}
			m := b.Model
			if m.Arch != c.want || b.Source != FromEncoder {
				t.Fatalf("architecture %v source %v, want %v from model_name", m.Arch, b.Source, c.want)
			}
			if m.Cfg.LabelsEncoder == nil || *m.Cfg.LabelsEncoder != labels || m.Cfg.ModelName != text {
				t.Fatalf("labels_encoder %v, model_name %q", m.Cfg.LabelsEncoder, m.Cfg.ModelName)
			}
			var lc map[string]any
			if err := json.Unmarshal(m.Cfg.LabelsEncoderConfig, &lc); err != nil || lc["model_type"] != "bert" || lc["vocab_size"] != 320.0 || lc["hidden_size"] != 32.0 {
				t.Fatalf("labels_encoder_config %v (%v)", lc, err)
			}
			if b.Tokenizer.VocabSize() != 323 || m.EncCfg.VocabSize != 323 || m.Cfg.ClassTokenIndex != 321 {
				t.Fatalf("text tokenizer %d, encoder vocab %d, class_token_index %d; want 323, 323, 321", b.Tokenizer.VocabSize(), m.EncCfg.VocabSize, m.Cfg.ClassTokenIndex)
			}
			if b.LabelsTokenizer == nil || b.LabelsTokenizer.VocabSize() != 320 {
				t.Fatalf("labels tokenizer %v", b.LabelsTokenizer)
			}
			if _, ok := b.LabelsTokenizer.TokenToID("<<ENT>>"); ok {
				t.Fatal("the labels tokenizer got GLiNER's tokens")
			}
			var nText, nLabels int
			for _, p := range m.Store.Params() {
				if key, ok := strings.CutPrefix(p.Name, models.LabelsEncoderPrefix+"."); ok {
					w, in := labelsW[key]
					switch {
					case !in && c.noPooler && strings.HasPrefix(key, "pooler."):
						if !strings.HasSuffix(key, "bias") && allZero(p.Data) {
							t.Fatalf("%s: the missing pooler is not initialised", p.Name)
						}
					case !in || !equalF32(p.Data, w):
						t.Fatalf("%s differs from the labels encoder folder (in folder %v)", p.Name, in)
					default:
						nLabels++
					}
					continue
				}
				if key, ok := strings.CutPrefix(p.Name, models.TextEncoderPrefix+"."); ok {
					w := textW[key]
					if key == wordEmbeddings {
						w = w[:320*32] // the first 320 rows; 3 new ones for GLiNER's tokens
						if p.Shape[0] != 323 || !equalF32(p.Data[:len(w)], w) {
							t.Fatalf("%s: shape %v or kept rows differ", p.Name, p.Shape)
						}
					} else if !equalF32(p.Data, w) {
						t.Fatalf("%s differs from the text encoder folder", p.Name)
					}
					nText++
					continue
				}
				if !strings.HasSuffix(p.Name, "bias") && allZero(p.Data) {
					t.Fatalf("head parameter %s not initialised", p.Name)
				}
			}
			wantLabels := len(labelsW)
			if nText != len(textW) || nLabels != wantLabels {
				t.Fatalf("%d text and %d labels encoder tensors loaded, want %d and %d", nText, nLabels, len(textW), wantLabels)
			}
			for _, proj := range []string{"token_rep_layer.projection.weight", "token_rep_layer.labels_projection.weight"} {
				if _, ok := m.Store.Get(proj); !ok {
					t.Fatalf("hidden_size 24 ≠ encoders' 32 but no %s", proj)
				}
			}
		})
	}
}

func allZero(x []float32) bool {
	for _, v := range x {
		if v != 0 {
			return false
		}
	}
	return true
}

// The other pairings: a Hugging Face text encoder with a random labels
// encoder (its vocabulary from the training words), a random text encoder
// with a Hugging Face labels encoder.
func TestBuildBiEncoderMixedSources(t *testing.T) {
	text, labels, _, labelsW := biEncoderFolders(t, false)
	words := [][]string{{"Bill", "Gates", "founded", "Microsoft"}, {"person"}, {"organization"}}

	r := DefaultRecipe()
	r.Model.ModelName, r.Model.SpanMode, r.Model.HiddenSize = text, "token_level", 32
	r.Model.BiEncoder = &BiEncoderSection{LabelsEncoderConfig: map[string]any{"model_type": "bert", "hidden_size": 16, "num_hidden_layers": 1,
		"num_attention_heads": 2, "intermediate_size": 32, "max_position_embeddings": 32, "type_vocab_size": 2}}
	r.Data.TrainData, r.Training.OutputDir = "train.jsonl", "out"
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	b, err := BuildModel(&r, words)
	if err != nil {
		t.Fatal(err)
	}
	if b.Model.Arch != models.BiEncoderToken || b.LabelsTokenizer == nil || b.Model.LabelsEncCfg.VocabSize != b.LabelsTokenizer.VocabSize() || b.Model.LabelsEncCfg.HiddenSize != 16 {
		t.Fatalf("%v, labels encoder %+v", b.Model.Arch, b.Model.LabelsEncCfg)
	}
	if id, ok := b.LabelsTokenizer.TokenToID("organization"); !ok || id < 5 {
		t.Fatalf("random labels vocabulary lacks the label word: %d %v", id, ok)
	}
	if *b.Model.Cfg.LabelsEncoder != "random-bert" {
		t.Fatalf("labels_encoder %q", *b.Model.Cfg.LabelsEncoder)
	}

	r2 := tinyRecipeFor(t, t.TempDir())
	r2.Model.BiEncoder = &BiEncoderSection{LabelsEncoder: labels}
	if err := r2.Validate(); err != nil {
		t.Fatal(err)
	}
	b2, err := BuildModel(r2, words)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := b2.Model.Store.Get(models.LabelsEncoderPrefix + ".encoder.layer.0.attention.self.query.weight")
	if b2.Model.Arch != models.BiEncoderSpan || b2.Source != FromRandomInit || p == nil || !equalF32(p.Data, labelsW["encoder.layer.0.attention.self.query.weight"]) {
		t.Fatalf("%v from %v: labels encoder weights not the folder's", b2.Model.Arch, b2.Source)
	}
}

func TestBiEncoderSourcesBadInput(t *testing.T) {
	text, labels, _, _ := biEncoderFolders(t, false)
	base := func() *Recipe {
		r := DefaultRecipe()
		r.Model.ModelName = text
		r.Model.BiEncoder = &BiEncoderSection{LabelsEncoder: labels}
		r.Data.TrainData, r.Training.OutputDir = "train.jsonl", "out"
		return &r
	}
	r := base()
	r.Model.BiEncoder.LabelsEncoderConfig = map[string]any{"model_type": "bert"}
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "set exactly one of labels_encoder") {
		t.Errorf("both labels encoder sources: %v", err)
	}
	r = base()
	r.Model.BiEncoder.LabelsEncoder = ""
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "set exactly one of labels_encoder") {
		t.Errorf("no labels encoder source: %v", err)
	}
	// --set switches one source for the other.
	r = base()
	if err := r.Set("model.bi_encoder.labels_encoder_config={model_type: bert, hidden_size: 16}"); err != nil || r.Model.BiEncoder.LabelsEncoder != "" {
		t.Fatalf("--set labels_encoder_config: %v, labels_encoder %q", err, r.Model.BiEncoder.LabelsEncoder)
	}
	if err := r.Set("model.bi_encoder.labels_encoder=" + labels); err != nil || r.Model.BiEncoder.LabelsEncoderConfig != nil {
		t.Fatalf("--set labels_encoder: %v, labels_encoder_config %v", err, r.Model.BiEncoder.LabelsEncoderConfig)
	}
	// A missing folder, and a folder whose tokenizer has more ids than the
	// labels encoder has embedding rows: errors name the folder.
	r = base()
	r.Model.BiEncoder.LabelsEncoder = filepath.Join(t.TempDir(), "nope")
	if _, err := BuildModel(r, nil); err == nil || !strings.Contains(err.Error(), "model.bi_encoder.labels_encoder") || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing folder: %v", err)
	}
	vocab, err := os.ReadFile(filepath.Join(labels, "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(labels, "vocab.txt"), append(vocab, []byte("extra1\nextra2\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	r = base()
	if _, err := BuildModel(r, nil); err == nil || !strings.Contains(err.Error(), labels) || !strings.Contains(err.Error(), "322 ids") {
		t.Errorf("tokenizer larger than the embeddings: %v", err)
	}
}

// BiEncoderToken and BiEncoderSpan train through Run from two Hugging Face
// encoder folders (token-level or span evaluation during training, best
// model, export with labels_tokenizer/), then continue from the exported
// GLiNER folder.
func TestRunBiEncoderFromEncoderFolders(t *testing.T) {
	for _, c := range []struct {
		spanMode string
		want     models.Architecture
	}{
		{"token_level", models.BiEncoderToken},
		{"markerV0", models.BiEncoderSpan},
	} {
		t.Run(c.spanMode, func(t *testing.T) {
			text, labels, _, _ := biEncoderFolders(t, false)
			r := tinyRecipeFor(t, filepath.Join(t.TempDir(), "run"))
			r.Model.ModelName, r.Model.EncoderConfig = text, nil
			r.Model.BiEncoder = &BiEncoderSection{LabelsEncoder: labels}
			// The fixture encoder has 64 positions: short windows.
			r.Model.SpanMode, r.Model.MaxLen = c.spanMode, 12
			// The fixture's weights are spread out (N(0, 1) embeddings):
			// small learning rates keep the gradients alive.
			r.Training.NumSteps, r.Training.EvalEvery = 20, 10
			r.Training.LREncoder, r.Training.LROthers = 1e-5, 1e-4
			if err := r.Validate(); err != nil {
				t.Fatal(err)
			}
			res, err := Run(context.Background(), r, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Source != FromEncoder || res.Train.Steps != 20 {
				t.Fatalf("source %v, %+v", res.Source, res.Train)
			}
			checkBiRun(t, res, c.want, labels)

			r2 := tinyRecipeFor(t, filepath.Join(t.TempDir(), "again"))
			r2.Model.PrevPath, r2.Model.EncoderConfig = res.FinalDir, nil
			r2.Model.MaxLen = 12
			r2.Training.NumSteps, r2.Training.EvalEvery = 4, 2
			r2.Training.LREncoder, r2.Training.LROthers = 1e-5, 1e-4
			res2, err := Run(context.Background(), r2, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res2.Source != FromGLiNER || res2.Train.Steps != 4 {
				t.Fatalf("continued run: source %v, %+v", res2.Source, res2.Train)
			}
			checkBiRun(t, res2, c.want, labels)
		})
	}
}

// checkBiRun checks a bi-encoder run from Hugging Face folders: final/
// holds a model of architecture want whose labels_tokenizer/ is the labels
// folder's vocabulary, and the run evaluated the dev set.
func checkBiRun(t *testing.T, res *Result, want models.Architecture, labels string) {
	t.Helper()
	m, err := models.Load(res.FinalDir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Arch != want || *m.Cfg.LabelsEncoder != labels {
		t.Fatalf("exported %v (labels_encoder %q), want %v from %s", m.Arch, *m.Cfg.LabelsEncoder, want, labels)
	}
	a, _ := os.ReadFile(filepath.Join(labels, "vocab.txt"))
	b, err := os.ReadFile(filepath.Join(res.FinalDir, models.LabelsTokenizerDir, "vocab.txt"))
	if err != nil || string(a) != string(b) {
		t.Fatalf("labels_tokenizer/vocab.txt is not the labels folder's (%v)", err)
	}
	if res.Dev == nil || res.Dev.Micro().Gold == 0 || math.IsNaN(res.Dev.Micro().F1) || res.Dev.Micro().F1 != res.Train.BestF1 {
		t.Fatalf("dev %+v, best %v", res.Dev, res.Train.BestF1)
	}
}
