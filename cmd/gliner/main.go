// Command gliner is the general GLiNER command line: training (gliner
// train, gliner selftrain: the commands of cmd/train and cmd/selftrain),
// dataset tools (gliner data validate|convert|stats), prediction,
// evaluation, export and label embeddings. Each subcommand group lives in
// its own file and registers itself with registerCommand; main only calls
// run.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
