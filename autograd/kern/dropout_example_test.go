package kern_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/gliner-go/gliner/autograd/kern"
)

// Inverted dropout with p = 0.5: survivors are doubled; the same seed
// gives the same mask.
func ExampleDropoutForward() {
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8}
	y, mask := make([]float32, len(x)), make([]float32, len(x))
	if err := kern.DropoutForward(y, mask, x, 0.5, rand.New(rand.NewPCG(7, 7))); err != nil {
		panic(err)
	}
	dx := make([]float32, len(x))
	kern.DropoutBackward(dx, []float32{1, 1, 1, 1, 1, 1, 1, 1}, mask)
	fmt.Println(y)
	fmt.Println(dx)
	// Output:
	// [2 4 0 0 10 12 14 0]
	// [2 2 0 0 2 2 2 0]
}
