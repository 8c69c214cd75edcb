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
	var labelEmb bool
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
dynamic axes of the reference's export (UniEncoderSpan, UniEncoderToken,
BiEncoderSpan, BiEncoderToken; opset 17), runnable by onnxruntime on
batches of any size and length. --label-embeddings exports a bi-encoder
over pre-computed label embeddings (input labels_embeddings) instead of the
label token ids.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output == "" {
				return fmt.Errorf("export: --output is required")
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
				if labelEmb {
					return fmt.Errorf("export: --label-embeddings needs --format onnx")
				}
				if err := models.ExportWith(p.Model, p.Tokenizer, output, models.ExportOptions{Overwrite: overwrite, AuxTokenizer: p.LabelsTokenizer}); err != nil {
					return exportErr(err)
				}
			case "onnx":
				if err := onnx.Export(p.Model, p.Tokenizer, p.LabelsTokenizer, output, onnx.Options{LabelEmbeddings: labelEmb}, overwrite); err != nil {
					return exportErr(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "exported %s to %s\n", mf.model, filepath.Join(output, onnx.FileName))
				return nil
			default:
				return fmt.Errorf("export: --format %q (valid: safetensors, onnx)", format)
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
	return cmd
}
