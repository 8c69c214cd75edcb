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
//     Zero, and Forward/Backward for the kernels listed in DeviceKernels
//     (check.go), by their kern.Attrs name: add, relu, activation (gelu,
//     gelu_new, tanh, sigmoid), dropout (Philox4x32-10 counter-based RNG, no
//     mask stored), layernorm, linear, conv1d (GPT-2), bmm_nt, gather_rows,
//     embedding, attention (BERT, causal, and DeBERTa's disentangled
//     c2p/p2c; attention dropout refused), bilstm (packed sequences:
//     cuBLAS per step plus kernels/lstm.cu), span_first_layer (markerV0's
//     fused first out_project layer: cuBLAS products and kernels/span.cu),
//     span_loss (BCE/focal with label smoothing and margin, masks, sum or
//     mean; negative sampling and reduction none refused: kernels/loss.cu),
//     the layout kernels concat_last, columns, add_leading_rows, mask_rows,
//     broadcast_rows and masked_mean, sigmoid_pair_mask, scaled_sum and
//     dot_const, and the optimizer kernels adamw, grad_norm and scale
//     (forward only) that package train runs on a device-resident store.
//   - Plan-time refusal: Backend implements autograd.KernelChecker, so
//     compiling a plan that needs any other kernel (forward or backward)
//     fails at CompileIn with an error naming the kernel and the cuda
//     backend; nothing falls back to the host at run time.
//   - Kernel sources also for masked softmax/log-softmax (tested directly).
//
// # Device residency
//
// autograd.Store.Place, models.Model.Place and train.Run keep parameters,
// gradients, AdamW moments and activations in backend buffers: a training
// step uploads its batch tensors and downloads its loss and gradient norm;
// checkpoint save and load copy weights and moments explicitly. This is
// proven without a GPU by the simulated device of autograd/backendtest
// (finetune's TestSimulatedDeviceTrainsLikeCPU: bit-identical losses and
// weights, exact per-step byte counts). On this backend grad_norm also
// reads back each gradient tensor's sum of squares (8 bytes per tensor).
//
// # What does not exist yet
//
// Every kernel of the span architectures' plans (UniEncoderSpan with BERT
// or DeBERTa, BiEncoderSpan: forward and training step) has a device
// version (models' TestCUDAKernelCoverage checks it without a GPU), but
// none has run on a GPU yet. The token scorer (scorer_hidden), the token,
// adjacency, relation and decoder losses, the decoder-inputs kernel,
// attention dropout and bf16/fp16 have no device implementation: a plan
// that needs one is refused at compile time naming it. Select reports
// ErrNotWired for a usable device: recipes' training.device is not wired to
// models.Model.Place.
//
// # Tests
//
// Tests that need a GPU skip with "NOT RUN: …" when none is usable, or fail
// when GLINER_REQUIRE_GPU=1 (scripts/gpu_check.sh sets it); the NVRTC
// compile check skips without libnvrtc unless GLINER_REQUIRE_NVRTC=1 (.ci/run
// installs libnvrtc and sets it).
package cuda
