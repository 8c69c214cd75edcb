package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gliner-go/gliner/models"
)

func newExportCmd() *cobra.Command {
	var mf modelFlags
	var output string
	var overwrite bool
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
reference loads them from the hub ids in the config).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output == "" {
				return fmt.Errorf("export: --output is required")
			}
			p, err := mf.load()
			if err != nil {
				return err
			}
			if err := models.ExportWith(p.Model, p.Tokenizer, output, models.ExportOptions{Overwrite: overwrite, AuxTokenizer: p.LabelsTokenizer}); err != nil {
				if errors.Is(err, models.ErrFolderNotEmpty) {
					return fmt.Errorf("export %s: folder exists and is not empty: pass --overwrite to replace it", output)
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "exported %s to %s (%d tensors)\n", mf.model, output, len(p.Model.Store.Names()))
			return nil
		},
	}
	mf.add(cmd)
	cmd.Flags().StringVar(&output, "output", "", "folder to write (required)")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace an existing non-empty folder")
	return cmd
}
