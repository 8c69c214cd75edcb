// Command train fine-tunes a GLiNER UniEncoderSpan model from a recipe:
//
//	go run ./cmd/train --recipe recipes/uni_span_sample.yaml
//	go run ./cmd/train --recipe recipes/uni_span_deberta_v3.yaml --set model.model_name=/path/to/deberta-v3-small
//	go run ./cmd/train --recipe R --resume    # continue from output_dir's latest checkpoint
//
// It wires flags to finetune.Run; main only calls run.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
