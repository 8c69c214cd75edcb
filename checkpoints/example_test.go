package checkpoints_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/gliner-go/gliner/checkpoints"
)

// Write two tensors to a safetensors file and read them back.
func Example() {
	dir, err := os.MkdirTemp("", "ckpt")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")

	err = checkpoints.WriteSafetensors(path, []checkpoints.Tensor{
		{Name: "scorer.proj.weight", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		{Name: "scorer.proj.bias", Shape: []int{2}, Data: []float32{0.5, -0.5}},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}

	f, err := checkpoints.OpenSafetensors(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	fmt.Println(f.Metadata())
	for _, name := range f.Names() {
		info, _ := f.Info(name)
		w := make([]float32, info.Numel())
		if err := f.ReadFloat32(name, w); err != nil {
			log.Fatal(err)
		}
		fmt.Println(name, info.DType, info.Shape, w)
	}
	// Output:
	// map[format:pt]
	// scorer.proj.bias F32 [2] [0.5 -0.5]
	// scorer.proj.weight F32 [2 3] [1 2 3 4 5 6]
}

// ReadState reads .safetensors and torch.save files alike; CheckState then
// lists every difference from the shapes a model expects.
func ExampleCheckState() {
	dir, err := os.MkdirTemp("", "ckpt")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")
	err = checkpoints.WriteSafetensors(path, []checkpoints.Tensor{
		{Name: "encoder.weight", Shape: []int{2, 2}, Data: []float32{1, 0, 0, 1}},
		{Name: "encoder.pooler", Shape: []int{1}, Data: []float32{0}},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	state, err := checkpoints.ReadState(path)
	if err != nil {
		log.Fatal(err)
	}
	want := map[string][]int{
		"encoder.weight": {2, 3},
		"head.weight":    {4, 2},
	}
	err = checkpoints.CheckState(want, state.Shapes(), checkpoints.LoadOptions{})
	fmt.Println(err)

	// Starting from a bare encoder: the head may be missing, the pooler is ignored.
	err = checkpoints.CheckState(map[string][]int{"encoder.weight": {2, 2}, "head.weight": {4, 2}}, state.Shapes(),
		checkpoints.LoadOptions{AllowMissing: []string{"head."}, IgnoreUnexpected: []string{"encoder.pooler"}})
	fmt.Println(err)
	// Output:
	// checkpoint does not match the model: 1 missing, 1 unexpected, 1 mis-shaped tensors
	//   missing: head.weight
	//   unexpected: encoder.pooler
	//   mis-shaped: encoder.weight: model wants [2 3], file has [2 2]
	// <nil>
}
