#!/usr/bin/env bash
# The one command for a machine with an NVIDIA GPU. It runs, and summarises
# as PASS / FAIL / NOT RUN:
#   1. every kernel CPU vs CUDA, forward and backward (autograd/cuda; kernel
#      sources must compile: GLINER_REQUIRE_NVRTC=1),
#   2. the fixtures' goldens through the CUDA backend (models TestGoldensOnCUDA),
#   3. a 50-step CPU-vs-CUDA training comparison and CPU<->CUDA checkpoint
#      resume (finetune TestCUDATrainingMatchesCPU, ...AcrossCPUAndCUDA),
#   4. the device-residency proof on the simulated device (CPU only: bit-
#      identical training, exact per-step host traffic, goldens),
#   5. the feed-forward benchmark against PyTorch eager on the same GPU.
# With a GPU the device tests must run (GLINER_REQUIRE_GPU=1: a skip is a
# failure). Without one (nvidia-smi sees none) groups 1-3 and 5 are
# reported NOT RUN and the script exits 2: never a pass.
#
#   bash scripts/gpu_check.sh
#
# The CUDA libraries (libcuda, libcublas, libnvrtc) are loaded at run time;
# when they are not on the loader's path (a pip-installed PyTorch ships
# cuBLAS and NVRTC inside site-packages/nvidia/*/lib), their directories are
# taken from the Python environment into GLINER_CUDA_LIB_DIRS.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if dirs=$($PY - <<'PYEOF' 2>/dev/null
import glob, os
try:
    import nvidia
    roots = list(nvidia.__path__)
except Exception:
    roots = []
out = []
for r in roots:
    out += sorted(glob.glob(os.path.join(r, "*", "lib")))
print(":".join(out))
PYEOF
); then
  export GLINER_CUDA_LIB_DIRS="${GLINER_CUDA_LIB_DIRS:+$GLINER_CUDA_LIB_DIRS:}$dirs"
fi
echo "GLINER_CUDA_LIB_DIRS=${GLINER_CUDA_LIB_DIRS:-}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi not found"

gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
status=0
declare -a summary
record() { summary+=("$1: $2"); [ "$2" = PASS ] || status=1; }
gotest() { # name, then go test arguments
  local name=$1; shift
  echo "== $name: go test $*"
  go test -count=1 -v "$@" 2>&1 | tee -a /tmp/gliner_gpu_check.log | grep -E '^(--- |ok|FAIL|PASS)|NOT RUN|cuda_ffn_ms'
  if [ "${PIPESTATUS[0]}" = 0 ]; then record "$name" PASS; else record "$name" FAIL; fi
}
: > /tmp/gliner_gpu_check.log

gotest "simulated-device residency (CPU)" ./autograd/backendtest/ ./finetune/ ./models/ \
  -run 'TestMachineOnSimulatedDevice|TestSimulatedDevice|TestCheckpointsResumeAcrossBackends|TestGoldensOnSimulatedDevice'
gotest "plan-time refusal of kernels without a device version (CPU)" -tags glcuda ./autograd/cuda/ -run TestCompileRefuses
gotest "CUDA kernel coverage of the fixtures' plans (CPU)" -tags glcuda ./models/ -run TestCUDAKernelCoverage

if [ "$gpus" -gt 0 ]; then
  export GLINER_REQUIRE_GPU=1 GLINER_REQUIRE_NVRTC=1 GLINER_CUDA_BENCH=1
  gotest "kernels CPU vs CUDA" -tags glcuda ./autograd/cuda/
  gotest "fixture goldens through CUDA" -tags glcuda ./models/ -run TestGoldensOnCUDA
  gotest "50-step CPU vs CUDA training, cross-device resume" -tags glcuda ./finetune/ \
    -run 'TestCUDATrainingMatchesCPU|TestCheckpointsResumeAcrossCPUAndCUDA'
  go_ms=$(grep -o 'cuda_ffn_ms [0-9.]*' /tmp/gliner_gpu_check.log | awk '{print $2}' | tail -1)
  echo "== PyTorch eager, same block, same GPU"
  torch_ms=$($PY scripts/gpu_bench_ffn.py cuda | awk '/torch_ffn_ms/ {print $2}')
  if [ -n "$go_ms" ] && [ -n "$torch_ms" ]; then
    echo "feed-forward block 8x384x768(3072) fwd+bwd fp32: gliner-go CUDA ${go_ms} ms, PyTorch eager ${torch_ms} ms, ratio $(awk -v a="$go_ms" -v b="$torch_ms" 'BEGIN{printf "%.2f", a/b}')x"
    record "feed-forward benchmark vs PyTorch" PASS
  else
    echo "timing comparison incomplete (go: '${go_ms}', torch: '${torch_ms}')"
    record "feed-forward benchmark vs PyTorch" FAIL
  fi
else
  for g in "kernels CPU vs CUDA" "fixture goldens through CUDA" "50-step CPU vs CUDA training, cross-device resume" "feed-forward benchmark vs PyTorch"; do
    summary+=("$g: NOT RUN (no GPU: nvidia-smi lists none)")
  done
  status=2
fi

echo "== summary"
printf '   %s\n' "${summary[@]}"
cat <<'MSG'
== NOT RUN (not implemented yet; see autograd/cuda/doc.go):
   the whole-model DeBERTa-v3-base step benchmark on CUDA (no benchmark
   places a model on the device yet); the token architectures in groups 2-3
   fail at compile time because the token scorer and the token loss have
   no device version; attention dropout and bf16/fp16 do not exist.
MSG
exit $status
