#!/usr/bin/env bash
# Regenerates onnx.pb.go from onnx.proto (the proto3 form of onnx/onnx.proto3
# in github.com/onnx/onnx at commit f7546912001bc31e92a238b17068a21b373d882e,
# ONNX 1.23.0, Apache-2.0). Needs protoc (Debian: protobuf-compiler) and
# protoc-gen-go at the google.golang.org/protobuf version of go.mod:
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.31.0
set -euo pipefail
cd "$(dirname "$0")"
protoc --go_out=. --go_opt=paths=source_relative \
  --go_opt=Monnx.proto=github.com/gliner-go/gliner/onnx/onnxpb onnx.proto
