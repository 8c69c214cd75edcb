// The bidirectional single-layer LSTM over a padded batch
// (kern.BiLSTMForward / BiLSTMBackward: PyTorch's nn.LSTM(bidirectional,
// batch_first) over a packed sequence). The host loops over the W steps;
// per step cuBLAS computes the recurrent product of all B rows and these
// kernels apply the gates of the rows still active (step < lengths[b]);
// a finished row keeps its state and gets zero step gradients. Direction
// dir visits t = step (forward) or t = len−1−step (backward). Gate rows are
// PyTorch's i, f, g, o. As the Go kernel, sigmoid and tanh are computed in
// double and rounded to float.

#define GL_GRID_STRIDE(i, n) for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long)blockDim.x * gridDim.x)

__device__ __forceinline__ float gl_lstm_sigmoid(float x) {
	double v = x;
	if (v >= 0) return (float)(1.0 / (1.0 + exp(-v)));
	double e = exp(v);
	return (float)(e / (1.0 + e));
}

__device__ __forceinline__ float gl_lstm_tanh(float x) { return (float)tanh((double)x); }

// A length outside [0, W] is recorded in *bad (smallest offending row).
extern "C" __global__ void gl_lstm_check_lengths(const long long *lengths, long B, long W, unsigned long long *bad) {
	GL_GRID_STRIDE(b, B) {
		if (lengths[b] < 0 || lengths[b] > W) atomicMin(bad, (unsigned long long)b);
	}
}

// Before the steps: G (B·W, 4H) = x·Wihᵀ gets bih + bhh at valid steps;
// padded steps get zero output (this direction's half) and zero hprev.
extern "C" __global__ void gl_lstm_prep(float *G, float *out, float *hprev, const float *bih, const float *bhh,
                                        const long long *lengths, long B, long W, long H, long dir) {
	long H4 = 4 * H;
	GL_GRID_STRIDE(e, B * W * H4) {
		long j = e % H4, bt = e / H4, b = bt / W, t = bt % W;
		if (t < lengths[b]) {
			G[e] = __fadd_rn(G[e], __fadd_rn(bih[j], bhh[j]));
		} else if (j < H) {
			out[bt * 2 * H + dir * H + j] = 0.f;
			hprev[bt * H + j] = 0.f;
		}
	}
}

// One forward step: rec (B, 4H) = h·Whhᵀ of the step's incoming h (B, H).
extern "C" __global__ void gl_lstm_step_fwd(float *G, const float *rec, float *h, float *c, float *hprev, float *cell,
                                            float *out, const long long *lengths, long B, long W, long H, long dir,
                                            long step) {
	long H4 = 4 * H;
	GL_GRID_STRIDE(e, B * H) {
		long b = e / H, j = e % H;
		long len = (long)lengths[b];
		if (step >= len) continue;
		long t = dir == 0 ? step : len - 1 - step;
		long bt = b * W + t;
		float *g = G + bt * H4;
		const float *r = rec + b * H4;
		hprev[bt * H + j] = h[e];
		float ig = gl_lstm_sigmoid(__fadd_rn(g[j], r[j]));
		float fg = gl_lstm_sigmoid(__fadd_rn(g[H + j], r[H + j]));
		float gg = gl_lstm_tanh(__fadd_rn(g[2 * H + j], r[2 * H + j]));
		float og = gl_lstm_sigmoid(__fadd_rn(g[3 * H + j], r[3 * H + j]));
		float cn = __fadd_rn(__fmul_rn(fg, c[e]), __fmul_rn(ig, gg));
		float hn = __fmul_rn(og, gl_lstm_tanh(cn));
		g[j] = ig;
		g[H + j] = fg;
		g[2 * H + j] = gg;
		g[3 * H + j] = og;
		cell[bt * H + j] = cn;
		c[e] = cn;
		h[e] = hn;
		out[bt * 2 * H + dir * H + j] = hn;
	}
}

// One backward step: from dh, dc (B, H) entering the step (from later
// steps), the gates and cells saved by the forward and dout (B, W, 2H),
// the pre-activation gate gradients into dG (B·W, 4H) and dstep (B, 4H),
// and the cell gradient passed on in dc. Inactive rows get zero dstep.
extern "C" __global__ void gl_lstm_step_bwd(float *dG, float *dstep, const float *dh, float *dc, const float *gates,
                                            const float *cell, const float *dout, const long long *lengths, long B,
                                            long W, long H, long dir, long step) {
	long H4 = 4 * H;
	GL_GRID_STRIDE(e, B * H) {
		long b = e / H, j = e % H;
		long len = (long)lengths[b];
		float *ds = dstep + b * H4;
		if (step >= len) {
			ds[j] = ds[H + j] = ds[2 * H + j] = ds[3 * H + j] = 0.f;
			continue;
		}
		long t = dir == 0 ? step : len - 1 - step;
		long bt = b * W + t;
		float cp = 0.f;
		if (step > 0) {
			long pt = dir == 0 ? t - 1 : t + 1;
			cp = cell[(b * W + pt) * H + j];
		}
		const float *a = gates + bt * H4;
		float ig = a[j], fg = a[H + j], gg = a[2 * H + j], og = a[3 * H + j];
		float hgrad = __fadd_rn(dh[e], dout[bt * 2 * H + dir * H + j]);
		float tc = gl_lstm_tanh(cell[bt * H + j]);
		float cgrad = __fadd_rn(dc[e], __fmul_rn(__fmul_rn(hgrad, og), __fsub_rn(1.f, __fmul_rn(tc, tc))));
		float *g = dG + bt * H4;
		g[j] = __fmul_rn(__fmul_rn(__fmul_rn(cgrad, gg), ig), __fsub_rn(1.f, ig));
		g[H + j] = __fmul_rn(__fmul_rn(__fmul_rn(cgrad, cp), fg), __fsub_rn(1.f, fg));
		g[2 * H + j] = __fmul_rn(__fmul_rn(cgrad, ig), __fsub_rn(1.f, __fmul_rn(gg, gg)));
		g[3 * H + j] = __fmul_rn(__fmul_rn(__fmul_rn(hgrad, tc), og), __fsub_rn(1.f, og));
		dc[e] = __fmul_rn(cgrad, fg);
		ds[j] = g[j];
		ds[H + j] = g[H + j];
		ds[2 * H + j] = g[2 * H + j];
		ds[3 * H + j] = g[3 * H + j];
	}
}

// The bias gradients: column sums of dG (rows, cols) in double, written to
// db1 and db2 (either may be null; dbih and dbhh are equal).
extern "C" __global__ void gl_col_sum_f64(float *db1, float *db2, const float *x, long rows, long cols) {
	GL_GRID_STRIDE(j, cols) {
		double s = 0;
		for (long r = 0; r < rows; r++) s += (double)x[r * cols + j];
		if (db1) db1[j] = (float)s;
		if (db2) db2[j] = (float)s;
	}
}
