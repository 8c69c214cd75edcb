package kern

import (
	"fmt"
	"math"
)

// Layer-norm epsilons of the supported encoders.
const (
	EpsBERT    = 1e-12
	EpsDeBERTa = 1e-7
	EpsGPT2    = 1e-5
)

// rowGrain is the number of rows below which a row-parallel kernel stays
// on the caller's goroutine.
const rowGrain = 8

// LayerNormForward normalises each row of x (rows×cols) over its last
// axis: y = (x − mean)·rstd·gamma + beta with rstd = 1/√(var + eps), var
// the biased variance (PyTorch's nn.LayerNorm). Mean and variance are
// accumulated in float64. It writes y (rows×cols) and the saved buffers
// mean and rstd (rows each) that LayerNormBackward needs. gamma or beta
// may be nil (weight 1, bias 0). y may alias x.
func LayerNormForward(y, mean, rstd, x, gamma, beta []float32, rows, cols int, eps float32) {
	checkLen("LayerNormForward", "x", x, rows*cols)
	checkLen("LayerNormForward", "y", y, rows*cols)
	checkLen("LayerNormForward", "mean", mean, rows)
	checkLen("LayerNormForward", "rstd", rstd, rows)
	checkOptLen("LayerNormForward", "gamma", gamma, cols)
	checkOptLen("LayerNormForward", "beta", beta, cols)
	ParallelFor(rows, rowGrain, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			layerNormRow(y[r*cols:(r+1)*cols], &mean[r], &rstd[r], x[r*cols:(r+1)*cols], gamma, beta, eps)
		}
	})
}

func layerNormRow(y []float32, mean, rstd *float32, x, gamma, beta []float32, eps float32) {
	n := float64(len(x))
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	mu := s / n
	var ss float64
	for _, v := range x {
		d := float64(v) - mu
		ss += d * d
	}
	rs := 1 / math.Sqrt(ss/n+float64(eps))
	*mean, *rstd = float32(mu), float32(rs)
	for j, v := range x {
		h := (float64(v) - mu) * rs
		if gamma != nil {
			h *= float64(gamma[j])
		}
		if beta != nil {
			h += float64(beta[j])
		}
		y[j] = float32(h)
	}
}

// AddLayerNormForward is the fused residual form y = LN(x + res): it also
// writes the sum s = x + res (rows×cols), the input LayerNormBackward
// needs. The gradient with respect to x and to res is the same dx that
// LayerNormBackward(dx, …, s, …) returns. s may alias x or res.
func AddLayerNormForward(y, s, mean, rstd, x, res, gamma, beta []float32, rows, cols int, eps float32) {
	checkLen("AddLayerNormForward", "x", x, rows*cols)
	checkLen("AddLayerNormForward", "res", res, rows*cols)
	checkLen("AddLayerNormForward", "s", s, rows*cols)
	checkLen("AddLayerNormForward", "y", y, rows*cols)
	checkLen("AddLayerNormForward", "mean", mean, rows)
	checkLen("AddLayerNormForward", "rstd", rstd, rows)
	checkOptLen("AddLayerNormForward", "gamma", gamma, cols)
	checkOptLen("AddLayerNormForward", "beta", beta, cols)
	ParallelFor(rows, rowGrain, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			sr := s[r*cols : (r+1)*cols]
			xr, rr := x[r*cols:(r+1)*cols], res[r*cols:(r+1)*cols]
			for j := range sr {
				sr[j] = xr[j] + rr[j]
			}
			layerNormRow(y[r*cols:(r+1)*cols], &mean[r], &rstd[r], sr, gamma, beta, eps)
		}
	})
}

// LayerNormBackward computes, from the output gradient dy and the forward's
// input x and saved mean and rstd, the gradients
//
//	dx = rstd·(g − mean(g) − x̂·mean(g·x̂)),  g = dy·gamma, x̂ = (x − mean)·rstd
//	dgamma = Σ_rows dy·x̂,  dbeta = Σ_rows dy
//
// overwriting dx (rows×cols), dgamma and dbeta (cols each). Any of them may
// be nil (not needed). gamma may be nil (weight 1). Parameter gradients
// are summed per column in row order in float64, so they are identical
// for any Workers. dx may alias dy.
func LayerNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma []float32, rows, cols int) {
	checkLen("LayerNormBackward", "x", x, rows*cols)
	checkLen("LayerNormBackward", "dy", dy, rows*cols)
	checkLen("LayerNormBackward", "mean", mean, rows)
	checkLen("LayerNormBackward", "rstd", rstd, rows)
	checkOptLen("LayerNormBackward", "dx", dx, rows*cols)
	checkOptLen("LayerNormBackward", "gamma", gamma, cols)
	checkOptLen("LayerNormBackward", "dgamma", dgamma, cols)
	checkOptLen("LayerNormBackward", "dbeta", dbeta, cols)
	if dgamma != nil || dbeta != nil {
		// Column-parallel: each column's sum runs over all rows in order.
		ParallelFor(cols, 64, func(lo, hi int) {
			for j := lo; j < hi; j++ {
				var sg, sb float64
				for r := 0; r < rows; r++ {
					g := float64(dy[r*cols+j])
					sg += g * (float64(x[r*cols+j]) - float64(mean[r])) * float64(rstd[r])
					sb += g
				}
				if dgamma != nil {
					dgamma[j] = float32(sg)
				}
				if dbeta != nil {
					dbeta[j] = float32(sb)
				}
			}
		})
	}
	if dx == nil {
		return
	}
	ParallelFor(rows, rowGrain, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, dyr, dxr := x[r*cols:(r+1)*cols], dy[r*cols:(r+1)*cols], dx[r*cols:(r+1)*cols]
			mu, rs := float64(mean[r]), float64(rstd[r])
			var sg, sgx float64
			for j, v := range xr {
				g := float64(dyr[j])
				if gamma != nil {
					g *= float64(gamma[j])
				}
				sg += g
				sgx += g * (float64(v) - mu) * rs
			}
			n := float64(cols)
			mg, mgx := sg/n, sgx/n
			for j, v := range xr {
				g := float64(dyr[j])
				if gamma != nil {
					g *= float64(gamma[j])
				}
				xh := (float64(v) - mu) * rs
				dxr[j] = float32(rs * (g - mg - xh*mgx))
			}
		}
	})
}

// checkLen panics when a buffer has the wrong length: a programming error
// in the caller (the graph wrappers check user-facing shapes).
func checkLen(fn, name string, s []float32, n int) {
	if len(s) != n {
		panic(fmt.Sprintf("kern.%s: len(%s) = %d, want %d", fn, name, len(s), n))
	}
}

func checkOptLen(fn, name string, s []float32, n int) {
	if s != nil && len(s) != n {
		panic(fmt.Sprintf("kern.%s: len(%s) = %d, want %d (or nil)", fn, name, len(s), n))
	}
}
