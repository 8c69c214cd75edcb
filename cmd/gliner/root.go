package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// commandBuilders holds the subcommand groups; each file adds its own in an
// init function with registerCommand, so new groups need no edit here.
var commandBuilders []func() *cobra.Command

func registerCommand(build func() *cobra.Command) {
	commandBuilders = append(commandBuilders, build)
}

// newRootCmd builds a fresh command tree (tests build one per run).
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "gliner",
		Short:         "GLiNER in Go: dataset tools, prediction and export",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, build := range commandBuilders {
		root.AddCommand(build())
	}
	return root
}

// run executes the command line args, writing to stdout and stderr, and
// returns the process exit status: 0 on success, 1 on any error.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(stderr, "gliner:", err)
		return 1
	}
	return 0
}
