// Layout kernels (kern/layout.go): column copies behind concatenation and
// column selection, leading-row addition (absolute positions), row masking,
// broadcasting and masked mean pooling. Sums run in the Go kernels' order
// with the _rn intrinsics, so results equal the CPU's.

#define GL_GRID_STRIDE(i, n) for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long)blockDim.x * gridDim.x)

// dst[r, dOff + c] = src[r, sOff + c] for c < width (rows of dCols / sCols):
// ConcatLastForward/Backward and ColumnsForward/Backward.
extern "C" __global__ void gl_copy_cols(float *dst, long dCols, long dOff, const float *src, long sCols, long sOff,
                                        long rows, long width) {
	GL_GRID_STRIDE(e, rows * width) {
		long r = e / width, c = e % width;
		dst[r * dCols + dOff + c] = src[r * sCols + sOff + c];
	}
}

// y = x + table[:T·D] for every (T, D) block (AddLeadingRowsForward).
extern "C" __global__ void gl_add_leading_rows(float *y, const float *x, const float *table, long blocks, long TD) {
	GL_GRID_STRIDE(e, blocks * TD) { y[e] = __fadd_rn(x[e], table[e % TD]); }
}

// dtable[i] = Σ_b dy[b·TD + i] in block order (AddLeadingRowsBackward;
// the rows of the table past T are zeroed by the host).
extern "C" __global__ void gl_sum_blocks(float *dtable, const float *dy, long blocks, long TD) {
	GL_GRID_STRIDE(i, TD) {
		float s = 0.f;
		for (long b = 0; b < blocks; b++) s = __fadd_rn(s, dy[b * TD + i]);
		dtable[i] = s;
	}
}

// y = x with the rows (width D) whose int64 mask is 0 zeroed (MaskRows).
extern "C" __global__ void gl_mask_rows(float *y, const float *x, const long long *mask, long rows, long D) {
	GL_GRID_STRIDE(e, rows * D) { y[e] = mask[e / D] != 0 ? x[e] : 0.f; }
}

// y = copies of x (n values) one after another (BroadcastRowsForward).
extern "C" __global__ void gl_broadcast(float *y, const float *x, long n, long copies) {
	GL_GRID_STRIDE(e, n * copies) { y[e] = x[e % n]; }
}

// dx[j] = Σ_i dy[i·n + j] in double (BroadcastRowsBackward).
extern "C" __global__ void gl_sum_copies(float *dx, const float *dy, long n, long copies) {
	GL_GRID_STRIDE(j, n) {
		double s = 0;
		for (long i = 0; i < copies; i++) s += (double)dy[i * n + j];
		dx[j] = (float)s;
	}
}

// max(Σ_t m[t], 1e-9) in float32 as kern.maskedMeanDenom.
__device__ float gl_masked_denom(const long long *m, long T) {
	float s = 0.f;
	for (long t = 0; t < T; t++) s = __fadd_rn(s, (float)m[t]);
	return s < 1e-9f ? 1e-9f : s;
}

// y[n, j] = Σ_t m[n,t]·x[n,t,j] / denominator (MaskedMeanForward), one
// thread per (n, j), t in order.
extern "C" __global__ void gl_masked_mean_fwd(float *y, const float *x, const long long *m, long N, long T, long D) {
	GL_GRID_STRIDE(e, N * D) {
		long n = e / D, j = e % D;
		float o = 0.f;
		for (long t = 0; t < T; t++) {
			float mv = (float)m[n * T + t];
			if (mv != 0.f) o = __fadd_rn(o, __fmul_rn(x[(n * T + t) * D + j], mv));
		}
		y[e] = __fdiv_rn(o, gl_masked_denom(m + n * T, T));
	}
}

// dx[n,t,j] = dy[n,j]·m[n,t]/denominator (MaskedMeanBackward).
extern "C" __global__ void gl_masked_mean_bwd(float *dx, const float *dy, const long long *m, long N, long T, long D) {
	GL_GRID_STRIDE(e, N * T * D) {
		long n = e / (T * D), t = (e / D) % T, j = e % D;
		float mv = (float)m[n * T + t];
		dx[e] = __fdiv_rn(__fmul_rn(dy[n * D + j], mv), gl_masked_denom(m + n * T, T));
	}
}
