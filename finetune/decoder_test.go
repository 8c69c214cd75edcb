package finetune

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/internal/testutil"
	"github.com/gliner-go/gliner/models"
)

// recipes/span_decoder.yaml, shrunk, trains a span decoder from a random
// encoder and a random GPT-2 (n_embd ≠ hidden_size, so with _enc2dec_proj)
// on the sample data; the exported folder keeps decoder_tokenizer/,
// reloads as a span decoder and names the spans it finds.
func TestRunSpanDecoderRecipe(t *testing.T) {
	root := testutil.RepoRoot(t)
	r, err := LoadRecipe(filepath.Join(root, "recipes", "span_decoder.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "run")
	for _, s := range []string{
		"model.encoder_config.hidden_size=32", "model.encoder_config.num_hidden_layers=1",
		"model.encoder_config.intermediate_size=64", "model.hidden_size=32", "model.max_width=4",
		"training.num_steps=12", "training.eval_every=6", "training.train_batch_size=4", "training.log_every=0",
		"training.output_dir=" + out,
		"data.train_data=" + filepath.Join(root, "testdata/sample/train.jsonl"),
		"data.val_data=" + filepath.Join(root, "testdata/sample/dev.jsonl"),
		"model.decoder.tokenizer=" + filepath.Join(root, "testdata/decoder_tokenizer"),
	} {
		if err := r.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	r.Model.Decoder.Config["n_embd"] = 16
	r.Model.Decoder.Config["n_layer"] = 1
	res, err := Run(context.Background(), r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Train.Steps != 12 || res.Dev == nil {
		t.Fatalf("result %+v, dev %v", res.Train, res.Dev)
	}
	if _, err := os.Stat(filepath.Join(res.FinalDir, models.DecoderTokenizerDir, "vocab.json")); err != nil {
		t.Fatalf("exported folder has no decoder tokenizer: %v", err)
	}
	m, err := models.Load(res.FinalDir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Arch != models.UniEncoderSpanDecoder || m.Decoder() == nil {
		t.Fatalf("exported model is %v", m.Arch)
	}
	if _, ok := m.Store.Get("_enc2dec_proj.0.weight"); !ok {
		t.Fatal("no _enc2dec_proj for hidden_size 32, n_embd 16")
	}
	dtok, err := m.LoadDecoderTokenizer(res.FinalDir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := LoadTokenizer(res.FinalDir)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := LoadData(r)
	if err != nil {
		t.Fatal(err)
	}
	cc := collatorConfig(m, tok)
	col, err := data.NewCollator(cc, tok, dtok, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := col.Collate(ds.Dev[:4], data.CollateOptions{Labels: [][]string{ds.Labels}})
	if err != nil {
		t.Fatal(err)
	}
	o, err := m.Forward(b)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := m.GenerateLabels(b, o, models.GenerateOptions{Threshold: 0.01, MaxNewTokens: 4, Tokenizer: dtok})
	if err != nil {
		t.Fatal(err)
	}
	if len(gen.IDs) == 0 || len(gen.Text) != len(gen.IDs) {
		t.Fatalf("%d generated rows, %d texts", len(gen.IDs), len(gen.Text))
	}
}

// Bad decoder sections are errors naming the field.
func TestDecoderSectionErrors(t *testing.T) {
	root := testutil.RepoRoot(t)
	for _, c := range []struct{ set, want string }{
		{"model.decoder.path=" + filepath.Join(root, "testdata"), "exactly one of path"},
		{"model.decoder.decoder_mode=tokens", "decoder_mode"},
		{"model.decoder.blank_entity_prob=2", "blank_entity_prob"},
		{"model.decoder.tokenizer=none", "model.decoder.tokenizer is required"},
	} {
		r, err := LoadRecipe(filepath.Join(root, "recipes", "span_decoder.yaml"), []string{c.set})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.set, err, c.want)
		}
		_ = r
	}
	_, err := ParseRecipe([]byte("model:\n  decoder:\n    n_embd: 3\n"), "r.yaml")
	if err == nil || !strings.Contains(err.Error(), `unknown key "n_embd"`) {
		t.Errorf("unknown decoder key: %v", err)
	}
}

// gpt2Folder writes the decoder fixture's GPT-2 as a Hugging Face folder
// (config.json, model.safetensors, and the tokenizer files of tokDir).
func gpt2Folder(t *testing.T, tokDir string) string {
	t.Helper()
	fx := testutil.Fixture(t, "uni_span_decoder_deberta")
	dir := filepath.Join(t.TempDir(), "gpt2")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(fx, "labels_decoder_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := checkpoints.ReadState(filepath.Join(fx, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	var ts []checkpoints.Tensor
	for _, n := range st.Names {
		if k, ok := strings.CutPrefix(n, models.DecoderPrefix+"."); ok {
			ts = append(ts, checkpoints.Tensor{Name: k, Shape: st.Tensors[n].Shape, Data: st.Tensors[n].Data})
		}
	}
	if err := checkpoints.WriteSafetensors(filepath.Join(dir, "model.safetensors"), ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(tokDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(tokDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// model.decoder.path: a Hugging Face GPT-2 folder's weights become the
// decoder's; a tokenizer whose vocabulary does not fit those weights is an
// error naming its folder.
func TestBuildDecoderFromGPT2Folder(t *testing.T) {
	root := testutil.RepoRoot(t)
	fx := testutil.Fixture(t, "uni_span_decoder_deberta")
	r, err := LoadRecipe(filepath.Join(root, "recipes", "span_decoder.yaml"), []string{"model.encoder_config.hidden_size=32", "model.hidden_size=32"})
	if err != nil {
		t.Fatal(err)
	}
	words := [][]string{{"alice", "visited", "paris"}}
	dir := gpt2Folder(t, filepath.Join(fx, "decoder_tokenizer"))
	r.Model.Decoder.Config, r.Model.Decoder.Path, r.Model.Decoder.Tokenizer = nil, dir, ""
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	built, err := BuildModel(r, words)
	if err != nil {
		t.Fatal(err)
	}
	if built.Model.Arch != models.UniEncoderSpanDecoder || built.DecoderTokenizer == nil {
		t.Fatalf("built %v, decoder tokenizer %v", built.Model.Arch, built.DecoderTokenizer)
	}
	st, err := checkpoints.ReadState(filepath.Join(fx, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	name := models.DecoderPrefix + ".transformer.h.0.attn.c_attn.weight"
	p, _ := built.Model.Store.Get(name)
	for i, v := range st.Tensors[name].Data {
		if p.Data[i] != v {
			t.Fatalf("%s[%d] = %v, folder %v", name, i, p.Data[i], v)
		}
	}

	bad := gpt2Folder(t, filepath.Join(root, "testdata", "decoder_tokenizer")) // 298 ids for 270 rows
	r.Model.Decoder.Path = bad
	_, err = BuildModel(r, words)
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("mismatched decoder folder: %v", err)
	}
}
