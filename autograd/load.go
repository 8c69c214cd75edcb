package autograd

import (
	"fmt"
	"sort"

	"github.com/gliner-go/gliner/checkpoints"
)

// LoadState copies a checkpoint's tensors into the store. name maps a
// store name to the checkpoint's name for it (nil: identical). Loading is
// strict: every missing, unexpected and mis-shaped tensor is reported in
// one *checkpoints.MismatchError, except what opts allows. Tensors allowed
// to be missing keep their current values.
func (s *Store) LoadState(st *checkpoints.State, name func(string) string, opts checkpoints.LoadOptions) error {
	if name == nil {
		name = func(n string) string { return n }
	}
	want := make(map[string][]int, len(s.params))
	byFile := make(map[string]*Param, len(s.params))
	for _, p := range s.params {
		fn := name(p.Name)
		want[fn] = p.Shape
		byFile[fn] = p
	}
	if err := checkpoints.CheckState(want, st.Shapes(), opts); err != nil {
		return fmt.Errorf("load %s: %w", st.Path, err)
	}
	loaded := make([]string, 0, len(byFile))
	for fn := range byFile {
		if _, ok := st.Tensors[fn]; ok {
			loaded = append(loaded, fn)
		}
	}
	sort.Strings(loaded)
	if err := st.CheckFinite(loaded); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	for fn, p := range byFile {
		t, ok := st.Tensors[fn]
		if !ok {
			continue
		}
		if t.Data == nil {
			return fmt.Errorf("load %s: tensor %q has integer dtype %s", st.Path, fn, t.DType)
		}
		copy(p.Data, t.Data)
	}
	return nil
}

// State returns the store's parameters as checkpoint tensors (sharing
// their data), named by name (nil: identical), sorted.
func (s *Store) State(name func(string) string) []checkpoints.Tensor {
	if name == nil {
		name = func(n string) string { return n }
	}
	out := make([]checkpoints.Tensor, 0, len(s.params))
	for _, n := range s.Names() {
		p := s.byName[n]
		out = append(out, checkpoints.Tensor{Name: name(n), Shape: p.Shape, Data: p.Data})
	}
	return out
}
