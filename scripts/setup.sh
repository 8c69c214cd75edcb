#!/usr/bin/env bash
# Installs what gliner-go needs on a fresh Debian machine: OpenBLAS for the
# default cgo BLAS path, and the Go modules. Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! dpkg -s libopenblas-dev >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libopenblas-dev >/dev/null
fi
go mod download
