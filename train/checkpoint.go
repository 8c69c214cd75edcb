package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/decode"
)

// Files of a checkpoint directory (checkpoint-<step>/).
const (
	WeightsFile      = "model.safetensors"     // parameters by reference key, F32
	OptimizerFile    = "optimizer.safetensors" // "<param>.exp_avg", "<param>.exp_avg_sq"
	TrainerStateFile = "trainer_state.json"    // trainerState
	checkpointPrefix = "checkpoint-"
	tmpPrefix        = ".tmp-"
	bestDir          = "best"
)

// trainerState is trainer_state.json: the loop's progress, the optimizer's
// step counts, the random stream and the components' states.
type trainerState struct {
	Format    int               `json:"format"`
	State     state             `json:"state"`
	AdamSteps map[string]int64  `json:"adam_steps"`
	RNG       []byte            `json:"rng"`
	States    map[string][]byte `json:"states"`
}

const stateFormat = 1

// CheckpointDir is the directory name of the checkpoint after step steps.
func CheckpointDir(outputDir string, step int) string {
	return filepath.Join(outputDir, checkpointPrefix+strconv.Itoa(step))
}

// Checkpoints lists outputDir's complete checkpoint directories by step,
// ascending. Unfinished ones (temporary names) are not listed.
func Checkpoints(outputDir string) ([]string, []int, error) {
	ents, err := os.ReadDir(outputDir)
	if err != nil {
		return nil, nil, fmt.Errorf("list checkpoints in %s: %w", outputDir, err)
	}
	type ck struct {
		dir  string
		step int
	}
	var cks []ck
	for _, e := range ents {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, checkpointPrefix) {
			continue
		}
		n, err := strconv.Atoi(strings.TrimPrefix(name, checkpointPrefix))
		if err != nil || n < 0 {
			continue
		}
		cks = append(cks, ck{filepath.Join(outputDir, name), n})
	}
	sort.Slice(cks, func(i, j int) bool { return cks[i].step < cks[j].step })
	dirs, steps := make([]string, len(cks)), make([]int, len(cks))
	for i, c := range cks {
		dirs[i], steps[i] = c.dir, c.step
	}
	return dirs, steps, nil
}

// LatestCheckpoint returns the checkpoint of outputDir with the most steps,
// or "" when there is none.
func LatestCheckpoint(outputDir string) (string, error) {
	dirs, _, err := Checkpoints(outputDir)
	if err != nil || len(dirs) == 0 {
		return "", err
	}
	return dirs[len(dirs)-1], nil
}

func prepareOutputDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	// Remove what a killed run left half-written.
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), tmpPrefix) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("remove unfinished %s: %w", e.Name(), err)
			}
		}
	}
	return nil
}

// writeDirAtomic fills a temporary directory next to final with fill, then
// renames it to final (replacing an existing one).
func writeDirAtomic(final string, fill func(dir string) error) error {
	parent, base := filepath.Split(final)
	tmp, err := os.MkdirTemp(parent, tmpPrefix+base+"-")
	if err != nil {
		return err
	}
	if err := fill(tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if _, err := os.Stat(final); err == nil {
		old := filepath.Join(parent, tmpPrefix+"old-"+base)
		os.RemoveAll(old)
		if err := os.Rename(final, old); err != nil {
			os.RemoveAll(tmp)
			return err
		}
		defer os.RemoveAll(old)
	}
	if err := os.Rename(tmp, final); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if d, err := os.Open(parent); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

func weightTensors(store *autograd.Store) []checkpoints.Tensor {
	ps := store.Params()
	out := make([]checkpoints.Tensor, len(ps))
	for i, p := range ps {
		out[i] = checkpoints.Tensor{Name: p.Name, Shape: p.Shape, Data: p.Data}
	}
	return out
}

// saveCheckpoint writes checkpoint-<step> atomically and rotates old ones.
func saveCheckpoint(cfg Config, st *state, store *autograd.Store, opt *AdamW, pcg *rand.PCG, states map[string]Stateful) (string, error) {
	ts := trainerState{Format: stateFormat, State: *st, AdamSteps: map[string]int64{}, States: map[string][]byte{}}
	var moments []checkpoints.Tensor
	for _, g := range opt.Groups {
		for _, p := range g.Params {
			ps := opt.state[p]
			if ps == nil {
				continue
			}
			ts.AdamSteps[p.Name] = ps.Step
			moments = append(moments,
				checkpoints.Tensor{Name: p.Name + ".exp_avg", Shape: p.Shape, Data: ps.ExpAvg},
				checkpoints.Tensor{Name: p.Name + ".exp_avg_sq", Shape: p.Shape, Data: ps.ExpAvgSq})
		}
	}
	var err error
	if ts.RNG, err = pcg.MarshalBinary(); err != nil {
		return "", fmt.Errorf("save rng: %w", err)
	}
	for k, s := range states {
		if ts.States[k], err = s.MarshalState(); err != nil {
			return "", fmt.Errorf("save state of %q: %w", k, err)
		}
	}
	final := CheckpointDir(cfg.OutputDir, st.Step)
	err = writeDirAtomic(final, func(dir string) error {
		if err := checkpoints.WriteSafetensors(filepath.Join(dir, WeightsFile), weightTensors(store), nil); err != nil {
			return err
		}
		if err := checkpoints.WriteSafetensors(filepath.Join(dir, OptimizerFile), moments, nil); err != nil {
			return err
		}
		if cfg.ModelFiles != nil {
			if err := cfg.ModelFiles(dir); err != nil {
				return err
			}
		}
		return writeJSON(filepath.Join(dir, TrainerStateFile), ts)
	})
	if err != nil {
		return "", fmt.Errorf("save checkpoint %s: %w", final, err)
	}
	if err := rotate(cfg.OutputDir, cfg.SaveTotalLimit, st); err != nil {
		return final, err
	}
	return final, nil
}

func writeJSON(path string, v any) error {
	return checkpoints.WriteFileAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

// rotate deletes all but the last limit checkpoints, sparing the best one.
func rotate(outputDir string, limit int, st *state) error {
	if limit <= 0 {
		return nil
	}
	dirs, steps, err := Checkpoints(outputDir)
	if err != nil {
		return err
	}
	for i := 0; i < len(dirs)-limit; i++ {
		if st.HasBest && steps[i] == st.BestStep {
			continue
		}
		if err := os.RemoveAll(dirs[i]); err != nil {
			return fmt.Errorf("rotate checkpoints: %w", err)
		}
	}
	return nil
}

// saveBest writes OutputDir/best: the weights (with cfg.ModelFiles) and the
// scores that made them the best.
func saveBest(cfg Config, store *autograd.Store, st *state, micro decode.Score) error {
	err := writeDirAtomic(filepath.Join(cfg.OutputDir, bestDir), func(dir string) error {
		if err := checkpoints.WriteSafetensors(filepath.Join(dir, WeightsFile), weightTensors(store), nil); err != nil {
			return err
		}
		if cfg.ModelFiles != nil {
			if err := cfg.ModelFiles(dir); err != nil {
				return err
			}
		}
		return writeJSON(filepath.Join(dir, "best.json"), map[string]any{"step": st.Step, "epoch": st.Epoch,
			"precision": micro.Precision, "recall": micro.Recall, "f1": micro.F1})
	})
	if err != nil {
		return fmt.Errorf("save best model: %w", err)
	}
	return nil
}

// LoadWeights reads dir/model.safetensors (a checkpoint or best/) into
// store strictly: every missing, unexpected or mis-shaped tensor is an
// error.
func LoadWeights(dir string, store *autograd.Store) error {
	path := filepath.Join(dir, WeightsFile)
	s, err := checkpoints.ReadState(path)
	if err != nil {
		return err
	}
	if err := checkpoints.CheckState(store.Shapes(), s.Shapes(), checkpoints.LoadOptions{}); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := s.CheckFinite(store.Names()); err != nil {
		return fmt.Errorf("load weights: %w", err)
	}
	for _, p := range store.Params() {
		d, err := s.Float32(p.Name, p.Shape)
		if err != nil {
			return err
		}
		copy(p.Data, d)
	}
	return nil
}

// loadCheckpoint restores weights, optimizer, random stream, components
// and the loop state from dir.
func loadCheckpoint(dir string, store *autograd.Store, opt *AdamW, pcg *rand.PCG, states map[string]Stateful) (state, error) {
	statePath := filepath.Join(dir, TrainerStateFile)
	raw, err := os.ReadFile(statePath)
	if err != nil {
		return state{}, err
	}
	var ts trainerState
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ts); err != nil {
		return state{}, fmt.Errorf("%s: %w", statePath, err)
	}
	if ts.Format != stateFormat {
		return state{}, fmt.Errorf("%s: format %d, want %d", statePath, ts.Format, stateFormat)
	}
	if err := LoadWeights(dir, store); err != nil {
		return state{}, err
	}
	inOpt := map[string]*autograd.Param{}
	for _, g := range opt.Groups {
		for _, p := range g.Params {
			inOpt[p.Name] = p
		}
	}
	momPath := filepath.Join(dir, OptimizerFile)
	mom, err := checkpoints.ReadState(momPath)
	if err != nil {
		return state{}, err
	}
	want := map[string][]int{}
	for name, steps := range ts.AdamSteps {
		p := inOpt[name]
		if p == nil {
			return state{}, fmt.Errorf("%s: optimizer state for %q, which is not a trainable parameter", statePath, name)
		}
		if steps < 1 {
			return state{}, fmt.Errorf("%s: parameter %q has %d optimizer steps", statePath, name, steps)
		}
		want[name+".exp_avg"], want[name+".exp_avg_sq"] = p.Shape, p.Shape
	}
	if err := checkpoints.CheckState(want, mom.Shapes(), checkpoints.LoadOptions{}); err != nil {
		return state{}, fmt.Errorf("%s: %w", momPath, err)
	}
	clear(opt.state)
	for name, steps := range ts.AdamSteps {
		p := inOpt[name]
		m, err := mom.Float32(name+".exp_avg", p.Shape)
		if err != nil {
			return state{}, err
		}
		v, err := mom.Float32(name+".exp_avg_sq", p.Shape)
		if err != nil {
			return state{}, err
		}
		opt.state[p] = &ParamState{Step: steps, ExpAvg: append([]float32(nil), m...), ExpAvgSq: append([]float32(nil), v...)}
	}
	if err := pcg.UnmarshalBinary(ts.RNG); err != nil {
		return state{}, fmt.Errorf("%s: rng: %w", statePath, err)
	}
	for k, s := range states {
		b, ok := ts.States[k]
		if !ok {
			return state{}, fmt.Errorf("%s: no saved state for component %q", statePath, k)
		}
		if err := s.UnmarshalState(b); err != nil {
			return state{}, fmt.Errorf("%s: state of %q: %w", statePath, k, err)
		}
	}
	for k := range ts.States {
		if _, ok := states[k]; !ok {
			return state{}, fmt.Errorf("%s: saved state for component %q, which this run does not have", statePath, k)
		}
	}
	return ts.State, nil
}
