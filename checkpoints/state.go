package checkpoints

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// State is a set of named tensors read from a checkpoint file.
type State struct {
	// Path is the file the state was read from.
	Path string
	// Names lists the tensor names, sorted.
	Names []string
	// Tensors maps each name to its tensor.
	Tensors map[string]*StateTensor
}

// StateTensor is one tensor of a State. Floating-point tensors (F32, F16,
// BF16, F64 in the file) have Data; integer and boolean tensors have Ints.
type StateTensor struct {
	Name  string
	DType DType // element type in the file
	Shape []int
	Data  []float32
	Ints  []int64
}

// Shapes returns every tensor's shape by name, the input CheckState takes.
func (s *State) Shapes() map[string][]int {
	m := make(map[string][]int, len(s.Tensors))
	for n, t := range s.Tensors {
		m[n] = t.Shape
	}
	return m
}

// Float32 returns a floating-point tensor's values, or an error naming the
// file and tensor when it is absent, integer-typed or not of shape want
// (want nil accepts any shape).
func (s *State) Float32(name string, want []int) ([]float32, error) {
	t, ok := s.Tensors[name]
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", s.Path, name)
	}
	if t.Data == nil && t.Ints != nil {
		return nil, fmt.Errorf("%s: tensor %q has integer dtype %s", s.Path, name, t.DType)
	}
	if want != nil && !slices.Equal(want, t.Shape) {
		return nil, fmt.Errorf("%s: tensor %q has shape %v, want %v", s.Path, name, t.Shape, want)
	}
	return t.Data, nil
}

// CheckFinite refuses NaN and infinite values in the named floating-point
// tensors (nil: all of them), as weights must hold: the error names the
// file, each bad tensor (up to three, then a count) and where its first bad
// value is. A model with such weights predicts nothing (every score NaN)
// without saying why.
func (s *State) CheckFinite(names []string) error {
	if names == nil {
		names = s.Names
	}
	var bad []string
	n := 0
	for _, name := range names {
		t, ok := s.Tensors[name]
		if !ok || t.Data == nil {
			continue
		}
		nan, inf, first := 0, 0, -1
		for i, v := range t.Data {
			switch {
			case v != v:
				nan++
			case math.IsInf(float64(v), 0):
				inf++
			default:
				continue
			}
			if first < 0 {
				first = i
			}
		}
		if first < 0 {
			continue
		}
		n++
		if len(bad) < 3 {
			bad = append(bad, fmt.Sprintf("tensor %q %v holds %d NaN and %d infinite values (the first at flat index %d, %v)",
				name, t.Shape, nan, inf, first, t.Data[first]))
		}
	}
	if n == 0 {
		return nil
	}
	msg := strings.Join(bad, "; ")
	if n > len(bad) {
		msg += fmt.Sprintf("; and %d more tensors", n-len(bad))
	}
	return fmt.Errorf("%s: %s: weights must be finite (a diverged training run or a corrupt file)", s.Path, msg)
}

// ReadState reads a checkpoint by extension: .safetensors, or .bin / .pt /
// .pth (torch.save). All tensors are converted (see State).
func ReadState(path string) (*State, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".safetensors":
		return readSafetensorsState(path)
	case ".bin", ".pt", ".pth":
		return ReadPyTorch(path)
	}
	return nil, fmt.Errorf("read checkpoint %s: unknown extension %q (want .safetensors, .bin, .pt or .pth)", path, filepath.Ext(path))
}

func readSafetensorsState(path string) (*State, error) {
	f, err := OpenSafetensors(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := &State{Path: path, Names: f.Names(), Tensors: make(map[string]*StateTensor, len(f.names))}
	for _, n := range s.Names {
		info, _ := f.Info(n)
		t := &StateTensor{Name: n, DType: info.DType, Shape: info.Shape}
		if info.DType.IsFloat() {
			t.Data, err = f.Float32(n)
		} else {
			t.Ints, err = f.Int64(n)
		}
		if err != nil {
			return nil, err
		}
		s.Tensors[n] = t
	}
	return s, nil
}

// WeightFileNames are the weight files of a GLiNER model folder, in the order
// the reference tries them.
var WeightFileNames = []string{"model.safetensors", "pytorch_model.bin"}

// WeightsFile returns the weights file of a model folder: model.safetensors
// if present, else pytorch_model.bin.
func WeightsFile(dir string) (string, error) {
	for _, n := range WeightFileNames {
		p := filepath.Join(dir, n)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("model folder %s holds no weights (looked for %s)", dir, strings.Join(WeightFileNames, ", "))
}

// ReadFolderState reads the weights file of a model folder (see
// WeightsFile); the state's Path is the file read.
func ReadFolderState(dir string) (*State, error) {
	wf, err := WeightsFile(dir)
	if err != nil {
		return nil, err
	}
	return ReadState(wf)
}

// LoadOptions relaxes CheckState.
type LoadOptions struct {
	// AllowMissing lists name prefixes whose tensors may be absent from the
	// file (e.g. the heads when starting from a bare encoder).
	AllowMissing []string
	// IgnoreUnexpected lists name prefixes of file tensors the model need
	// not have.
	IgnoreUnexpected []string
}

// ShapeMismatch is a tensor whose shape in the file differs from the model's.
type ShapeMismatch struct {
	Name       string
	Want, Have []int
}

// MismatchError lists every difference between a model's parameters and a
// checkpoint's tensors.
type MismatchError struct {
	Missing    []string // wanted, absent from the file
	Unexpected []string // in the file, not wanted
	Misshaped  []ShapeMismatch
}

func (e *MismatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "checkpoint does not match the model: %d missing, %d unexpected, %d mis-shaped tensors",
		len(e.Missing), len(e.Unexpected), len(e.Misshaped))
	for _, n := range e.Missing {
		fmt.Fprintf(&b, "\n  missing: %s", n)
	}
	for _, n := range e.Unexpected {
		fmt.Fprintf(&b, "\n  unexpected: %s", n)
	}
	for _, m := range e.Misshaped {
		fmt.Fprintf(&b, "\n  mis-shaped: %s: model wants %v, file has %v", m.Name, m.Want, m.Have)
	}
	return b.String()
}

// CheckState compares the shapes a model wants with those a checkpoint has.
// It returns nil when they match, else a *MismatchError listing, sorted by
// name, every missing (unless allowed), unexpected (unless ignored) and
// mis-shaped tensor.
func CheckState(want, have map[string][]int, opts LoadOptions) error {
	e := &MismatchError{}
	for n, ws := range want {
		hs, ok := have[n]
		switch {
		case !ok:
			if !hasPrefix(n, opts.AllowMissing) {
				e.Missing = append(e.Missing, n)
			}
		case !slices.Equal(ws, hs):
			e.Misshaped = append(e.Misshaped, ShapeMismatch{Name: n, Want: ws, Have: hs})
		}
	}
	for n := range have {
		if _, ok := want[n]; !ok && !hasPrefix(n, opts.IgnoreUnexpected) {
			e.Unexpected = append(e.Unexpected, n)
		}
	}
	if len(e.Missing)+len(e.Unexpected)+len(e.Misshaped) == 0 {
		return nil
	}
	sort.Strings(e.Missing)
	sort.Strings(e.Unexpected)
	sort.Slice(e.Misshaped, func(i, j int) bool { return e.Misshaped[i].Name < e.Misshaped[j].Name })
	return e
}

func hasPrefix(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// FloatTensors returns the state's tensors, in name order, ready for
// WriteSafetensors. Integer tensors are an error naming the tensor (the
// writer stores floating-point values only).
func (s *State) FloatTensors() ([]Tensor, error) {
	out := make([]Tensor, 0, len(s.Names))
	for _, n := range s.Names {
		t := s.Tensors[n]
		if !t.DType.IsFloat() {
			return nil, fmt.Errorf("%s: tensor %q has integer dtype %s", s.Path, n, t.DType)
		}
		out = append(out, Tensor{Name: n, Shape: t.Shape, Data: t.Data})
	}
	return out, nil
}
