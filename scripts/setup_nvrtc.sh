#!/usr/bin/env bash
# Installs NVRTC (libnvrtc, about 16 MB, a few seconds) so that CI can
# compile every CUDA kernel source of autograd/cuda without a GPU
# (TestKernelSourcesCompile). Debian ships it in non-free: this adds the
# contrib and non-free components of the machine's Debian suites in a
# separate sources file, then installs libnvrtc11.2 (NVRTC 11.8). Safe to
# run twice.
set -euo pipefail
if dpkg -s libnvrtc11.2 >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
src=/etc/apt/sources.list.d/gliner-nonfree.sources
if ! apt-cache policy libnvrtc11.2 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  $SUDO tee "$src" >/dev/null <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: $codename $codename-updates
Components: contrib non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  $SUDO apt-get update -qq
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libnvrtc11.2 >/dev/null
