// Layer norm (kern.LayerNormForward / LayerNormBackward): one block per row
// for the forward and dx, one thread per column for dgamma/dbeta, with the
// sums in double as the Go kernel accumulates them. Launch with 256
// threads per block (the shared arrays below have that size).

#define GL_LN_THREADS 256

// gl_block_sum2 sums a and b over the block (256 threads) in double.
__device__ void gl_block_sum2(double *a, double *b) {
	__shared__ double sa[GL_LN_THREADS], sb[GL_LN_THREADS];
	int t = threadIdx.x;
	sa[t] = *a;
	sb[t] = *b;
	__syncthreads();
	for (int s = GL_LN_THREADS / 2; s > 0; s >>= 1) {
		if (t < s) {
			sa[t] += sa[t + s];
			sb[t] += sb[t + s];
		}
		__syncthreads();
	}
	*a = sa[0];
	*b = sb[0];
	__syncthreads();
}

// y = (x − mean)·rstd·gamma + beta; gamma or beta may be null (1, 0).
extern "C" __global__ void gl_layernorm_fwd(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                                            const float *beta, long rows, long cols, float eps) {
	long r = blockIdx.x;
	if (r >= rows) return;
	const float *xr = x + r * cols;
	float *yr = y + r * cols;
	double s = 0, unused = 0;
	for (long j = threadIdx.x; j < cols; j += blockDim.x) s += (double)xr[j];
	gl_block_sum2(&s, &unused);
	double mu = s / (double)cols;
	double ss = 0;
	unused = 0;
	for (long j = threadIdx.x; j < cols; j += blockDim.x) {
		double d = (double)xr[j] - mu;
		ss += d * d;
	}
	gl_block_sum2(&ss, &unused);
	double rs = 1.0 / sqrt(ss / (double)cols + (double)eps);
	for (long j = threadIdx.x; j < cols; j += blockDim.x) {
		double h = ((double)xr[j] - mu) * rs;
		if (gamma) h *= (double)gamma[j];
		if (beta) h += (double)beta[j];
		yr[j] = (float)h;
	}
	if (threadIdx.x == 0) {
		mean[r] = (float)mu;
		rstd[r] = (float)rs;
	}
}

// dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·gamma, one block per row.
extern "C" __global__ void gl_layernorm_bwd_dx(float *dx, const float *dy, const float *x, const float *mean,
                                               const float *rstd, const float *gamma, long rows, long cols) {
	long r = blockIdx.x;
	if (r >= rows) return;
	const float *xr = x + r * cols, *dyr = dy + r * cols;
	float *dxr = dx + r * cols;
	double mu = mean[r], rs = rstd[r];
	double sg = 0, sgx = 0;
	for (long j = threadIdx.x; j < cols; j += blockDim.x) {
		double g = dyr[j];
		if (gamma) g *= (double)gamma[j];
		sg += g;
		sgx += g * ((double)xr[j] - mu) * rs;
	}
	gl_block_sum2(&sg, &sgx);
	double mg = sg / (double)cols, mgx = sgx / (double)cols;
	for (long j = threadIdx.x; j < cols; j += blockDim.x) {
		double g = dyr[j];
		if (gamma) g *= (double)gamma[j];
		double xh = ((double)xr[j] - mu) * rs;
		dxr[j] = (float)(rs * (g - mg - xh * mgx));
	}
}

// dgamma = Σ_rows dy·x̂, dbeta = Σ_rows dy: one thread per column, rows in
// order (the Go kernel's order). Either output may be null.
extern "C" __global__ void gl_layernorm_bwd_params(float *dgamma, float *dbeta, const float *dy, const float *x,
                                                   const float *mean, const float *rstd, long rows, long cols) {
	for (long j = (long)blockIdx.x * blockDim.x + threadIdx.x; j < cols; j += (long)blockDim.x * gridDim.x) {
		double sg = 0, sb = 0;
		for (long r = 0; r < rows; r++) {
			double g = dy[r * cols + j];
			sg += g * ((double)x[r * cols + j] - (double)mean[r]) * (double)rstd[r];
			sb += g;
		}
		if (dgamma) dgamma[j] = (float)sg;
		if (dbeta) dbeta[j] = (float)sb;
	}
}
