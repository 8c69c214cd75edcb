package finetune_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gliner-go/gliner/finetune"
	"github.com/gliner-go/gliner/models"
)

// Run the two-stage bi-encoder recipe briefly: stage 1 on the weakly
// labelled set, stage 2 on the clean one from stage 1's best model with
// the labels encoder frozen.
func ExampleRunStages() {
	out, _ := os.MkdirTemp("", "stages-example")
	defer os.RemoveAll(out)
	root := "../" // the repository root, seen from this package's directory
	r, err := finetune.LoadRecipe(filepath.Join(root, "recipes/bi_encoder_two_stage.yaml"), []string{
		"data.val_data=" + filepath.Join(root, "testdata/sample/dev.jsonl"),
		"data.train_data=" + filepath.Join(root, "testdata/sample/train_weak.jsonl"),
		"training.eval_every=5", "training.output_dir=" + out,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := range r.Stages {
		r.Stages[i].TrainData = filepath.Join(root, r.Stages[i].TrainData)
		r.Stages[i].NumSteps = 10
	}
	res, err := finetune.RunStages(context.Background(), r, finetune.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, st := range res {
		m, err := models.Load(st.FinalDir)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(st.Name, st.Train.Steps, m.Arch, st.Dev != nil)
	}
	// Output:
	// stage1_weak 10 gliner_bi_encoder_span true
	// stage2_clean 10 gliner_bi_encoder_span true
}
