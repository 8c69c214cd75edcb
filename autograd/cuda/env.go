package cuda

import "os"

// requireNVRTC reports whether GLINER_REQUIRE_NVRTC=1: the NVRTC checks
// must run (CI, which installs libnvrtc) instead of skipping.
func requireNVRTC() bool { return os.Getenv("GLINER_REQUIRE_NVRTC") == "1" }

// requireGPU reports whether GLINER_REQUIRE_GPU=1: the device tests must run
// (scripts/gpu_check.sh on a GPU machine) instead of skipping.
func requireGPU() bool { return os.Getenv("GLINER_REQUIRE_GPU") == "1" }
