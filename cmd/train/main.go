// Command train fine-tunes a GLiNER model from a recipe:
//
//	go run ./cmd/train --recipe recipes/uni_span_sample.yaml
//	go run ./cmd/train --recipe recipes/uni_span_deberta_v3.yaml --set model.model_name=/path/to/deberta-v3-small
//	go run ./cmd/train --recipe R --resume    # continue from output_dir's latest checkpoint
//
// The command is internal/cli's (also `gliner train`); main only calls run.
package main

import (
	"io"
	"os"

	"github.com/gliner-go/gliner/internal/cli"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run executes the command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	return cli.Execute(cli.NewTrainCmd(stdout, stderr), "train", args, stdout, stderr)
}
