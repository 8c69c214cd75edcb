// Masked softmax and log-softmax over the last axis (kern.SoftmaxForward,
// SoftmaxBackward, LogSoftmaxForward, LogSoftmaxBackward), one block of 256
// threads per row, exponentials and sums in double like the Go kernels.
// mask is null or rows×cols; a 0 excludes the position; a fully masked row
// gives y = 0 (softmax) or −Inf (log-softmax).

#define GL_SM_THREADS 256
#define GL_NEG_INF (-__int_as_float(0x7f800000))

__device__ double gl_block_max(double v) {
	__shared__ double s[GL_SM_THREADS];
	int t = threadIdx.x;
	s[t] = v;
	__syncthreads();
	for (int k = GL_SM_THREADS / 2; k > 0; k >>= 1) {
		if (t < k && s[t + k] > s[t]) s[t] = s[t + k];
		__syncthreads();
	}
	double r = s[0];
	__syncthreads();
	return r;
}

__device__ double gl_block_sum(double v) {
	__shared__ double s[GL_SM_THREADS];
	int t = threadIdx.x;
	s[t] = v;
	__syncthreads();
	for (int k = GL_SM_THREADS / 2; k > 0; k >>= 1) {
		if (t < k) s[t] += s[t + k];
		__syncthreads();
	}
	double r = s[0];
	__syncthreads();
	return r;
}

// gl_softmax_row computes the row max and the sum of exponentials; it
// returns 0 when every position is masked.
__device__ int gl_softmax_row(const float *xr, const float *mr, long cols, double *mx, double *sum) {
	double m = GL_NEG_INF;
	int any = 0;
	for (long j = threadIdx.x; j < cols; j += blockDim.x) {
		if (mr == 0 || mr[j] != 0.f) {
			any = 1;
			if ((double)xr[j] > m) m = (double)xr[j];
		}
	}
	m = gl_block_max(any ? m : GL_NEG_INF);
	int anyRow = gl_block_sum(any ? 1.0 : 0.0) > 0;
	if (!anyRow) return 0;
	double s = 0;
	for (long j = threadIdx.x; j < cols; j += blockDim.x)
		if (mr == 0 || mr[j] != 0.f) s += exp((double)xr[j] - m);
	*sum = gl_block_sum(s);
	*mx = m;
	return 1;
}

extern "C" __global__ void gl_softmax_fwd(float *y, const float *x, const float *mask, long rows, long cols) {
	long r = blockIdx.x;
	if (r >= rows) return;
	const float *xr = x + r * cols, *mr = mask ? mask + r * cols : 0;
	float *yr = y + r * cols;
	double mx = 0, s = 0;
	if (!gl_softmax_row(xr, mr, cols, &mx, &s)) {
		for (long j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = 0.f;
		return;
	}
	double inv = 1.0 / s;
	for (long j = threadIdx.x; j < cols; j += blockDim.x)
		yr[j] = (mr == 0 || mr[j] != 0.f) ? (float)(exp((double)xr[j] - mx) * inv) : 0.f;
}

extern "C" __global__ void gl_softmax_bwd(float *dx, const float *dy, const float *y, long rows, long cols) {
	long r = blockIdx.x;
	if (r >= rows) return;
	const float *yr = y + r * cols, *dyr = dy + r * cols;
	float *dxr = dx + r * cols;
	double s = 0;
	for (long j = threadIdx.x; j < cols; j += blockDim.x) s += (double)yr[j] * (double)dyr[j];
	s = gl_block_sum(s);
	for (long j = threadIdx.x; j < cols; j += blockDim.x) dxr[j] = (float)((double)yr[j] * ((double)dyr[j] - s));
}

extern "C" __global__ void gl_log_softmax_fwd(float *y, const float *x, const float *mask, long rows, long cols) {
	long r = blockIdx.x;
	if (r >= rows) return;
	const float *xr = x + r * cols, *mr = mask ? mask + r * cols : 0;
	float *yr = y + r * cols;
	double mx = 0, s = 0;
	if (!gl_softmax_row(xr, mr, cols, &mx, &s)) {
		for (long j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = GL_NEG_INF;
		return;
	}
	double lse = mx + log(s);
	for (long j = threadIdx.x; j < cols; j += blockDim.x)
		yr[j] = (mr == 0 || mr[j] != 0.f) ? (float)((double)xr[j] - lse) : GL_NEG_INF;
}

extern "C" __global__ void gl_log_softmax_bwd(float *dx, const float *dy, const float *y, long rows, long cols) {
	long r = blockIdx.x;
	if (r >= rows) return;
	const float *yr = y + r * cols, *dyr = dy + r * cols;
	float *dxr = dx + r * cols;
	double s = 0;
	for (long j = threadIdx.x; j < cols; j += blockDim.x)
		if (!isinf(yr[j])) s += (double)dyr[j];
	s = gl_block_sum(s);
	for (long j = threadIdx.x; j < cols; j += blockDim.x)
		dxr[j] = isinf(yr[j]) ? 0.f : (float)((double)dyr[j] - exp((double)yr[j]) * s);
}
