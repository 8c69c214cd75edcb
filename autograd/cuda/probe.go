//go:build glcuda

package cuda

import "fmt"

// probe checks that device ordinal exists (loading the driver); it opens
// no context.
func probe(ordinal int) error {
	n, err := DeviceCount()
	if err != nil {
		return err
	}
	if ordinal >= n {
		return fmt.Errorf("the driver sees %d CUDA devices", n)
	}
	return nil
}
