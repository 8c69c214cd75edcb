#!/usr/bin/env bash
# Installs what gliner-go needs on a fresh Debian machine: OpenBLAS for the
# default cgo BLAS path, Open MPI for data-parallel training, and the Go
# modules. Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."
# OpenBLAS for the default cgo BLAS path; Open MPI (libopenmpi-dev,
# openmpi-bin) for data-parallel training (go build -tags mpi) and its tests.
pkgs=()
for p in libopenblas-dev libopenmpi-dev openmpi-bin; do
  dpkg -s "$p" >/dev/null 2>&1 || pkgs+=("$p")
done
if [ ${#pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi
go mod download
# onnxruntime-node (its libonnxruntime.so) and GLiNER.js for the ONNX export
# tests, into the gitignored onnx/js/node_modules.
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi
if [ ! -d onnx/js/node_modules/onnxruntime-node ] || [ ! -d onnx/js/node_modules/gliner ]; then
  npm ci --ignore-scripts --no-audit --no-fund --prefix onnx/js >/dev/null
fi
