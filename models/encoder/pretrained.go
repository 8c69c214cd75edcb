package encoder

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"

	"github.com/gliner-go/gliner/checkpoints"
)

// headPrefixes are the task heads and wrappers found in Hugging Face
// checkpoints of these encoders (masked-LM heads, the pooler of
// DeBERTa-v2 MLM checkpoints); a bare encoder ignores them.
var headPrefixes = []string{"lm_predictions.", "mask_predictions.", "cls.", "lm_head.", "pooler.", "classifier.", "qa_outputs."}

// wrapperPrefixes are stripped from checkpoint keys ("deberta.embeddings…"
// in a DebertaV2ForMaskedLM checkpoint is "embeddings…" of the bare model).
var wrapperPrefixes = []string{"deberta.", "bert.", "model."}

// Pretrained is a Hugging Face encoder folder read from disk.
type Pretrained struct {
	Dir    string
	Config *Config
	// Tensors are the encoder's weights by bare-model key
	// ("embeddings.word_embeddings.weight", "encoder.layer.0…").
	Tensors map[string]*checkpoints.StateTensor
	// Ignored lists the checkpoint keys that belong to task heads.
	Ignored []string
}

// LoadPretrained reads config.json and model.safetensors (else
// pytorch_model.bin) of a Hugging Face encoder folder, normalising the
// keys to the bare model's names.
func LoadPretrained(dir string) (*Pretrained, error) {
	cfg, err := LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("encoder folder %s: %w", dir, err)
	}
	w, err := readHFWeights(dir, func(n string) (string, bool) {
		key := n
		for _, wp := range wrapperPrefixes {
			if strings.HasPrefix(key, wp) {
				key = strings.TrimPrefix(key, wp)
				break
			}
		}
		head := false
		for _, h := range headPrefixes {
			if strings.HasPrefix(key, h) && !(cfg.Type() == BERT && h == "pooler.") {
				head = true
			}
		}
		// Non-persistent buffers some checkpoints carry.
		return key, strings.HasSuffix(key, "position_ids") || head
	}, "appears twice after removing wrapper prefixes")
	if err != nil {
		return nil, err
	}
	return &Pretrained{Dir: dir, Config: cfg, Tensors: w.Tensors, Ignored: w.Ignored}, nil
}

// State returns the weights as a checkpoint state under prefix (the
// encoder's place in a GLiNER model), names sorted.
func (p *Pretrained) State(prefix string) *checkpoints.State {
	return stateUnder(p.Dir, prefix, p.Tensors)
}

// ResizeRows returns a (newRows, dim) copy of an embedding matrix
// (oldRows, dim) as transformers' resize_token_embeddings makes it: the
// first min(oldRows, newRows) rows are kept (so the matrix may shrink, as
// it does for DeBERTa-v3's 128100 rows), new rows are drawn from
// N(0, std²).
func ResizeRows(w []float32, oldRows, newRows, dim int, std float64, rng *rand.Rand) ([]float32, error) {
	if len(w) != oldRows*dim || newRows <= 0 {
		return nil, fmt.Errorf("resize embeddings: %d values for %d×%d, new rows %d", len(w), oldRows, dim, newRows)
	}
	out := make([]float32, newRows*dim)
	keep := min(oldRows, newRows)
	copy(out, w[:keep*dim])
	for i := keep * dim; i < len(out); i++ {
		out[i] = float32(rng.NormFloat64() * std)
	}
	return out, nil
}
