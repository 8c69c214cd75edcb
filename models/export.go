package models

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/data/tokenizer"
)

// ErrFolderNotEmpty is returned (wrapped, with the folder) by ExportWith
// when the target folder exists, is not empty and ExportOptions.Overwrite
// is false.
var ErrFolderNotEmpty = errors.New("folder exists and is not empty (refusing to overwrite it; set ExportOptions.Overwrite to replace it)")

// ExportOptions tune Export.
type ExportOptions struct {
	// Overwrite replaces an existing non-empty folder (it is swapped out
	// only after the new folder is complete).
	Overwrite bool
	// AuxTokenizer, when set, is the second tokenizer of a bi-encoder
	// (labels encoder) or span decoder (labels decoder). It is saved in
	// labels_tokenizer/ or decoder_tokenizer/ (the reference itself loads
	// it from the hub id in the config; gliner-go's loader reads these).
	AuxTokenizer tokenizer.Tokenizer
	// Weights, when set, writes the model file(s) into the folder being
	// built instead of model.safetensors (the ONNX export writes
	// model.onnx there, package onnx).
	Weights func(dir string) error
}

// Export writes m as a GLiNER model folder in the reference's layout
// (save_pretrained with safe_serialization=True), all files at the top
// level of dir:
//
//	gliner_config.json   ExportConfigJSON: the reference's to_json_file format
//	model.safetensors    every parameter under its reference key, F32, keys
//	                     sorted, __metadata__ {"format": "pt"}
//	tokenizer files      tok.Save (tokenizer.json, tokenizer_config.json,
//	                     special_tokens_map.json, added_tokens.json and the
//	                     backend's vocabulary files)
//
// The folder is built in a temporary folder beside dir and renamed into
// place, so a failed export leaves nothing behind. A non-empty existing dir
// is an error (see ExportWith to overwrite).
func Export(m *Model, tok tokenizer.Tokenizer, dir string) error {
	return ExportWith(m, tok, dir, ExportOptions{})
}

// ExportWith is Export with options.
func ExportWith(m *Model, tok tokenizer.Tokenizer, dir string, o ExportOptions) (err error) {
	if m == nil || tok == nil {
		return fmt.Errorf("export %s: nil model or tokenizer", dir)
	}
	dir = filepath.Clean(dir)
	exists := false
	if st, serr := os.Stat(dir); serr == nil {
		if !st.IsDir() {
			return fmt.Errorf("export %s: exists and is not a folder", dir)
		}
		ents, rerr := os.ReadDir(dir)
		if rerr != nil {
			return fmt.Errorf("export %s: %w", dir, rerr)
		}
		if len(ents) > 0 && !o.Overwrite {
			return fmt.Errorf("export %s: %w", dir, ErrFolderNotEmpty)
		}
		exists = true
	} else if !errors.Is(serr, os.ErrNotExist) {
		return fmt.Errorf("export %s: %w", dir, serr)
	}
	cfgJSON, err := ExportConfigJSON(m, tok)
	if err != nil {
		return fmt.Errorf("export %s: %w", dir, err)
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("export %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".export-*")
	if err != nil {
		return fmt.Errorf("export %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("export %s: %w", dir, err)
	}
	if err := writeModelFiles(m, tok, o.AuxTokenizer, cfgJSON, tmp); err != nil {
		return fmt.Errorf("export %s: %w", dir, err)
	}
	if o.Weights != nil {
		if err := o.Weights(tmp); err != nil {
			return fmt.Errorf("export %s: %w", dir, err)
		}
	} else if err := checkpoints.WriteSafetensors(filepath.Join(tmp, "model.safetensors"), ExportState(m), map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("export %s: %w", dir, err)
	}
	if !exists {
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("export %s: %w", dir, err)
		}
		return nil
	}
	// Swap: move the old folder aside, the new one in, then delete the old.
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil {
		return fmt.Errorf("export %s: move the existing folder aside: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if rerr := os.Rename(old, dir); rerr != nil {
			return fmt.Errorf("export %s: %w (and restoring the old folder from %s failed: %v)", dir, err, old, rerr)
		}
		return fmt.Errorf("export %s: %w", dir, err)
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("export %s: new folder in place, but removing the old one at %s failed: %w", dir, old, err)
	}
	return nil
}

// WriteModelFiles writes into dir what makes a folder holding m's weights
// (model.safetensors) a GLiNER model folder: gliner_config.json
// (ExportConfigJSON) and the tokenizer files, aux's in labels_tokenizer/
// or decoder_tokenizer/ (see ExportOptions.AuxTokenizer). Training writes
// them into every checkpoint-N/ and best/, as Hugging Face checkpoints
// hold config and tokenizer beside the weights, so those folders load
// (Load, gliner predict/evaluate/export, model.prev_path).
func WriteModelFiles(m *Model, tok, aux tokenizer.Tokenizer, dir string) error {
	if m == nil || tok == nil {
		return fmt.Errorf("model files %s: nil model or tokenizer", dir)
	}
	cfgJSON, err := ExportConfigJSON(m, tok)
	if err != nil {
		return fmt.Errorf("model files %s: %w", dir, err)
	}
	if err := writeModelFiles(m, tok, aux, cfgJSON, dir); err != nil {
		return fmt.Errorf("model files %s: %w", dir, err)
	}
	return nil
}

func writeModelFiles(m *Model, tok, aux tokenizer.Tokenizer, cfgJSON []byte, dir string) error {
	if err := tok.Save(dir); err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	if aux != nil {
		sub := ""
		switch {
		case m.Arch.BiEncoder():
			sub = LabelsTokenizerDir
		case m.Arch.Decoder():
			sub = DecoderTokenizerDir
		default:
			return fmt.Errorf("a second tokenizer was given but %v has none", m.Arch)
		}
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
		if err := aux.Save(filepath.Join(dir, sub)); err != nil {
			return fmt.Errorf("%s: %w", sub, err)
		}
	}
	return checkpoints.WriteFileAtomic(filepath.Join(dir, "gliner_config.json"), func(w io.Writer) error {
		_, err := w.Write(cfgJSON)
		return err
	})
}

// Tied weights the reference's state dict lists under both names.
const (
	decoderWTE    = "decoder.decoder_layer.model.transformer.wte.weight"
	decoderLMHead = "decoder.decoder_layer.model.lm_head.weight"
)

// ExportState is the state dict Export writes: every parameter under its
// reference key, plus the span decoder's tied lm_head.weight (a copy of
// the GPT-2 wte embedding, as torch's state_dict lists it) when the model
// does not hold it as a parameter of its own.
func ExportState(m *Model) []checkpoints.Tensor {
	st := m.Store.State(nil)
	if !m.Arch.Decoder() {
		return st
	}
	if _, ok := m.Store.Get(decoderLMHead); ok {
		return st
	}
	wte, ok := m.Store.Get(decoderWTE)
	if !ok {
		return st
	}
	var tie struct {
		Tie *bool `json:"tie_word_embeddings"`
	}
	if len(m.Cfg.LabelsDecoderConfig) > 0 {
		_ = json.Unmarshal(m.Cfg.LabelsDecoderConfig, &tie)
	}
	if tie.Tie != nil && !*tie.Tie {
		return st
	}
	st = append(st, checkpoints.Tensor{Name: decoderLMHead, Shape: wte.Shape, Data: wte.Data})
	sort.Slice(st, func(i, j int) bool { return st[i].Name < st[j].Name })
	return st
}

// Keys of gliner_config.json that only one family of configs has; every
// other Config field is a BaseGLiNERConfig field written for all.
var (
	biEncoderKeys = []string{"labels_encoder", "labels_encoder_config"}
	decoderKeys   = []string{"labels_decoder", "decoder_mode", "full_decoder_context", "blank_entity_prob",
		"labels_decoder_config", "decoder_loss_coef"}
	relexKeys = []string{"relations_layer", "triples_layer", "embed_rel_token", "rel_token_index", "rel_token",
		"adjacency_loss_coef", "relation_loss_coef", "augment_data_prob", "augment_ent_drop_prob",
		"augment_rel_drop_prob", "augment_add_other_prob", "rel_id_to_classes"}
)

// ExportConfigJSON renders m's config as the reference's to_json_file
// writes gliner_config.json: the fields of the architecture's config class
// under their reference names, keys sorted at every level, two-space
// indent, non-ASCII escaped, floats in Python's repr, a final newline.
// encoder_config's vocab_size is set to the text encoder's embedding rows.
// For uni-encoders the top-level vocab_size is too, and class_token_index
// is the tokenizer's ent_token id when the config does not hold it; a
// tokenizer whose ent_token id differs from class_token_index, or with
// more ids than the embedding has rows, is an error. Bi-encoders keep
// both as the config holds them (the reference leaves them at -1). model_type is written as the config holds it (the
// reference's v0.2.27 writes null; it is ignored on load);
// _attn_implementation is left out, as transformers' to_dict drops it.
// For the UniEncoderSpan fixtures the result is byte-identical to the
// reference's file.
func ExportConfigJSON(m *Model, tok tokenizer.Tokenizer) ([]byte, error) {
	cfg := *m.Cfg
	emb, ok := m.Store.Get(TextEncoderPrefix + ".embeddings.word_embeddings.weight")
	if !ok || len(emb.Shape) != 2 {
		return nil, fmt.Errorf("config: model has no %s.embeddings.word_embeddings.weight", TextEncoderPrefix)
	}
	rows := emb.Shape[0]
	bi := m.Arch.BiEncoder()
	if !bi {
		// Uni-encoders: the embedding was resized to the tokenizer with
		// GLiNER's tokens. Bi-encoders never put them in the text encoder,
		// whose vocabulary stays as it came (the reference keeps
		// vocab_size and class_token_index at -1 there).
		cfg.VocabSize = rows
	}
	if tok != nil && !bi {
		if n := tok.VocabSize(); n > rows {
			return nil, fmt.Errorf("config: tokenizer has %d ids but the encoder's embedding only %d rows", n, rows)
		}
		id, ok := tok.TokenToID(cfg.EntToken)
		switch {
		case !ok && cfg.ClassTokenIndex < 0:
			return nil, fmt.Errorf("config: tokenizer has no %q token and class_token_index is not set", cfg.EntToken)
		case ok && cfg.ClassTokenIndex < 0:
			cfg.ClassTokenIndex = id
		case ok && id != cfg.ClassTokenIndex:
			return nil, fmt.Errorf("config: tokenizer's %q id %d differs from class_token_index %d", cfg.EntToken, id, cfg.ClassTokenIndex)
		}
	}
	tree := map[string]any{}
	skip := map[string]bool{}
	arch := m.Arch
	if !arch.BiEncoder() {
		for _, k := range biEncoderKeys {
			skip[k] = true
		}
	}
	if !arch.Decoder() {
		for _, k := range decoderKeys {
			skip[k] = true
		}
	}
	if !arch.Relex() {
		for _, k := range relexKeys {
			skip[k] = true
		}
	}
	v := reflect.ValueOf(cfg)
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || name == "_attn_implementation" || skip[name] {
			continue
		}
		fv := v.Field(i)
		if strings.Contains(opts, "omitempty") && fv.IsZero() {
			continue
		}
		val, err := jsonTreeValue(fv)
		if err != nil {
			return nil, fmt.Errorf("config: %s: %w", name, err)
		}
		tree[name] = val
	}
	if sub, ok := tree["encoder_config"].(map[string]any); ok {
		sub["vocab_size"] = json.Number(strconv.Itoa(rows))
	}
	var buf bytes.Buffer
	writePyJSON(&buf, tree, "")
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// jsonTreeValue converts a Config field into a JSON tree value: raw JSON
// is decoded keeping numbers' literal text; floats become Python reprs.
func jsonTreeValue(v reflect.Value) (any, error) {
	switch x := v.Interface().(type) {
	case json.RawMessage:
		if len(bytes.TrimSpace(x)) == 0 {
			return nil, nil
		}
		dec := json.NewDecoder(bytes.NewReader(x))
		dec.UseNumber()
		var out any
		if err := dec.Decode(&out); err != nil {
			return nil, err
		}
		return out, nil
	case float64:
		return json.Number(pyFloat(x)), nil
	case []float64:
		if x == nil {
			return nil, nil
		}
		out := make([]any, len(x))
		for i, f := range x {
			out[i] = json.Number(pyFloat(f))
		}
		return out, nil
	case int:
		return json.Number(strconv.Itoa(x)), nil
	case bool, string:
		return x, nil
	case *string:
		if x == nil {
			return nil, nil
		}
		return *x, nil
	case *bool:
		if x == nil {
			return nil, nil
		}
		return *x, nil
	}
	return nil, fmt.Errorf("unsupported field type %s", v.Type())
}

// pyFloat formats f as Python's repr(float) (and json.dumps) does:
// shortest round-trip digits, fixed notation for exponents -4..15 with a
// ".0" for integral values, else "1e-05"-style scientific notation.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if exp >= -4 && exp < 16 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.ContainsAny(s, ".") {
			s += ".0"
		}
		return s
	}
	return e
}

// writePyJSON writes v as Python's json.dumps(v, indent=2, sort_keys=True)
// (ensure_ascii on).
func writePyJSON(b *bytes.Buffer, v any, indent string) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case json.Number:
		b.WriteString(string(x))
	case string:
		writePyString(b, x)
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[\n")
		for i, e := range x {
			b.WriteString(indent + "  ")
			writePyJSON(b, e, indent+"  ")
			if i < len(x)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "]")
	case map[string]any:
		if len(x) == 0 {
			b.WriteString("{}")
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("{\n")
		for i, k := range keys {
			b.WriteString(indent + "  ")
			writePyString(b, k)
			b.WriteString(": ")
			writePyJSON(b, x[k], indent+"  ")
			if i < len(keys)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "}")
	default:
		// Unreachable for trees built by ExportConfigJSON.
		fmt.Fprintf(b, "%v", x)
	}
}

func writePyString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r >= 0x20 && r <= 0x7e:
			b.WriteRune(r)
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(b, `\u%04x`, r)
		}
	}
	b.WriteByte('"')
}
