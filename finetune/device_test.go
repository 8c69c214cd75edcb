package finetune

import (
	"context"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/autograd/cuda"
)

// training.device and training.precision are validated with the recipe:
// a bad value or bf16/fp16 without CUDA is an error naming the key.
func TestRecipeDeviceAndPrecision(t *testing.T) {
	for _, c := range []struct {
		sets []string
		want string
	}{
		{[]string{"training.device=tpu"}, "training.device: device \"tpu\""},
		{[]string{"training.device=cuda:x"}, "training.device: device \"cuda:x\""},
		{[]string{"training.precision=fp8"}, "training.precision: precision \"fp8\""},
		{[]string{"training.precision=bf16"}, "training.precision: bf16 needs a CUDA device"},
		{[]string{"training.device=cpu", "training.precision=fp16"}, "training.precision: fp16 needs a CUDA device"},
	} {
		r, err := ParseRecipe([]byte(minimalRecipe), "r.yaml")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range c.sets {
			if err := r.Set(s); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.sets, err, c.want)
		}
	}
	for _, sets := range [][]string{nil, {"training.device=cpu", "training.precision=fp32"}, {"training.device=cuda:1", "training.precision=bf16"}} {
		r, err := ParseRecipe([]byte(minimalRecipe), "r.yaml")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sets {
			if err := r.Set(s); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Validate(); err != nil {
			t.Errorf("%v: %v", sets, err)
		}
	}
}

// Run refuses a CUDA device before reading any data, naming the key: the
// build flag in a binary without -tags glcuda, otherwise the missing GPU or
// that models do not run on the device yet.
func TestRunRefusesCUDA(t *testing.T) {
	r, err := ParseRecipe([]byte(minimalRecipe), "r.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r.Training.OutputDir = t.TempDir()
	if err := r.Set("training.device=cuda"); err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), r, Options{})
	if err == nil || !strings.Contains(err.Error(), "training.device: cuda:0") {
		t.Fatalf("Run with training.device cuda: %v", err)
	}
	if !cuda.Built && !strings.Contains(err.Error(), "-tags glcuda") {
		t.Fatalf("the error does not name the build flag: %v", err)
	}
}
