package autograd

// Value is a dense row-major tensor: float32 data in F, or int64 data in I
// (index inputs). Exactly one of F and I is non-nil for a bound host
// value. A value in a device backend's memory (package autograd/cuda) has
// nil F and I and its first element's device address in Dev; its DType is
// the buffer's it views.
type Value struct {
	Shape []int
	F     []float32
	I     []int64
	Dev   uint64
}

// Numel is the number of elements of a shape (1 for a scalar).
func Numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Size is the number of elements of v.
func (v Value) Size() int { return Numel(v.Shape) }

// Dim returns dimension i, counting from the end when i < 0.
func (v Value) Dim(i int) int {
	if i < 0 {
		i += len(v.Shape)
	}
	return v.Shape[i]
}

func cloneShape(s []int) []int { return append([]int(nil), s...) }
