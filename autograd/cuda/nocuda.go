//go:build !glcuda

package cuda

import "fmt"

// Built reports whether this binary has the CUDA backend (built with -tags glcuda).
const Built = false

// probe is never reached without the tag (Select checks Built first).
func probe(ordinal int) error {
	return fmt.Errorf("cuda:%d: built without -tags glcuda", ordinal)
}
