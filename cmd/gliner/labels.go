package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gliner-go/gliner/internal/fileio"
	"github.com/gliner-go/gliner/models"
)

func init() { registerCommand(newLabelsCmd) }

func newLabelsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "labels",
		Short: "Bi-encoder label tools (label-embedding cache)",
	}
	cmd.AddCommand(newLabelsEmbedCmd())
	return cmd
}

func newLabelsEmbedCmd() *cobra.Command {
	var mf modelFlags
	var labelsFile, output string
	var chunk int
	cmd := &cobra.Command{
		Use:   "embed",
		Short: "Encode a bi-encoder's entity types once into a label-embeddings file",
		Long: `Encode a fixed schema of entity types once with a bi-encoder's labels
encoder (BiEncoderSpan, BiEncoderToken): labels encoder, labels_projection
and mean pooling give one vector per label, the reference's labels_embeds.
"gliner predict --label-embeddings FILE" then skips the labels encoder on
every batch.

--labels FILE holds the labels one per line (blank lines and surrounding
spaces ignored) or as a JSON list of strings. Duplicates are kept once.

The output is a safetensors file: tensor "labels_embeds" (C, hidden_size)
F32 and metadata "labels" (JSON list), "architecture" and "fingerprint"
(sha256 over the labels-encoder parameters): predicting with another
model's embeddings is an error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := mf.checkDevice(); err != nil {
				return err
			}
			if labelsFile == "" || output == "" {
				return fmt.Errorf("labels embed: --labels and --output are required")
			}
			if err := distinctPaths(1, [][2]string{{"--labels", labelsFile}, {"--output", output}}); err != nil {
				return fmt.Errorf("labels embed: %w", err)
			}
			labels, err := readLabelsFile(labelsFile)
			if err != nil {
				return err
			}
			p, err := mf.load()
			if err != nil {
				return err
			}
			le, err := p.EmbedLabels(labels, chunk)
			if err != nil {
				return fmt.Errorf("%s: %w", labelsFile, err)
			}
			if err := le.Save(output, p.Model.Arch.String()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d labels × %d, fingerprint %.16s\n", output, len(le.Labels), le.Embeddings.Shape[1], le.Fingerprint)
			return nil
		},
	}
	mf.add(cmd)
	mf.addDevice(cmd)
	f := cmd.Flags()
	f.StringVar(&labelsFile, "labels", "", "labels file: one label per line, or a JSON list (required)")
	f.StringVar(&output, "output", "", "output .safetensors file (required)")
	f.IntVar(&chunk, "chunk", 64, "labels encoded per forward pass (0: all at once)")
	return cmd
}

// readLabelsFile reads labels one per line or as a JSON list of strings.
// An empty list is an error naming the file.
func readLabelsFile(path string) ([]string, error) {
	raw, err := fileio.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("labels file: %w", err)
	}
	var labels []string
	if s := strings.TrimSpace(string(raw)); strings.HasPrefix(s, "[") {
		if err := json.Unmarshal([]byte(s), &labels); err != nil {
			return nil, fmt.Errorf("labels file %s: not a JSON list of strings: %w", path, err)
		}
		for i, l := range labels {
			if strings.TrimSpace(l) == "" {
				return nil, fmt.Errorf("labels file %s: label %d is empty", path, i)
			}
		}
	} else {
		for _, line := range strings.Split(s, "\n") {
			if l := strings.TrimSpace(line); l != "" {
				labels = append(labels, l)
			}
		}
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("labels file %s: empty label list", path)
	}
	return labels, nil
}

// loadLabelEmbeddings reads predict's --label-embeddings file.
func loadLabelEmbeddings(path string) (*models.LabelEmbeddings, error) {
	return models.LoadLabelEmbeddings(path)
}
