package encoder

import (
	"fmt"
	"sort"

	"github.com/gliner-go/gliner/checkpoints"
)

// hfWeights are the tensors of a Hugging Face folder's weights file by
// normalised key, and the file's keys that were ignored (task heads,
// buffers).
type hfWeights struct {
	Tensors map[string]*checkpoints.StateTensor
	Ignored []string
}

// readHFWeights reads model.safetensors (else pytorch_model.bin) of a
// Hugging Face folder and maps each of its keys through normalise, which
// returns the model's key for it or ignore=true. Two file keys normalised to
// the same key are an error naming the file, the key and sameKey (why they
// collide).
func readHFWeights(dir string, normalise func(key string) (norm string, ignore bool), sameKey string) (*hfWeights, error) {
	st, err := checkpoints.ReadFolderState(dir)
	if err != nil {
		return nil, err
	}
	w := &hfWeights{Tensors: map[string]*checkpoints.StateTensor{}}
	for _, n := range st.Names {
		key, ignore := normalise(n)
		if ignore {
			w.Ignored = append(w.Ignored, n)
			continue
		}
		if _, dup := w.Tensors[key]; dup {
			return nil, fmt.Errorf("%s: tensor %q %s", st.Path, key, sameKey)
		}
		w.Tensors[key] = st.Tensors[n]
	}
	return w, nil
}

// stateUnder returns tensors as a checkpoint state of path, each key under
// prefix (the model's place in a GLiNER model), names sorted.
func stateUnder(path, prefix string, tensors map[string]*checkpoints.StateTensor) *checkpoints.State {
	st := &checkpoints.State{Path: path, Tensors: map[string]*checkpoints.StateTensor{}}
	for k, t := range tensors {
		st.Names = append(st.Names, name(prefix, k))
		st.Tensors[name(prefix, k)] = t
	}
	sort.Strings(st.Names)
	return st
}
