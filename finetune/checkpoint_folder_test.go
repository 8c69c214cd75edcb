package finetune

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gliner-go/gliner/models"
)

// checkpoint-N/ and best/ held weights only, so gliner export, predict and
// model.prev_path refused them (issue 12 C3): they are model folders now,
// config and tokenizer beside the weights, as Hugging Face checkpoints.
func TestCheckpointsAreModelFolders(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	r := tinyRecipeFor(t, out)
	res, err := Run(context.Background(), r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	final, err := models.Load(res.FinalDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"checkpoint-30", "best"} {
		dir := filepath.Join(out, sub)
		for _, f := range []string{"gliner_config.json", "tokenizer_config.json", "model.safetensors"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("%s: %v", sub, err)
			}
		}
		m, err := models.Load(dir)
		if err != nil {
			t.Fatalf("%s: %v", sub, err)
		}
		if m.Arch != final.Arch || !slices.Equal(m.Store.Names(), final.Store.Names()) {
			t.Fatalf("%s: %v with %d tensors, final %v with %d", sub, m.Arch, len(m.Store.Names()), final.Arch, len(final.Store.Names()))
		}
		if _, err := LoadTokenizer(dir); err != nil {
			t.Errorf("%s: tokenizer: %v", sub, err)
		}
		// model.prev_path takes it and starts from its weights.
		r2 := tinyRecipeFor(t, filepath.Join(t.TempDir(), "next"))
		if err := r2.Set("model.prev_path=" + dir); err != nil {
			t.Fatal(err)
		}
		built, err := BuildModel(r2, nil)
		if err != nil {
			t.Fatalf("prev_path %s: %v", sub, err)
		}
		same := true
		for _, n := range m.Store.Names() {
			a, _ := m.Store.Get(n)
			b, _ := built.Model.Store.Get(n)
			same = same && slices.Equal(a.Data, b.Data)
		}
		if !same {
			t.Errorf("prev_path %s: the built model's weights are not the checkpoint's", sub)
		}
	}
	// final/ is exported from best/: the same weights.
	best, _ := models.Load(filepath.Join(out, "best"))
	for _, n := range final.Store.Names() {
		a, _ := final.Store.Get(n)
		b, _ := best.Store.Get(n)
		if !slices.Equal(a.Data, b.Data) {
			t.Fatalf("%s: best/ and final/ differ", n)
		}
	}
}
