// Package cuda is gliner-go's CUDA backend (autograd.Backend on an NVIDIA
// GPU), built with the build tag glcuda:
//
//	go build -tags glcuda ./...
//
// The tag is glcuda, not cuda, because Gorgonia (which package autograd
// uses for graph building) claims the cuda tag for its own CUDA code, which
// needs the CUDA toolkit's and cuDNN's headers at build time.
//
// # Design
//
// The CUDA libraries are bound at run time: dl.go dlopens libcuda (the
// driver API), libcublas and libnvrtc from cgo and resolves every function
// it calls by name, so building the glcuda variant needs neither the CUDA
// toolkit nor a GPU, only a C compiler, and the same binary runs on any
// driver and library version that has these (long-stable) entry points.
// The kernels are CUDA C sources (kernels/*.cu) embedded in the binary and
// compiled at run time by NVRTC for the device's architecture (newest
// virtual architecture NVRTC knows at or below the device's compute
// capability; the driver JIT-compiles the PTX). No nvcc, no fat binaries,
// no generated files in the repository; and CI checks that every kernel
// source compiles by calling NVRTC alone (TestKernelSourcesCompile), which
// needs only libnvrtc (Debian non-free libnvrtc11.2, about 16 MB), no GPU.
// Products use cuBLAS (sgemm, strided-batched sgemm) in pedantic fp32 mode
// (no TF32), so fp32 results match the CPU's to rounding.
//
// Without the tag the package still builds: Built is false and Select
// refuses a CUDA device with an error naming the setting and the build
// flag; ParseDevice, ParsePrecision and CheckSettings validate the
// training.device / training.precision recipe keys and the --device flags.
//
// # What exists
//
//   - Bindings: driver (init, devices, primary context, alloc/free/memset,
//     host/device copies, module load from PTX, launch, synchronise),
//     cuBLAS (sgemm, strided-batched sgemm, math mode), NVRTC (compile,
//     log, supported architectures).
//   - Backend: device buffers and views (autograd.Value.Dev), host copies,
//     Forward/Backward for the kernels whose attributes are add, relu,
//     activation (gelu, gelu_new, tanh, sigmoid), dropout (Philox4x32-10
//     counter-based RNG, no mask stored), layernorm, linear, bmm_nt,
//     gather_rows, embedding, attention (BERT, causal, and DeBERTa's
//     disentangled c2p/p2c; attention dropout refused) and the layout
//     kernels concat_last, columns, add_leading_rows, mask_rows,
//     broadcast_rows and masked_mean, sigmoid_pair_mask, scaled_sum and
//     dot_const; AdamW, grad-norm
//     and clipping on device tensors. Any other kernel is an error naming
//     it.
//   - Kernel sources also for masked softmax/log-softmax (tested directly).
//
// # What does not exist yet
//
// autograd.Machine binds parameters, inputs and gradients as host slices,
// so no model runs on this backend: Select reports ErrNotWired for a usable
// device. Attention dropout, the BiLSTM, conv1d (GPT-2), the scorer,
// span-first-layer and decoder-inputs kernels, the losses and bf16/fp16
// have no device implementation.
//
// # Tests
//
// Tests that need a GPU skip with "NOT RUN: …" when none is usable, or fail
// when GLINER_REQUIRE_GPU=1 (scripts/gpu_check.sh sets it); the NVRTC
// compile check skips without libnvrtc unless GLINER_REQUIRE_NVRTC=1 (.ci/run
// installs libnvrtc and sets it).
package cuda
