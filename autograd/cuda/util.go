package cuda

import (
	"math"
	"regexp"
)

func f32bits(f float32) uint64 { return uint64(math.Float32bits(f)) }
func f64bits(f float64) uint64 { return math.Float64bits(f) }

var kernelNameRE = regexp.MustCompile(`extern "C" __global__ void (gl_\w+)\(`)

// globalNames lists the extern "C" kernels a source defines.
func globalNames(src string) []string {
	var out []string
	for _, m := range kernelNameRE.FindAllStringSubmatch(src, -1) {
		out = append(out, m[1])
	}
	return out
}
