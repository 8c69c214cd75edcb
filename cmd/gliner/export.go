package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gliner-go/gliner/models"
	"github.com/gliner-go/gliner/onnx"
)

func newExportCmd() *cobra.Command {
	var mf modelFlags
	var output string
	var overwrite bool
	var format string
	var labelEmb, encoderOnly, positionFirst bool
	var quantize string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Re-export a model folder in the reference's layout (model.safetensors, gliner_config.json, tokenizer files)",
		Long: `Load a GLiNER model folder (weights from model.safetensors or
pytorch_model.bin) and write it again in the reference's save_pretrained
layout, all at the top level of --output: gliner_config.json (as the
reference's to_json_file writes it), model.safetensors (reference key names,
F32, metadata format pt) and the tokenizer files. The folder is written
atomically; an existing non-empty folder is refused unless --overwrite.
Bi-encoders' labels tokenizer and span decoders' decoder tokenizer are saved
in labels_tokenizer/ and decoder_tokenizer/ (read by gliner-go's loader; the
reference loads them from the hub ids in the config).

With --format onnx the folder holds model.onnx instead of model.safetensors,
as the reference's export_to_onnx writes it: the inputs, outputs, dtypes and
dynamic axes of the reference's export (opset 17), runnable by onnxruntime on
batches of any size and length. Exported: UniEncoderSpan, UniEncoderToken,
BiEncoderSpan, BiEncoderToken (output logits) and UniEncoderSpanRelex,
UniEncoderTokenRelex (outputs logits, rel_idx, rel_logits, rel_mask; the
entity and adjacency thresholds of the model, 0.5 by default, are fixed in
the graph). --label-embeddings exports a bi-encoder over pre-computed label
embeddings (input labels_embeddings) instead of the label token ids.

The decoder architectures (UniEncoderSpanDecoder, UniEncoderTokenDecoder)
are refused unless --encoder-only: their labels decoder generates label
names token by token and is not exported (the reference refuses their
export too). With --encoder-only the file holds the encoder and the span
(token) scorer with UniEncoderSpan's (UniEncoderToken's) inputs and logits
output: the entity scores over the given labels, without generated labels.

--position-first writes a token model's logits as (3, batch, words, classes)
(start, end, inside first), the layout gline-rs's token mode (and its
relation extraction) reads, instead of the reference's (batch, words,
classes, 3), with logit -1e4 on each text's padding words: gline-rs decodes
every word position of a batch and fails on a span over padding.

--quantize int8 stores every linear layer's weight as int8 (one symmetric
scale per output column) and quantises its input per call to uint8
(DynamicQuantizeLinear, MatMulInteger), as onnxruntime's dynamic
quantisation does; embeddings and the other weights stay float32.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output == "" {
				return fmt.Errorf("export: --output is required")
			}
			switch {
			case format != "safetensors" && format != "onnx":
				return fmt.Errorf("export: --format %q (valid: safetensors, onnx)", format)
			case format == "safetensors" && (labelEmb || encoderOnly || positionFirst || quantize != ""):
				return fmt.Errorf("export: --label-embeddings, --encoder-only, --position-first and --quantize need --format onnx")
			}
			p, err := mf.load()
			if err != nil {
				return err
			}
			exportErr := func(err error) error {
				if errors.Is(err, models.ErrFolderNotEmpty) {
					return fmt.Errorf("export %s: folder exists and is not empty: pass --overwrite to replace it", output)
				}
				return err
			}
			switch format {
			case "safetensors":
				if err := models.ExportWith(p.Model, p.Tokenizer, output, models.ExportOptions{Overwrite: overwrite, AuxTokenizer: p.LabelsTokenizer}); err != nil {
					return exportErr(err)
				}
			case "onnx":
				if err := onnx.Export(p.Model, p.Tokenizer, p.LabelsTokenizer, output, onnx.Options{LabelEmbeddings: labelEmb, EncoderOnly: encoderOnly, PositionFirst: positionFirst, Quantize: quantize}, overwrite); err != nil {
					return exportErr(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "exported %s to %s\n", mf.model, filepath.Join(output, onnx.FileName))
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "exported %s to %s (%d tensors)\n", mf.model, output, len(p.Model.Store.Names()))
			return nil
		},
	}
	mf.add(cmd)
	cmd.Flags().StringVar(&output, "output", "", "folder to write (required)")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace an existing non-empty folder")
	cmd.Flags().StringVar(&format, "format", "safetensors", "model file format: safetensors or onnx")
	cmd.Flags().BoolVar(&labelEmb, "label-embeddings", false, "ONNX bi-encoders: take pre-computed label embeddings (input labels_embeddings)")
	cmd.Flags().StringVar(&quantize, "quantize", "", "ONNX: int8 quantises the linear layers' weights (dynamic int8, DynamicQuantizeLinear + MatMulInteger)")
	cmd.Flags().BoolVar(&positionFirst, "position-first", false, "ONNX token models: logits (3, batch, words, classes), padding words -1e4, the layout gline-rs's token mode reads")
	cmd.Flags().BoolVar(&encoderOnly, "encoder-only", false, "ONNX decoder architectures: export the encoder and span/token scorer without the labels decoder")
	return cmd
}
