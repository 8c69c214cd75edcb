package kern

// LinearForward writes y = x·Wᵀ + b for x (rows×in), W (out×in) and b
// (out) or nil: torch.nn.Linear over the last axis.
func LinearForward(y, x, w, b []float32, rows, in, out int) {
	checkLen("LinearForward", "x", x, rows*in)
	checkLen("LinearForward", "w", w, out*in)
	checkLen("LinearForward", "y", y, rows*out)
	checkOptLen("LinearForward", "b", b, out)
	Sgemm(false, true, rows, out, in, 1, x, in, w, in, 0, y, out)
	if b != nil {
		for r := 0; r < rows; r++ {
			row := y[r*out : (r+1)*out]
			for j := range row {
				row[j] += b[j]
			}
		}
	}
}

// LinearBackward OVERWRITES dx = dy·W, dw = dyᵀ·x and db = Σ_rows dy;
// each may be nil when not needed.
func LinearBackward(dx, dw, db, dy, x, w []float32, rows, in, out int) {
	checkLen("LinearBackward", "dy", dy, rows*out)
	checkOptLen("LinearBackward", "dx", dx, rows*in)
	checkOptLen("LinearBackward", "dw", dw, out*in)
	checkOptLen("LinearBackward", "db", db, out)
	if dx != nil {
		Sgemm(false, false, rows, in, out, 1, dy, out, w, in, 0, dx, in)
	}
	if dw != nil {
		Sgemm(true, false, out, in, rows, 1, dy, out, x, in, 0, dw, in)
	}
	if db != nil {
		clear(db)
		for r := 0; r < rows; r++ {
			row := dy[r*out : (r+1)*out]
			for j := range db {
				db[j] += row[j]
			}
		}
	}
}

// Conv1DForward writes y = x·W + b for x (rows×in), W (in×out) stored as
// GPT-2's Conv1D (the transpose of nn.Linear's layout) and b (out).
func Conv1DForward(y, x, w, b []float32, rows, in, out int) {
	checkLen("Conv1DForward", "x", x, rows*in)
	checkLen("Conv1DForward", "w", w, in*out)
	checkLen("Conv1DForward", "b", b, out)
	checkLen("Conv1DForward", "y", y, rows*out)
	for r := 0; r < rows; r++ {
		copy(y[r*out:(r+1)*out], b)
	}
	Sgemm(false, false, rows, out, in, 1, x, in, w, out, 1, y, out)
}

// Conv1DBackward OVERWRITES dx = dy·Wᵀ, dw = xᵀ·dy and db = Σ_rows dy;
// each may be nil.
func Conv1DBackward(dx, dw, db, dy, x, w []float32, rows, in, out int) {
	checkLen("Conv1DBackward", "dy", dy, rows*out)
	checkOptLen("Conv1DBackward", "dx", dx, rows*in)
	checkOptLen("Conv1DBackward", "dw", dw, in*out)
	checkOptLen("Conv1DBackward", "db", db, out)
	if dx != nil {
		Sgemm(false, true, rows, in, out, 1, dy, out, w, out, 0, dx, in)
	}
	if dw != nil {
		Sgemm(true, false, in, out, rows, 1, x, in, dy, out, 0, dw, out)
	}
	if db != nil {
		clear(db)
		for r := 0; r < rows; r++ {
			for j, v := range dy[r*out : (r+1)*out] {
				db[j] += v
			}
		}
	}
}

// BatchMatMulNTForward writes c[i] = a[i]·b[i]ᵀ for a (B,M,K), b (B,N,K):
// GLiNER's scoring einsum "BLKD,BCD->BLKC" once spans are flattened.
func BatchMatMulNTForward(c, a, b []float32, B, M, K, N int) {
	checkLen("BatchMatMulNTForward", "a", a, B*M*K)
	checkLen("BatchMatMulNTForward", "b", b, B*N*K)
	checkLen("BatchMatMulNTForward", "c", c, B*M*N)
	for i := 0; i < B; i++ {
		Sgemm(false, true, M, N, K, 1, a[i*M*K:], K, b[i*N*K:], K, 0, c[i*M*N:], N)
	}
}

// BatchMatMulNTBackward OVERWRITES da[i] = dc[i]·b[i] and db[i] =
// dc[i]ᵀ·a[i]; either may be nil.
func BatchMatMulNTBackward(da, db, dc, a, b []float32, B, M, K, N int) {
	checkLen("BatchMatMulNTBackward", "dc", dc, B*M*N)
	checkOptLen("BatchMatMulNTBackward", "da", da, B*M*K)
	checkOptLen("BatchMatMulNTBackward", "db", db, B*N*K)
	for i := 0; i < B; i++ {
		d := dc[i*M*N:]
		if da != nil {
			Sgemm(false, false, M, K, N, 1, d, N, b[i*N*K:], K, 0, da[i*M*K:], K)
		}
		if db != nil {
			Sgemm(true, false, N, K, M, 1, d, N, a[i*M*K:], K, 0, db[i*N*K:], K)
		}
	}
}
