package encoder

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/checkpoints"
)

// ParamNames lists the store names of the model's parameters in
// registration order (the tied lm_head is not a parameter of its own).
func (m *GPT2) ParamNames() []string {
	out := []string{m.wte, m.wpe}
	for _, b := range m.blocks {
		out = append(out, b.ln1.Weight, b.ln1.Bias, b.attnW, b.attnB, b.projW, b.projB,
			b.ln2.Weight, b.ln2.Bias, b.fcW, b.fcB, b.mlpW, b.mlpB)
	}
	out = append(out, m.lnF.Weight, m.lnF.Bias)
	if m.lmHead != m.wte {
		out = append(out, m.lmHead)
	}
	return out
}

// isGPT2Buffer reports the causal-mask buffers old GPT-2 checkpoints
// carry (h.{i}.attn.bias, h.{i}.attn.masked_bias); they are not
// parameters and are ignored on load.
func isGPT2Buffer(key string) bool {
	return strings.HasSuffix(key, ".attn.bias") || strings.HasSuffix(key, ".attn.masked_bias")
}

// LoadState copies the model's tensors from st, whose names are the full
// store names (Prefix + "." + reference key), into s. Tensors of st outside
// Prefix are not looked at. Under Prefix, loading is strict: every missing,
// unexpected or mis-shaped tensor is an error (a *checkpoints.MismatchError
// listing each), except the causal-mask buffers, which are ignored, and the
// tied lm_head.weight, which may be absent and, when present, must equal
// transformer.wte.weight exactly.
func (m *GPT2) LoadState(s *autograd.Store, st *checkpoints.State) error {
	pre := ""
	if m.Prefix != "" {
		pre = m.Prefix + "."
	}
	want := map[string][]int{}
	for _, n := range m.ParamNames() {
		p, ok := s.Get(n)
		if !ok {
			return fmt.Errorf("load gpt2 %s: parameter %q is not in the store", m.Prefix, n)
		}
		want[n] = p.Shape
	}
	have := map[string][]int{}
	tied := m.TiedHeadKey()
	for _, n := range st.Names {
		if !strings.HasPrefix(n, pre) || isGPT2Buffer(n) {
			continue
		}
		if n == tied {
			if err := checkTiedHead(st, n, m.wte); err != nil {
				return fmt.Errorf("load gpt2 %s: %w", st.Path, err)
			}
			continue
		}
		have[n] = st.Tensors[n].Shape
	}
	if err := checkpoints.CheckState(want, have, checkpoints.LoadOptions{}); err != nil {
		return fmt.Errorf("load gpt2 %s: %w", st.Path, err)
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	if err := st.CheckFinite(names); err != nil {
		return fmt.Errorf("load gpt2: %w", err)
	}
	for n := range want {
		data, err := st.Float32(n, want[n])
		if err != nil {
			return fmt.Errorf("load gpt2: %w", err)
		}
		p, _ := s.Get(n)
		copy(p.Data, data)
	}
	return nil
}

// checkTiedHead requires the file's lm_head tensor to equal its wte tensor.
func checkTiedHead(st *checkpoints.State, head, wte string) error {
	h, ok := st.Tensors[head]
	w, okW := st.Tensors[wte]
	if !ok || !okW {
		return fmt.Errorf("tied head %q needs %q in the same file", head, wte)
	}
	if !slices.Equal(h.Shape, w.Shape) || h.Data == nil || w.Data == nil || len(h.Data) != len(w.Data) {
		return fmt.Errorf("tied head %q has shape %v, %q has %v", head, h.Shape, wte, w.Shape)
	}
	for i := range h.Data {
		if h.Data[i] != w.Data[i] {
			return fmt.Errorf("tied head %q differs from %q at element %d (%g vs %g): tie_word_embeddings is true, so they must be one tensor", head, wte, i, h.Data[i], w.Data[i])
		}
	}
	return nil
}

// StateTensors returns the model's tensors under their reference names, as
// the reference's state dict holds them: every parameter and, when the
// head is tied, lm_head.weight as a second name for the wte values (the
// data is shared, not copied). Sorted by name.
func (m *GPT2) StateTensors(s *autograd.Store) ([]checkpoints.Tensor, error) {
	var out []checkpoints.Tensor
	for _, n := range m.ParamNames() {
		p, ok := s.Get(n)
		if !ok {
			return nil, fmt.Errorf("gpt2 %s: parameter %q is not in the store", m.Prefix, n)
		}
		out = append(out, checkpoints.Tensor{Name: n, Shape: p.Shape, Data: p.Data})
		if n == m.wte && m.TiedHeadKey() != "" {
			out = append(out, checkpoints.Tensor{Name: m.TiedHeadKey(), Shape: p.Shape, Data: p.Data})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// GPT2Pretrained is a Hugging Face GPT-2 folder read from disk.
type GPT2Pretrained struct {
	Dir    string
	Config *GPT2Config
	// Tensors are the weights by GPT2LMHeadModel key
	// ("transformer.wte.weight", "transformer.h.0.attn.c_attn.weight", …,
	// "lm_head.weight" if the file has it).
	Tensors map[string]*checkpoints.StateTensor
	// Ignored lists the file's causal-mask buffers.
	Ignored []string
}

// LoadGPT2Pretrained reads config.json and model.safetensors (else
// pytorch_model.bin) of a Hugging Face GPT-2 folder. Keys are normalised
// to GPT2LMHeadModel names: a GPT2Model checkpoint's "wte.weight",
// "h.0.…" gain the "transformer." prefix; lm_head.weight is kept when
// present (safetensors files saved by transformers usually omit it because
// it is tied).
func LoadGPT2Pretrained(dir string) (*GPT2Pretrained, error) {
	cfg, err := LoadGPT2Config(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("gpt2 folder %s: %w", dir, err)
	}
	w, err := readHFWeights(dir, func(n string) (string, bool) {
		if isGPT2Buffer(n) {
			return "", true
		}
		if !strings.HasPrefix(n, "transformer.") && n != "lm_head.weight" {
			return "transformer." + n, false
		}
		return n, false
	}, "appears both with and without the transformer. prefix")
	if err != nil {
		return nil, err
	}
	return &GPT2Pretrained{Dir: dir, Config: cfg, Tensors: w.Tensors, Ignored: w.Ignored}, nil
}

// State returns the weights as a checkpoint state under prefix (the
// decoder's place in a GLiNER model, "decoder.decoder_layer.model"), ready
// for GPT2.LoadState.
func (p *GPT2Pretrained) State(prefix string) *checkpoints.State {
	return stateUnder(p.Dir, prefix, p.Tensors)
}
