// Package onnx exports GLiNER models to ONNX with the inputs, outputs,
// dtypes and dynamic axes of the reference's export_to_onnx (urchade/GLiNER
// c2bb58d, gliner/model.py, each class's _get_onnx_input_spec), so that
// onnxruntime and GLiNER.js load the file unchanged, and gline-rs the
// UniEncoderSpan export and, with PositionFirst, the UniEncoderToken one.
//
// The graph is not written by hand: the exporter builds the model's own
// inference graph (models.Model.BuildInferenceGraph), traces its kernels
// (autograd.Trace) and maps each kernel to ONNX nodes (mapKernel, one case
// per kernel). The graph is built for two probe batch shapes so that every
// shape it uses is known as an expression of the batch dimensions and
// computed at run time: the exported file runs on batches of any size and
// length. What the Go side computes from a batch before a run (word
// positions from words_mask, <<ENT>> positions from input_ids, span
// boundaries from span_idx and span_mask) is part of the ONNX graph.
package onnx

import (
	"fmt"
	"io"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/gliner-go/gliner/autograd"
	"github.com/gliner-go/gliner/checkpoints"
	"github.com/gliner-go/gliner/data"
	"github.com/gliner-go/gliner/data/tokenizer"
	"github.com/gliner-go/gliner/models"
	"github.com/gliner-go/gliner/models/encoder"
	pb "github.com/gliner-go/gliner/onnx/onnxpb"
)

// Opset is the ONNX operator set of the exported graphs (the reference's
// fixtures were exported with opset 17).
const Opset = 17

// Options tune Build.
type Options struct {
	// LabelEmbeddings exports a bi-encoder over pre-computed label
	// embeddings: input labels_embeddings (num_labels, hidden_size) in
	// place of labels_input_ids and labels_attention_mask, as the
	// reference's export_to_onnx(from_labels_embeddings=True).
	LabelEmbeddings bool
	// EncoderOnly exports a decoder architecture's encoder and span (or
	// token) scorer, without its labels decoder: the inputs and the
	// logits output of UniEncoderSpan (UniEncoderToken for the token
	// decoder). The decoder architectures are refused without it.
	EncoderOnly bool
	// PositionFirst writes a token model's logits as (3, batch, words,
	// classes), start/end/inside first: the layout gline-rs's token mode
	// reads (fbilhaut/gline-rs, src/model/output/decoded/token.rs,
	// TensorsToDecoded::check_shape). The reference's export and the
	// default write (batch, words, classes, 3). The logits of a text's
	// padding words (w ≥ text_lengths) are PadWordLogit: gline-rs decodes
	// every word position of the batch (generate_spans) and fails on a span
	// over padding (an index error in create_span), which the model scores
	// like any other word.
	PositionFirst bool
	// Quantize "int8" quantises the weights of every linear layer to int8
	// with dynamic uint8 activations (DynamicQuantizeLinear and
	// MatMulInteger, linearInt8); "" keeps float32.
	Quantize string
}

type exporter struct {
	m         *models.Model
	b         *gb
	symVal    [nsym]string
	dimCache  map[string]string
	relParams [][2]int
	inits     map[string]bool
	params    map[string]paramData
	quant     bool
}

type paramData struct {
	shape []int
	data  []float32
}

func supported() string {
	return fmt.Sprintf("%s; %s with EncoderOnly (--encoder-only)",
		data.ArchitecturesThat(func(a data.Architecture) bool { return !a.Decoder() }), data.ArchitecturesThat(data.Architecture.Decoder))
}

// Build returns the ONNX model of m. What is exported follows the
// architecture's capabilities (Decoder, BiEncoder, TokenLevel, Relex).
func Build(m *models.Model, o Options) (*pb.ModelProto, error) {
	a := m.Arch
	switch {
	case !a.Valid():
		return nil, fmt.Errorf("onnx export: %v is not supported (supported: %s)", a, supported())
	case !a.Decoder():
		if o.EncoderOnly {
			return nil, fmt.Errorf("onnx export: --encoder-only applies to the decoder architectures (%s), not %v",
				data.ArchitecturesThat(data.Architecture.Decoder), a)
		}
	default:
		// The reference refuses this export (gliner/model.py,
		// UniEncoderSpanDecoderGLiNER.export_to_onnx raises
		// NotImplementedError): the labels decoder generates label
		// strings token by token, which is not one static graph.
		if !o.EncoderOnly {
			return nil, fmt.Errorf("onnx export: %v's labels decoder is not exported: it generates label names token by token "+
				"(the reference refuses this export too); pass --encoder-only (Options.EncoderOnly) to export the encoder and "+
				"the %s scorer (the logits of gliner predict without generated labels), or run the full model with gliner predict",
				a, map[bool]string{true: "token", false: "span"}[a.TokenLevel()])
		}
	}
	bi := a.BiEncoder()
	if o.LabelEmbeddings && !bi {
		return nil, fmt.Errorf("onnx export: label embeddings apply to the bi-encoders only, not %v", a)
	}
	span := !a.TokenLevel()
	if o.PositionFirst && (span || a.Relex()) {
		return nil, fmt.Errorf("onnx export: --position-first applies to the token models without relations (%s; the decoders with --encoder-only), not %v",
			data.ArchitecturesThat(func(a data.Architecture) bool { return a.TokenLevel() && !a.Relex() }), a)
	}
	switch o.Quantize {
	case "", Int8:
	default:
		return nil, fmt.Errorf("onnx export: --quantize %q (valid: int8)", o.Quantize)
	}
	x := &exporter{m: m, b: newGB("gliner"), dimCache: map[string]string{}, inits: map[string]bool{},
		params: map[string]paramData{}, quant: o.Quantize == Int8}
	for _, c := range []*encoder.Config{m.EncCfg, m.LabelsEncCfg} {
		if c == nil || c.Type() != encoder.DeBERTaV2 {
			continue
		}
		maxRel := c.MaxRelativePositions
		if maxRel < 1 {
			maxRel = c.MaxPositionEmbeddings
		}
		x.relParams = append(x.relParams, [2]int{c.PositionBuckets, maxRel})
	}
	if err := x.declareInputs(span, bi, o.LabelEmbeddings); err != nil {
		return nil, err
	}
	if a.Relex() {
		if err := x.relex(); err != nil {
			return nil, fmt.Errorf("onnx export: %v: %w", a, err)
		}
	} else {
		outs, err := x.emit(func(p [nsym]int) models.GraphDims {
			return models.GraphDims{B: p[symB], T: p[symT], W: p[symW], C: p[symC], TL: p[symTL], LabelEmbeddings: o.LabelEmbeddings}
		}, nil, x.batchInput(span))
		if err != nil {
			return nil, fmt.Errorf("onnx export: %v: %w", a, err)
		}
		logits := outs[0]
		if o.PositionFirst {
			logits = x.b.transpose(x.padWordsOff(logits), 3, 0, 1, 2)
		}
		x.logitsOutput(logits, span, false)
	}
	x.b.prune()
	return &pb.ModelProto{
		IrVersion:       8,
		ProducerName:    "gliner-go",
		ProducerVersion: "1",
		OpsetImport:     []*pb.OperatorSetIdProto{{Domain: "", Version: Opset}},
		Graph:           x.b.g,
	}, nil
}

// PadWordLogit is the logit PositionFirst gives a text's padding words
// (σ = 0 in float32).
const PadWordLogit = -1e4

// padWordsOff sets the token logits (B, W, C, 3) of every word w ≥
// text_lengths[b] to PadWordLogit.
func (x *exporter) padWordsOff(logits string) string {
	b := x.b
	w := b.op("Range", []string{b.i64s(0), b.op("Squeeze", []string{x.symVal[symW], b.i64(0)}), b.i64s(1)})
	valid := b.op("Less", []string{b.unsqueeze(w, 0), b.op("Reshape", []string{"text_lengths", b.i64(-1, 1)})}) // (B, W)
	return b.op("Where", []string{b.unsqueeze(valid, 2, 3), logits, b.f32(PadWordLogit)})
}

// logitsOutput declares the logits output with the reference's axis names
// (gliner/model.py, each class's _get_onnx_input_spec).
func (x *exporter) logitsOutput(name string, span, relex bool) {
	F32 := pb.TensorProto_FLOAT
	switch {
	case span && relex:
		// UniEncoderSpanRelexGLiNER._get_onnx_input_spec.
		x.b.output("logits", name, F32, "batch_size", "sequence_length", "num_spans", "num_ent_classes")
	case relex:
		// UniEncoderTokenRelexGLiNER._get_onnx_input_spec.
		x.b.output("logits", name, F32, "batch_size", "sequence_length", "num_ent_classes", "num_idx_classes")
	case span:
		x.b.output("logits", name, F32, "batch_size", "sequence_length", "num_spans", "num_classes")
	default:
		// The reference names the token logits' axes so although they are
		// (batch, words, classes, 3) (gliner/model.py, UniEncoderTokenGLiNER._get_onnx_input_spec).
		x.b.output("logits", name, F32, "position", "batch_size", "sequence_length", "num_classes")
	}
}

// emit builds one of the model's inference graphs for the two probe
// shapes (dims gives its GraphDims for a probe), traces it to its logits
// and the named values in named, and maps every step to ONNX nodes: a
// parameter becomes an initializer (once per export), a graph input the
// ONNX value bind returns for its name, a kernel its mapping (mapKernel).
// It returns the ONNX names of the logits and of named, in that order.
func (x *exporter) emit(dims func(p [nsym]int) models.GraphDims, named []string, bind func(input string) (string, error)) ([]string, error) {
	probe := func(p [nsym]int) ([]*autograd.Node, []autograd.Step, error) {
		ig, err := x.m.BuildInferenceGraph(dims(p))
		if err != nil {
			return nil, nil, err
		}
		outs := []*autograd.Node{ig.Logits}
		for _, n := range named {
			v, ok := ig.Named[n]
			if !ok {
				return nil, nil, fmt.Errorf("the inference graph has no value %q", n)
			}
			outs = append(outs, v)
		}
		steps, err := autograd.Trace(ig.Graph, outs...)
		return outs, steps, err
	}
	outsA, stepsA, err := probe(probeA)
	if err != nil {
		return nil, err
	}
	_, stepsB, err := probe(probeB)
	if err != nil {
		return nil, err
	}
	if len(stepsA) != len(stepsB) {
		return nil, fmt.Errorf("the two probe graphs differ (%d and %d steps)", len(stepsA), len(stepsB))
	}
	names := map[*autograd.Node]string{}
	dimsOf := map[*autograd.Node][]dimExpr{}
	for i, sa := range stepsA {
		sb := stepsB[i]
		if ka, kb := stepKind(sa), stepKind(sb); ka != kb {
			return nil, fmt.Errorf("step %d is %s in one probe graph and %s in the other", i, ka, kb)
		}
		var d []dimExpr
		if sa.Param != nil {
			// Parameters have static shapes.
			d = staticShape(sa.Param.Shape)
		} else if d, err = deriveShape(sa.Out.Shape(), sb.Out.Shape()); err != nil {
			return nil, fmt.Errorf("step %d (%s): %w", i, stepKind(sa), err)
		}
		dimsOf[sa.Out] = d
		switch {
		case sa.Param != nil:
			if !x.inits[sa.Param.Name] {
				x.b.floatInit(sa.Param.Name, sa.Param.Shape, sa.Param.Data)
				x.inits[sa.Param.Name] = true
				x.params[sa.Param.Name] = paramData{shape: sa.Param.Shape, data: sa.Param.Data}
			}
			names[sa.Out] = sa.Param.Name
		case sa.Input != "":
			n, err := bind(sa.Input)
			if err != nil {
				return nil, err
			}
			names[sa.Out] = n
		default:
			st := step{k: sa.Kernel, out: d}
			for _, in := range sa.In {
				n, ok := names[in]
				if !ok {
					return nil, fmt.Errorf("step %d (%s): input not yet defined", i, sa.Kernel.Name())
				}
				st.in = append(st.in, n)
				st.inInt = append(st.inInt, in.IsInt())
				st.shapes = append(st.shapes, in.Shape())
				st.dims = append(st.dims, dimsOf[in])
			}
			n, err := x.mapKernel(st)
			if err != nil {
				return nil, err
			}
			names[sa.Out] = n
		}
	}
	res := make([]string, len(outsA))
	for i, o := range outsA {
		for _, sa := range stepsA {
			if autograd.Same(sa.Out, o) {
				res[i] = names[sa.Out]
			}
		}
		if res[i] == "" {
			return nil, fmt.Errorf("output %d not found in the traced graph", i)
		}
	}
	return res, nil
}

// stepKind names a step for comparing the two probe graphs: the
// parameter, the input or the kernel (kern.Attrs.Kernel).
func stepKind(s autograd.Step) string {
	switch {
	case s.Param != nil:
		return "parameter " + s.Param.Name
	case s.Input != "":
		return "input " + s.Input
	}
	if a := autograd.AttrsOf(s.Kernel); a != nil {
		return "kernel " + a.Kernel()
	}
	return "kernel " + s.Kernel.Name()
}

// Marshal is Build followed by protobuf encoding.
func Marshal(m *models.Model, o Options) ([]byte, error) {
	mp, err := Build(m, o)
	if err != nil {
		return nil, err
	}
	b, err := proto.Marshal(mp)
	if err != nil {
		return nil, fmt.Errorf("onnx export: encoding: %w", err)
	}
	return b, nil
}

// declareInputs declares the reference's inputs (names, dtypes, axis
// names of _get_onnx_input_spec) and the run-time batch dimensions.
func (x *exporter) declareInputs(span, bi, labelEmb bool) error {
	b := x.b
	I64, F32 := pb.TensorProto_INT64, pb.TensorProto_FLOAT
	ids := b.input("input_ids", I64, "batch_size", "sequence_length")
	b.input("attention_mask", I64, "batch_size", "sequence_length")
	b.input("words_mask", I64, "batch_size", "sequence_length")
	tl := b.input("text_lengths", I64, "batch_size", "value")
	if span {
		b.input("span_idx", I64, "batch_size", "num_spans", "idx")
		b.input("span_mask", pb.TensorProto_BOOL, "batch_size", "num_spans")
	}
	shape := b.op("Shape", []string{ids})
	x.symVal[symB] = b.sliceAxis(shape, 0, 0, 1)
	x.symVal[symT] = b.sliceAxis(shape, 0, 1, 2)
	// W: the longest text in words.
	x.symVal[symW] = b.op("Reshape", []string{b.op("ReduceMax", []string{tl}, aInt("keepdims", 0)), b.i64(1)})
	switch {
	case bi && labelEmb:
		le := b.input("labels_embeddings", F32, "num_labels", "hidden_size")
		x.symVal[symC] = b.sliceAxis(b.op("Shape", []string{le}), 0, 0, 1)
	case bi:
		li := b.input("labels_input_ids", I64, "num_labels", "label_seq_length")
		b.input("labels_attention_mask", I64, "num_labels", "label_seq_length")
		ls := b.op("Shape", []string{li})
		x.symVal[symC] = b.sliceAxis(ls, 0, 0, 1)
		x.symVal[symTL] = b.sliceAxis(ls, 0, 1, 2)
	default:
		// C: the most <<ENT>> tokens in a prompt.
		x.symVal[symC] = x.maxCount(x.entTokens())
	}
	return nil
}

// entTokens is (input_ids == class_token_index) as int64 (B,T).
func (x *exporter) entTokens() string { return x.tokenFlags("ent_tokens", x.m.Cfg.ClassTokenIndex) }

// relTokens is (input_ids == rel_token_index) as int64 (B,T).
func (x *exporter) relTokens() string { return x.tokenFlags("rel_tokens", x.m.Cfg.RelTokenIndex) }

func (x *exporter) tokenFlags(key string, id int) string {
	if n, ok := x.b.consts[key]; ok {
		return n
	}
	n := x.b.castI64(x.b.op("Equal", []string{"input_ids", x.b.i64s(int64(id))}))
	x.b.consts[key] = n
	return n
}

// maxCount is the largest row sum of the int64 (B,L) flags as a 1-D [1]
// tensor.
func (x *exporter) maxCount(flags string) string {
	b := x.b
	n := b.op("ReduceSum", []string{flags, b.i64(1)}, aInt("keepdims", 0))
	return b.op("Reshape", []string{b.op("ReduceMax", []string{n}, aInt("keepdims", 0)), b.i64(1)})
}

// kthToken is, per row, the position of the k-th flagged token for k =
// 0..n−1 (B,n), −1 where there is none, moved to its successor when
// embed is false (the reference's extract_prompt_features with
// embed_ent_token / embed_rel_token).
func (x *exporter) kthToken(flags, n string, embed bool) string {
	b := x.b
	cum := b.op("CumSum", []string{flags, b.i64s(1)})
	pos := x.nth(cum, flags, n)
	if !embed {
		pos = b.op("Where", []string{b.op("GreaterOrEqual", []string{pos, b.i64s(0)}), b.op("Add", []string{pos, b.i64s(1)}), pos})
	}
	return pos
}

// nth returns, per row of the int64 (B,T) tensor eq of 0/1 flags and the
// number n (1-D [1]) of positions wanted, the (B,n) positions t where
// key[b,t] == k+1 and eq[b,t] = 1 for k = 0..n−1, −1 where there is none.
func (x *exporter) nth(key, eq, n string) string {
	b := x.b
	ns := b.op("Squeeze", []string{n, b.i64(0)})
	ks := b.op("Reshape", []string{b.op("Range", []string{b.i64s(1), b.op("Add", []string{ns, b.i64s(1)}), b.i64s(1)}), b.i64(1, -1, 1)})
	hit := b.op("Equal", []string{b.unsqueeze(key, 1), ks}) // (B,n,T)
	if eq != "" {
		hit = b.op("And", []string{hit, b.unsqueeze(b.nonZero(eq), 1)})
	}
	hf := b.castF(hit)
	pos := b.op("ArgMax", []string{hf}, aInt("axis", 2), aInt("keepdims", 0))
	found := b.op("Greater", []string{b.op("ReduceMax", []string{hf}, aInts("axes", 2), aInt("keepdims", 0)), b.f32(0)})
	return b.op("Where", []string{found, pos, b.i64s(-1)})
}

// batchInput is graphInput for the main graph's inputs.
func (x *exporter) batchInput(span bool) func(string) (string, error) {
	return func(name string) (string, error) { return x.graphInput(name, span) }
}

// graphInput maps one of the model graph's inputs to ONNX values computed
// from the reference's inputs, as models.Model's bind does on the host.
func (x *exporter) graphInput(name string, span bool) (string, error) {
	b := x.b
	switch name {
	case "input_ids", "attention_mask", "labels_input_ids", "labels_attention_mask":
		return name, nil
	case "labels_embeds":
		return "labels_embeddings", nil
	case "text_lengths":
		return b.op("Reshape", []string{"text_lengths", b.i64(-1)}), nil
	case "words_idx":
		// words_mask holds the 1-based word of each word's first sub-token.
		return x.nth("words_mask", "", x.symVal[symW]), nil
	case "prompt_idx":
		// The k-th <<ENT>> token of each prompt (its successor when
		// embed_ent_token is false).
		return x.kthToken(x.entTokens(), x.symVal[symC], x.m.Cfg.EmbedEntToken), nil
	case "rel_prompt_idx":
		// The k-th <<REL>> token (models.Model.relPromptIdx).
		if x.symVal[symR] == "" {
			break
		}
		return x.kthToken(x.relTokens(), x.symVal[symR], x.m.Cfg.EmbedRelToken), nil
	case "span_start", "span_end":
		if !span {
			break
		}
		col := int64(0)
		if name == "span_end" {
			col = 1
		}
		v := b.op("Gather", []string{"span_idx", b.i64s(col)}, aInt("axis", 2))
		return b.op("Where", []string{"span_mask", v, b.i64s(0)}), nil
	}
	return "", fmt.Errorf("onnx export: the model graph's input %q has no ONNX counterpart", name)
}

// FileName is the exported model's file name, the reference's default
// onnx_filename.
const FileName = "model.onnx"

// Export writes the folder the reference's export_to_onnx writes: model.onnx,
// gliner_config.json (models.ExportConfigJSON) and the tokenizer files
// (labels_tokenizer/ for a bi-encoder's labels tokenizer when aux is set).
// The folder is built beside dir and renamed into place
// (models.ExportWith); a non-empty dir is refused unless overwrite.
func Export(m *models.Model, tok, aux tokenizer.Tokenizer, dir string, o Options, overwrite bool) error {
	b, err := Marshal(m, o)
	if err != nil {
		return err
	}
	return models.ExportWith(m, tok, dir, models.ExportOptions{
		Overwrite:    overwrite,
		AuxTokenizer: aux,
		Weights: func(tmp string) error {
			return checkpoints.WriteFileAtomic(filepath.Join(tmp, FileName), func(w io.Writer) error {
				_, err := w.Write(b)
				return err
			})
		},
	})
}
