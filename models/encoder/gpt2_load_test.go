package encoder

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/checkpoints"
)

// A Hugging Face GPT2Model-style folder (keys without "transformer.", the
// old causal-mask buffers, no lm_head) made from the fixture's decoder
// loads into the same values, and StateTensors round-trips the
// reference's keys, lm_head included.
func TestGPT2LoadPretrainedFolder(t *testing.T) {
	f := loadDecoderFixture(t)
	var tensors []checkpoints.Tensor
	for _, n := range f.st.Names {
		k, ok := strings.CutPrefix(n, decoderPrefix+".transformer.")
		if !ok {
			continue
		}
		tensors = append(tensors, checkpoints.Tensor{Name: k, Shape: f.st.Tensors[n].Shape, Data: f.st.Tensors[n].Data})
	}
	tensors = append(tensors,
		checkpoints.Tensor{Name: "h.0.attn.bias", Shape: []int{1, 1, 4, 4}, Data: make([]float32, 16)},
		checkpoints.Tensor{Name: "h.1.attn.masked_bias", Shape: []int{1}, Data: []float32{-1e4}})
	dir := t.TempDir()
	gpt2Must(t, checkpoints.WriteSafetensors(filepath.Join(dir, "model.safetensors"), tensors, nil))
	cfg, err := os.ReadFile(filepath.Join(f.dir, "labels_decoder_config.json"))
	gpt2Must(t, err)
	gpt2Must(t, os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644))

	p, err := LoadGPT2Pretrained(dir)
	gpt2Must(t, err)
	if len(p.Ignored) != 2 {
		t.Fatalf("ignored %v, want the two buffers", p.Ignored)
	}
	s := autograd.NewStore()
	m, err := NewGPT2(s, "dec", p.Config)
	gpt2Must(t, err)
	gpt2Must(t, m.LoadState(s, p.State("dec")))
	out, err := m.StateTensors(s)
	gpt2Must(t, err)
	if len(out) != len(m.ParamNames())+1 {
		t.Fatalf("%d exported tensors, want %d parameters + lm_head", len(out), len(m.ParamNames()))
	}
	for _, x := range out {
		ref := f.st.Tensors[decoderPrefix+strings.TrimPrefix(x.Name, "dec")]
		if ref == nil {
			t.Fatalf("exported %s has no reference counterpart", x.Name)
		}
		for i := range ref.Data {
			if x.Data[i] != ref.Data[i] {
				t.Fatalf("%s[%d] = %g, reference %g", x.Name, i, x.Data[i], ref.Data[i])
			}
		}
	}
}

// Strict loading: an untied lm_head, a missing block tensor and an
// unexpected key are each reported.
func TestGPT2LoadStateErrors(t *testing.T) {
	f := loadDecoderFixture(t)
	clone := func() *checkpoints.State {
		st := &checkpoints.State{Path: "x.safetensors", Tensors: map[string]*checkpoints.StateTensor{}}
		for _, n := range f.st.Names {
			st.Names = append(st.Names, n)
			st.Tensors[n] = f.st.Tensors[n]
		}
		return st
	}
	head := decoderPrefix + ".lm_head.weight"
	st := clone()
	h := *st.Tensors[head]
	h.Data = append([]float32(nil), h.Data...)
	h.Data[5] += 1
	st.Tensors[head] = &h
	if err := f.model.LoadState(f.store, st); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Fatalf("untied head: %v", err)
	}

	st = clone()
	gone := decoderPrefix + ".transformer.h.1.mlp.c_fc.bias"
	delete(st.Tensors, gone)
	st.Names = nil
	for n := range st.Tensors {
		st.Names = append(st.Names, n)
	}
	extra := decoderPrefix + ".transformer.h.2.ln_1.weight"
	st.Names = append(st.Names, extra)
	st.Tensors[extra] = &checkpoints.StateTensor{Name: extra, Shape: []int{32}, Data: make([]float32, 32)}
	err := f.model.LoadState(f.store, st)
	var mm *checkpoints.MismatchError
	if !errors.As(err, &mm) || len(mm.Missing) != 1 || mm.Missing[0] != gone || len(mm.Unexpected) != 1 || mm.Unexpected[0] != extra {
		t.Fatalf("want one missing %s and one unexpected %s, got %v", gone, extra, err)
	}
}

func TestParseGPT2ConfigDefaultsAndErrors(t *testing.T) {
	c, err := ParseGPT2Config([]byte(`{"model_type":"gpt2"}`))
	gpt2Must(t, err)
	if c.NEmbd != 768 || c.NLayer != 12 || c.NHead != 12 || c.Inner() != 3072 || c.VocabSize != 50257 ||
		c.NPositions != 1024 || c.LayerNormEpsilon != 1e-5 || !c.TieWordEmbeddings || c.EOS() != 50256 || c.ActivationFunction != "gelu_new" {
		t.Fatalf("defaults %+v", c)
	}
	for doc, want := range map[string]string{
		`{"model_type":"llama"}`:                                       "model_type",
		`{"model_type":"gpt2","n_embd":30,"n_head":4}`:                 "divisible",
		`{"model_type":"gpt2","activation_function":"swish"}`:          "activation_function",
		`{"model_type":"gpt2","scale_attn_by_inverse_layer_idx":true}`: "scale_attn_by_inverse_layer_idx",
		`{"model_type":"gpt2","add_cross_attention":true}`:             "add_cross_attention",
		`{"model_type":"gpt2","n_layer":"2"}`:                          "n_layer",
	} {
		if _, err := ParseGPT2Config([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one naming %s", doc, err, want)
		}
	}
}
