package cuda

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
)

// The CUDA C sources of the device kernels, embedded in every binary and
// compiled at run time by NVRTC (see doc.go for why).
//
//go:embed kernels/*.cu
var kernelFS embed.FS

// Source is one kernel source file.
type Source struct {
	Name string // file name, e.g. "layernorm.cu"
	Text string
}

// Sources returns the embedded kernel sources in name order.
func Sources() ([]Source, error) {
	names, err := fs.Glob(kernelFS, "kernels/*.cu")
	if err != nil {
		return nil, fmt.Errorf("cuda: listing kernel sources: %w", err)
	}
	sort.Strings(names)
	out := make([]Source, 0, len(names))
	for _, n := range names {
		b, err := kernelFS.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("cuda: reading %s: %w", n, err)
		}
		out = append(out, Source{Name: n[len("kernels/"):], Text: string(b)})
	}
	return out, nil
}
