package kern_test

import (
	"fmt"

	"github.com/gliner-go/gliner/autograd/kern"
)

// LayerNorm over rows of 4 with DeBERTa's epsilon, then its backward for
// the gradient of y[0,0].
func ExampleLayerNormForward() {
	rows, cols := 2, 4
	x := []float32{1, 2, 3, 4, 10, 10, 10, 14}
	gamma := []float32{1, 1, 1, 1}
	beta := []float32{0, 0, 0, 0}
	y := make([]float32, rows*cols)
	mean, rstd := make([]float32, rows), make([]float32, rows) // saved for backward
	kern.LayerNormForward(y, mean, rstd, x, gamma, beta, rows, cols, kern.EpsDeBERTa)
	fmt.Printf("y = %.4f\nmean = %v\n", y, mean)

	dy := make([]float32, rows*cols)
	dy[0] = 1
	dx, dgamma, dbeta := make([]float32, rows*cols), make([]float32, cols), make([]float32, cols)
	kern.LayerNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, rows, cols)
	fmt.Printf("dx row 0 = %.4f\ndbeta = %v\n", dx[:cols], dbeta)
	// Output:
	// y = [-1.3416 -0.4472 0.4472 1.3416 -0.5774 -0.5774 -0.5774 1.7321]
	// mean = [2.5 11]
	// dx row 0 = [0.2683 -0.3578 -0.0894 0.1789]
	// dbeta = [1 0 0 0]
}
