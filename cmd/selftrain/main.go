// Command selftrain self-trains a GLiNER model on an unlabelled domain
// corpus with weak labels, rounds of teacher → weak labels → student, as
// recipes/selftrain.yaml describes:
//
//	go run ./cmd/selftrain --recipe recipes/selftrain.yaml [--set key.path=value ...]
//
// The command is internal/cli's (also `gliner selftrain`); main only calls
// run.
package main

import (
	"io"
	"os"

	"github.com/gliner-go/gliner/internal/cli"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run executes the command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	return cli.Execute(cli.NewSelftrainCmd(stdout, stderr), "selftrain", args, stdout, stderr)
}
