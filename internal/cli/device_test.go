package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/autograd/cuda"
)

// selftrain --device cuda is refused naming the flag (and the build tag in
// a binary without it) before the recipe is read.
func TestSelftrainDeviceFlag(t *testing.T) {
	var out, errb bytes.Buffer
	cmd := NewSelftrainCmd(&out, &errb)
	cmd.SetArgs([]string{"--recipe", "no-such-recipe.yaml", "--device", "cuda"})
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	err := cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), "--device: cuda:0") {
		t.Fatalf("selftrain --device cuda: %v", err)
	}
	if !cuda.Built && !strings.Contains(err.Error(), "-tags glcuda") {
		t.Fatalf("the error does not name the build flag: %v", err)
	}
}
