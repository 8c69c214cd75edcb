// Package onnx exports GLiNER models to ONNX with the inputs, outputs,
// dtypes and dynamic axes of the reference's export_to_onnx (urchade/GLiNER
// c2bb58d, gliner/model.py, each class's _get_onnx_input_spec), so that
// onnxruntime, GLiNER.js and gline-rs load the file unchanged.
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
}

type exporter struct {
	m         *models.Model
	b         *gb
	symVal    [nsym]string
	dimCache  map[string]string
	relParams [][2]int
}

// Build returns the ONNX model of m.
func Build(m *models.Model, o Options) (*pb.ModelProto, error) {
	switch m.Arch {
	case models.UniEncoderSpan, models.UniEncoderToken, models.BiEncoderSpan, models.BiEncoderToken:
	case models.UniEncoderSpanDecoder:
		// As the reference (gliner/model.py, UniEncoderSpanDecoderGLiNER.export_to_onnx
		// raises NotImplementedError): the labels decoder generates label
		// strings token by token, which is not one static graph.
		return nil, fmt.Errorf("onnx export: %v is not supported: its labels decoder generates label names step by step "+
			"(the reference refuses this export too); run it with gliner predict", m.Arch)
	default:
		return nil, fmt.Errorf("onnx export: %v is not supported (supported: %v, %v, %v, %v)", m.Arch,
			models.UniEncoderSpan, models.UniEncoderToken, models.BiEncoderSpan, models.BiEncoderToken)
	}
	bi := m.Arch == models.BiEncoderSpan || m.Arch == models.BiEncoderToken
	if o.LabelEmbeddings && !bi {
		return nil, fmt.Errorf("onnx export: label embeddings apply to the bi-encoders only, not %v", m.Arch)
	}
	span := m.Arch == models.UniEncoderSpan || m.Arch == models.BiEncoderSpan
	x := &exporter{m: m, b: newGB("gliner"), dimCache: map[string]string{}}
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

	probe := func(p [nsym]int) (*models.InferenceGraph, []autograd.Step, error) {
		ig, err := m.BuildInferenceGraph(models.GraphDims{B: p[symB], T: p[symT], W: p[symW], C: p[symC], TL: p[symTL], LabelEmbeddings: o.LabelEmbeddings})
		if err != nil {
			return nil, nil, err
		}
		steps, err := autograd.Trace(ig.Graph, ig.Logits)
		return ig, steps, err
	}
	igA, stepsA, err := probe(probeA)
	if err != nil {
		return nil, fmt.Errorf("onnx export: %w", err)
	}
	_, stepsB, err := probe(probeB)
	if err != nil {
		return nil, fmt.Errorf("onnx export: %w", err)
	}
	if len(stepsA) != len(stepsB) {
		return nil, fmt.Errorf("onnx export: the two probe graphs differ (%d and %d steps)", len(stepsA), len(stepsB))
	}

	if err := x.declareInputs(span, bi, o.LabelEmbeddings); err != nil {
		return nil, err
	}
	names := map[*autograd.Node]string{}
	dims := map[*autograd.Node][]dimExpr{}
	for i, sa := range stepsA {
		sb := stepsB[i]
		d, err := deriveShape(sa.Out.Shape(), sb.Out.Shape())
		if sa.Param != nil {
			// Parameters have static shapes.
			d, err = staticShape(sa.Param.Shape), nil
		}
		if err != nil {
			return nil, fmt.Errorf("onnx export: step %d (%s): %w", i, stepName(sa), err)
		}
		if stepName(sa) != stepName(sb) && sa.Kernel != nil && kernelName(sa.Kernel) != kernelName(sb.Kernel) {
			return nil, fmt.Errorf("onnx export: step %d is %s in one probe graph and %s in the other", i, stepName(sa), stepName(sb))
		}
		dims[sa.Out] = d
		switch {
		case sa.Param != nil:
			x.b.floatInit(sa.Param.Name, sa.Param.Shape, sa.Param.Data)
			names[sa.Out] = sa.Param.Name
		case sa.Input != "":
			n, err := x.graphInput(sa.Input, span)
			if err != nil {
				return nil, err
			}
			names[sa.Out] = n
		default:
			st := step{k: sa.Kernel, out: d}
			for _, in := range sa.In {
				n, ok := names[in]
				if !ok {
					return nil, fmt.Errorf("onnx export: step %d (%s): input not yet defined", i, sa.Kernel.Name())
				}
				st.in = append(st.in, n)
				st.inInt = append(st.inInt, in.IsInt())
				st.shapes = append(st.shapes, in.Shape())
				st.dims = append(st.dims, dims[in])
			}
			n, err := x.mapKernel(st)
			if err != nil {
				return nil, fmt.Errorf("onnx export: %v: %w", m.Arch, err)
			}
			names[sa.Out] = n
		}
	}
	var logits string
	for _, sa := range stepsA {
		if autograd.Same(sa.Out, igA.Logits) {
			logits = names[sa.Out]
		}
	}
	if logits == "" {
		return nil, fmt.Errorf("onnx export: logits not found in the traced graph")
	}
	if span {
		x.b.output("logits", logits, pb.TensorProto_FLOAT, "batch_size", "sequence_length", "num_spans", "num_classes")
	} else {
		// The reference names the token logits' axes so although they are
		// (batch, words, classes, 3) (gliner/model.py, UniEncoderTokenGLiNER._get_onnx_input_spec).
		x.b.output("logits", logits, pb.TensorProto_FLOAT, "position", "batch_size", "sequence_length", "num_classes")
	}
	return &pb.ModelProto{
		IrVersion:       8,
		ProducerName:    "gliner-go",
		ProducerVersion: "1",
		OpsetImport:     []*pb.OperatorSetIdProto{{Domain: "", Version: Opset}},
		Graph:           x.b.g,
	}, nil
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

func stepName(s autograd.Step) string {
	switch {
	case s.Param != nil:
		return "parameter " + s.Param.Name
	case s.Input != "":
		return "input " + s.Input
	default:
		return s.Kernel.Name()
	}
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
		n := b.op("ReduceSum", []string{x.entTokens(), b.i64(1)}, aInt("keepdims", 0))
		x.symVal[symC] = b.op("Reshape", []string{b.op("ReduceMax", []string{n}, aInt("keepdims", 0)), b.i64(1)})
	}
	return nil
}

// entTokens is (input_ids == class_token_index) as int64 (B,T).
func (x *exporter) entTokens() string {
	key := "ent_tokens"
	if n, ok := x.b.consts[key]; ok {
		return n
	}
	n := x.b.castI64(x.b.op("Equal", []string{"input_ids", x.b.i64s(int64(x.m.Cfg.ClassTokenIndex))}))
	x.b.consts[key] = n
	return n
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
		ent := x.entTokens()
		cum := b.op("CumSum", []string{ent, b.i64s(1)})
		pos := x.nth(cum, ent, x.symVal[symC])
		if !x.m.Cfg.EmbedEntToken {
			pos = b.op("Where", []string{b.op("GreaterOrEqual", []string{pos, b.i64s(0)}), b.op("Add", []string{pos, b.i64s(1)}), pos})
		}
		return pos, nil
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
