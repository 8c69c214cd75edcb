package cuda

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gliner-go/gliner/autograd"
)

// Placement is a parsed device setting: the CPU, or CUDA device Ordinal.
type Placement struct {
	CUDA    bool
	Ordinal int
}

func (p Placement) String() string {
	if !p.CUDA {
		return "cpu"
	}
	return fmt.Sprintf("cuda:%d", p.Ordinal)
}

// ParseDevice parses a device setting: "cpu" (also the empty string, the
// default), "cuda" (device 0) or "cuda:N".
func ParseDevice(s string) (Placement, error) {
	switch v := strings.TrimSpace(s); {
	case v == "" || v == "cpu":
		return Placement{}, nil
	case v == "cuda":
		return Placement{CUDA: true}, nil
	case strings.HasPrefix(v, "cuda:"):
		n, err := strconv.Atoi(v[len("cuda:"):])
		if err != nil || n < 0 {
			return Placement{}, fmt.Errorf("device %q: the ordinal after cuda: must be an integer ≥ 0 (valid: cpu, cuda, cuda:N)", s)
		}
		return Placement{CUDA: true, Ordinal: n}, nil
	}
	return Placement{}, fmt.Errorf("device %q is not one of cpu, cuda, cuda:N", s)
}

// Precision is the arithmetic of a training run.
type Precision int

// The precisions a recipe can ask for. FP32 is the default and the only
// one the CPU runs; BF16 and FP16 are for CUDA devices (fp32 master
// weights; FP16 with dynamic loss scaling).
const (
	FP32 Precision = iota
	BF16
	FP16
)

func (p Precision) String() string {
	switch p {
	case BF16:
		return "bf16"
	case FP16:
		return "fp16"
	}
	return "fp32"
}

// ParsePrecision parses fp32 (also the empty string), bf16 or fp16.
func ParsePrecision(s string) (Precision, error) {
	switch strings.TrimSpace(s) {
	case "", "fp32":
		return FP32, nil
	case "bf16":
		return BF16, nil
	case "fp16":
		return FP16, nil
	}
	return FP32, fmt.Errorf("precision %q is not one of fp32, bf16, fp16", s)
}

// CheckSettings validates a device and a precision setting together
// without touching any device: both must parse, and bf16/fp16 need a CUDA
// device. deviceKey and precisionKey name the settings in errors
// ("training.device", "--device").
func CheckSettings(deviceKey, device, precisionKey, precision string) (Placement, Precision, error) {
	pl, err := ParseDevice(device)
	if err != nil {
		return Placement{}, FP32, fmt.Errorf("%s: %w", deviceKey, err)
	}
	pr, err := ParsePrecision(precision)
	if err != nil {
		return Placement{}, FP32, fmt.Errorf("%s: %w", precisionKey, err)
	}
	if pr != FP32 && !pl.CUDA {
		return Placement{}, FP32, fmt.Errorf("%s: %s needs a CUDA device (%s: cuda or cuda:N); the CPU trains in fp32 only", precisionKey, pr, deviceKey)
	}
	return pl, pr, nil
}

// ErrNotWired is returned (wrapped) by Select for a usable CUDA device:
// the engine keeps a model's parameters, gradients and optimizer state on
// a device backend (models.Model.Place) and the span architectures' kernels
// all have device versions, but they have never run on a GPU, the token
// architectures lack the token scorer and loss (DeviceKernels lists the
// kernels there are), and the recipes' and commands' device settings are
// not wired to Model.Place yet.
var ErrNotWired = fmt.Errorf("running models on a CUDA device is not supported yet: the engine keeps parameters on the device and the span architectures' kernels have CUDA versions, but they are untested on a GPU, the token architectures lack the token scorer and loss (autograd/cuda DeviceKernels lists the kernels there are), and this setting is not wired to the device yet")

// Select returns the backend for a device setting, key naming the setting
// in errors ("training.device", "--device"). "cpu" is autograd.CPU. For
// CUDA it says why it cannot run: a binary built without -tags glcuda, a
// machine without a usable device, or (ErrNotWired) a usable device the
// models cannot run on yet.
func Select(key, device string) (autograd.Backend, error) {
	pl, err := ParseDevice(device)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	if !pl.CUDA {
		return autograd.CPU, nil
	}
	if !Built {
		return nil, fmt.Errorf("%s: %s needs a binary built with CUDA support (go build -tags glcuda ./...); this one was built without it: use %s cpu", key, pl, key)
	}
	if err := probe(pl.Ordinal); err != nil {
		return nil, fmt.Errorf("%s: %s: no usable CUDA device: %w", key, pl, err)
	}
	return nil, fmt.Errorf("%s: %s: %w", key, pl, ErrNotWired)
}
