// Command gliner is the general GLiNER command line: dataset tools
// (gliner data validate|convert|stats) and, as they are added, prediction
// and export. Each subcommand group lives in its own file and registers
// itself with registerCommand; main only calls run.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
