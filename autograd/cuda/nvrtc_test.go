//go:build glcuda

package cuda

import (
	"strings"
	"testing"
)

// needNVRTC skips (reporting that the check did not run) when no NVRTC
// library can be loaded; GLINER_REQUIRE_NVRTC=1 turns that into a failure
// (CI installs libnvrtc and sets it).
func needNVRTC(t *testing.T) {
	t.Helper()
	if _, _, err := NVRTCVersion(); err != nil {
		if requireNVRTC() {
			t.Fatalf("GLINER_REQUIRE_NVRTC=1 but NVRTC is not available: %v", err)
		}
		t.Skipf("NOT RUN: NVRTC not available (install libnvrtc, e.g. Debian non-free libnvrtc11.2): %v", err)
	}
}

var globalRE = kernelNameRE

// Every embedded kernel source compiles with NVRTC for compute_70, compute_80
// and the newest architecture the library knows, and the PTX defines
// every extern "C" kernel the source declares. Needs libnvrtc, no GPU.
func TestKernelSourcesCompile(t *testing.T) {
	needNVRTC(t)
	maj, min, _ := NVRTCVersion()
	archs, err := NVRTCArchs()
	if err != nil {
		t.Fatal(err)
	}
	// Volta, Ampere and the newest the library knows (Hopper for NVRTC
	// 11.8+): the oldest and newest code paths, a compile of a few seconds
	// per source.
	var use []int
	newest := archs[len(archs)-1]
	for _, a := range archs {
		if a == 70 || a == 80 || a == newest {
			use = append(use, a)
		}
	}
	if len(use) == 0 {
		t.Fatalf("NVRTC %d.%d supports no architecture >= 70: %v", maj, min, archs)
	}
	srcs, err := Sources()
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) < 6 {
		t.Fatalf("only %d kernel sources embedded", len(srcs))
	}
	total := 0
	for _, s := range srcs {
		names := globalRE.FindAllStringSubmatch(s.Text, -1)
		if len(names) == 0 {
			t.Errorf("%s declares no extern \"C\" kernel", s.Name)
		}
		for _, a := range use {
			ptx, err := CompilePTX(s.Name, s.Text, a)
			if err != nil {
				t.Errorf("%v", err)
				continue
			}
			for _, n := range names {
				if !strings.Contains(ptx, ".entry "+n[1]+"(") {
					t.Errorf("%s (compute_%d): PTX lacks the entry %s", s.Name, a, n[1])
				}
			}
		}
		total += len(names)
	}
	t.Logf("NVRTC %d.%d compiled %d sources (%d kernels) for compute_%v", maj, min, len(srcs), total, use)
}

// A source with an error is reported with NVRTC's log, naming the file.
func TestCompileErrorCarriesLog(t *testing.T) {
	needNVRTC(t)
	_, err := CompilePTX("broken.cu", `extern "C" __global__ void k(float *x) { x[0] = undefined_name; }`, 70)
	if err == nil {
		t.Fatal("a source with an undefined name compiled")
	}
	if !strings.Contains(err.Error(), "broken.cu") || !strings.Contains(err.Error(), "undefined_name") {
		t.Fatalf("error does not name the file and the problem: %v", err)
	}
}
