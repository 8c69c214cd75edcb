package cuda

import (
	"errors"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/autograd"
)

func TestParseDevice(t *testing.T) {
	for in, want := range map[string]Placement{"": {}, "cpu": {}, " cpu ": {}, "cuda": {CUDA: true},
		"cuda:0": {CUDA: true}, "cuda:3": {CUDA: true, Ordinal: 3}} {
		got, err := ParseDevice(in)
		if err != nil || got != want {
			t.Errorf("ParseDevice(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"gpu", "cuda:", "cuda:-1", "cuda:x", "CPU", "cuda0"} {
		if _, err := ParseDevice(in); err == nil || !strings.Contains(err.Error(), "cpu, cuda, cuda:N") {
			t.Errorf("ParseDevice(%q): error %v does not list the valid settings", in, err)
		}
	}
	if s := (Placement{CUDA: true, Ordinal: 2}).String(); s != "cuda:2" {
		t.Errorf("String = %q", s)
	}
}

func TestCheckSettings(t *testing.T) {
	if _, pr, err := CheckSettings("training.device", "cuda:1", "training.precision", "bf16"); err != nil || pr != BF16 {
		t.Fatalf("cuda:1 bf16: %v, %v", pr, err)
	}
	if _, pr, err := CheckSettings("training.device", "", "training.precision", ""); err != nil || pr != FP32 {
		t.Fatalf("defaults: %v, %v", pr, err)
	}
	_, _, err := CheckSettings("training.device", "cpu", "training.precision", "fp16")
	if err == nil || !strings.Contains(err.Error(), "training.precision") || !strings.Contains(err.Error(), "training.device: cuda") {
		t.Fatalf("fp16 on the CPU: %v", err)
	}
	_, _, err = CheckSettings("training.device", "cpu", "training.precision", "fp8")
	if err == nil || !strings.Contains(err.Error(), "training.precision") || !strings.Contains(err.Error(), "fp32, bf16, fp16") {
		t.Fatalf("fp8: %v", err)
	}
	_, _, err = CheckSettings("training.device", "tpu", "training.precision", "fp32")
	if err == nil || !strings.HasPrefix(err.Error(), "training.device: ") {
		t.Fatalf("tpu: %v", err)
	}
}

// Select gives the CPU backend for cpu, and for cuda an error naming the
// setting: the build flag without the tag; otherwise the missing device or
// ErrNotWired.
func TestSelect(t *testing.T) {
	be, err := Select("--device", "cpu")
	if err != nil || be != autograd.CPU {
		t.Fatalf("cpu: %v, %v", be, err)
	}
	_, err = Select("--device", "cuda:0")
	if err == nil || !strings.HasPrefix(err.Error(), "--device: cuda:0") {
		t.Fatalf("cuda:0: %v", err)
	}
	if !Built {
		if !strings.Contains(err.Error(), "-tags glcuda") {
			t.Fatalf("without the tag the error does not name the build flag: %v", err)
		}
		return
	}
	if !errors.Is(err, ErrNotWired) && !strings.Contains(err.Error(), "no usable CUDA device") {
		t.Fatalf("with the tag: %v", err)
	}
}
