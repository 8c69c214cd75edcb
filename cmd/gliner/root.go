package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/gliner-go/gliner/internal/cli"
)

// commandBuilders holds the subcommand groups; each file adds its own in an
// init function with registerCommand, so new groups need no edit here.
var commandBuilders []func() *cobra.Command

func registerCommand(build func() *cobra.Command) {
	commandBuilders = append(commandBuilders, build)
}

// newRootCmd builds a fresh command tree (tests build one per run). The
// train and selftrain commands are cmd/train's and cmd/selftrain's.
func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "gliner",
		Short:         "GLiNER in Go: training, self-training, dataset tools, prediction, evaluation and export",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, build := range commandBuilders {
		root.AddCommand(build())
	}
	root.AddCommand(cli.NewTrainCmd(stdout, stderr), cli.NewSelftrainCmd(stdout, stderr))
	return root
}

// run executes the command line args, writing to stdout and stderr, and
// returns the process exit status: 0 on success, 1 on any error, 130 when
// a training run was stopped by a signal.
func run(args []string, stdout, stderr io.Writer) int {
	return cli.Execute(newRootCmd(stdout, stderr), "gliner", args, stdout, stderr)
}
