package finetune_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gliner-go/gliner/finetune"
	"github.com/gliner-go/gliner/models"
)

// Fine-tune the sample recipe briefly (a shorter run, a smaller output
// folder) and load the exported model.
func ExampleRun() {
	out, _ := os.MkdirTemp("", "finetune-example")
	defer os.RemoveAll(out)
	root := "../" // the repository root, seen from this package's directory
	r, err := finetune.LoadRecipe(filepath.Join(root, "recipes/uni_span_sample.yaml"), []string{
		"data.train_data=" + filepath.Join(root, "testdata/sample/train.jsonl"),
		"data.val_data=" + filepath.Join(root, "testdata/sample/dev.jsonl"),
		"model.encoder_config.hidden_size=32", "model.encoder_config.intermediate_size=64", "model.hidden_size=32",
		"training.num_steps=20", "training.eval_every=10",
		"training.output_dir=" + out,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := finetune.Run(context.Background(), r, finetune.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := models.Load(res.FinalDir)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("steps:", res.Train.Steps, "from:", res.Source)
	fmt.Println("exported:", filepath.Base(res.FinalDir), m.Arch)
	fmt.Println("dev labels scored:", len(res.Dev.PerLabel()))
	// Output:
	// steps: 20 from: encoder_config
	// exported: final gliner_uni_encoder_span
	// dev labels scored: 6
}

// A recipe with an override, as `train --recipe R --set key=value` reads it.
func ExampleLoadRecipe() {
	r, err := finetune.LoadRecipe("../recipes/uni_span_deberta_v3.yaml", []string{"model.model_name=/models/deberta-v3-small"})
	if err != nil {
		fmt.Println(err)
		return
	}
	t := r.Training
	fmt.Println(r.Model.ModelName, r.Model.HiddenSize, t.NumSteps, t.LREncoder, t.LROthers, t.SchedulerType)
	_, err = finetune.LoadRecipe("../recipes/uni_span_deberta_v3.yaml", []string{"training.lr_encodr=1e-5"})
	fmt.Println(err != nil)
	// Output:
	// /models/deberta-v3-small 768 15000 1e-05 3e-05 cosine
	// true
}
