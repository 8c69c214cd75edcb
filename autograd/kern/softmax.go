package kern

import "math"

// SoftmaxForward computes a softmax over the last axis of x (rows×cols):
// y[r,j] = exp(x[r,j] − max_r) / Σ_k exp(x[r,k] − max_r), with exponentials
// and sums in float64. mask is nil or rows×cols; where mask is 0 the
// position is excluded (y = 0) and does not enter the max or the sum. A row
// whose positions are all masked gets y = 0 everywhere (DeBERTa's
// convention, not NaN and not uniform). y may alias x.
func SoftmaxForward(y, x, mask []float32, rows, cols int) {
	checkLen("SoftmaxForward", "x", x, rows*cols)
	checkLen("SoftmaxForward", "y", y, rows*cols)
	checkOptLen("SoftmaxForward", "mask", mask, rows*cols)
	ParallelFor(rows, rowGrain, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, yr := x[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols]
			var mr []float32
			if mask != nil {
				mr = mask[r*cols : (r+1)*cols]
			}
			mx, any := rowMax(xr, mr)
			if !any {
				clear(yr)
				continue
			}
			var s float64
			for j, v := range xr {
				if mr == nil || mr[j] != 0 {
					s += math.Exp(float64(v) - mx)
				}
			}
			inv := 1 / s
			for j, v := range xr {
				if mr == nil || mr[j] != 0 {
					yr[j] = float32(math.Exp(float64(v)-mx) * inv)
				} else {
					yr[j] = 0
				}
			}
		}
	})
}

// rowMax is the largest unmasked value of a row and whether there is one.
func rowMax(x, mask []float32) (float64, bool) {
	mx, any := math.Inf(-1), false
	for j, v := range x {
		if mask == nil || mask[j] != 0 {
			any = true
			if float64(v) > mx {
				mx = float64(v)
			}
		}
	}
	return mx, any
}

// SoftmaxBackward writes dx = y·(dy − Σ_j dy·y) per row from the forward
// OUTPUT y; masked positions (y = 0) get dx = 0. dx may alias dy.
func SoftmaxBackward(dx, dy, y []float32, rows, cols int) {
	checkLen("SoftmaxBackward", "y", y, rows*cols)
	checkLen("SoftmaxBackward", "dy", dy, rows*cols)
	checkLen("SoftmaxBackward", "dx", dx, rows*cols)
	ParallelFor(rows, rowGrain, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			yr, dyr, dxr := y[r*cols:(r+1)*cols], dy[r*cols:(r+1)*cols], dx[r*cols:(r+1)*cols]
			var s float64
			for j, v := range yr {
				s += float64(v) * float64(dyr[j])
			}
			for j, v := range yr {
				dxr[j] = float32(float64(v) * (float64(dyr[j]) - s))
			}
		}
	})
}

// LogSoftmaxForward computes y = x − max − log Σ exp(x − max) over the last
// axis of x (rows×cols), in float64. mask is nil or rows×cols; masked
// positions get y = −Inf and are excluded from the sum; a fully masked row
// is all −Inf. y may alias x.
func LogSoftmaxForward(y, x, mask []float32, rows, cols int) {
	checkLen("LogSoftmaxForward", "x", x, rows*cols)
	checkLen("LogSoftmaxForward", "y", y, rows*cols)
	checkOptLen("LogSoftmaxForward", "mask", mask, rows*cols)
	ninf := float32(math.Inf(-1))
	ParallelFor(rows, rowGrain, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, yr := x[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols]
			var mr []float32
			if mask != nil {
				mr = mask[r*cols : (r+1)*cols]
			}
			mx, any := rowMax(xr, mr)
			if !any {
				for j := range yr {
					yr[j] = ninf
				}
				continue
			}
			var s float64
			for j, v := range xr {
				if mr == nil || mr[j] != 0 {
					s += math.Exp(float64(v) - mx)
				}
			}
			lse := mx + math.Log(s)
			for j, v := range xr {
				if mr == nil || mr[j] != 0 {
					yr[j] = float32(float64(v) - lse)
				} else {
					yr[j] = ninf
				}
			}
		}
	})
}

// LogSoftmaxBackward writes dx = dy − exp(y)·Σ_j dy from the forward
// OUTPUT y. Masked positions (y = −Inf) get dx = 0 and their dy is
// ignored. dx may alias dy.
func LogSoftmaxBackward(dx, dy, y []float32, rows, cols int) {
	checkLen("LogSoftmaxBackward", "y", y, rows*cols)
	checkLen("LogSoftmaxBackward", "dy", dy, rows*cols)
	checkLen("LogSoftmaxBackward", "dx", dx, rows*cols)
	ParallelFor(rows, rowGrain, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			yr, dyr, dxr := y[r*cols:(r+1)*cols], dy[r*cols:(r+1)*cols], dx[r*cols:(r+1)*cols]
			var s float64
			for j, v := range yr {
				if !math.IsInf(float64(v), -1) {
					s += float64(dyr[j])
				}
			}
			for j, v := range yr {
				if math.IsInf(float64(v), -1) {
					dxr[j] = 0
				} else {
					dxr[j] = float32(float64(dyr[j]) - math.Exp(float64(v))*s)
				}
			}
		}
	})
}
