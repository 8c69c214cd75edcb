// Command selftrain self-trains a GLiNER model on an unlabelled domain
// corpus with weak labels, rounds of teacher → weak labels → student, as
// recipes/selftrain.yaml describes:
//
//	go run ./cmd/selftrain --recipe recipes/selftrain.yaml [--set key.path=value ...]
//
// The logic lives in package selftrain; main only calls run.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
