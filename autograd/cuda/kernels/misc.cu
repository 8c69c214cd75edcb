// Small kernels (kern/elementwise_misc.go): the relations layers' sigmoid
// pair mask, the weighted sum of scalar losses and the dot product with a
// constant used by gradient tests.

#define GL_GRID_STRIDE(i, n) for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long)blockDim.x * gridDim.x)
#define GL_MISC_THREADS 256

__device__ __forceinline__ float gl_sigmoid_d(float x) { return (float)(1.0 / (1.0 + exp(-(double)x))); }

// y[b,i,j] = σ(x)·m[b,i]·m[b,j] (SigmoidPairMaskForward).
extern "C" __global__ void gl_sigmoid_pair_mask_fwd(float *y, const float *x, const float *m, long B, long E) {
	GL_GRID_STRIDE(k, B * E * E) {
		long b = k / (E * E), i = (k / E) % E, j = k % E;
		y[k] = __fmul_rn(__fmul_rn(gl_sigmoid_d(x[k]), m[b * E + i]), m[b * E + j]);
	}
}

// dx = dy·m_i·m_j·σ(1 − σ) (SigmoidPairMaskBackward), in the Go order.
extern "C" __global__ void gl_sigmoid_pair_mask_bwd(float *dx, const float *dy, const float *x, const float *m, long B,
                                                    long E) {
	GL_GRID_STRIDE(k, B * E * E) {
		long b = k / (E * E), i = (k / E) % E, j = k % E;
		float s = gl_sigmoid_d(x[k]);
		float v = __fmul_rn(__fmul_rn(__fmul_rn(dy[k], m[b * E + i]), m[b * E + j]), s);
		dx[k] = __fmul_rn(v, __fsub_rn(1.0f, s));
	}
}

// One term of Σ w_i·x_i over scalars, in order: out = (first ? 0 : out) + w·x.
extern "C" __global__ void gl_scaled_sum_term(float *out, const float *x, float w, int first) {
	if (blockIdx.x == 0 && threadIdx.x == 0) {
		float prev = first ? 0.f : out[0];
		out[0] = __fadd_rn(prev, __fmul_rn(w, x[0]));
	}
}

// dst[i] = w·(*dy) for n values; w null means 1 (a scalar or elementwise
// gradient scaled by a device scalar).
extern "C" __global__ void gl_scale_by_scalar(float *dst, const float *w, float c, const float *dy, long n) {
	GL_GRID_STRIDE(i, n) {
		float g = __fmul_rn(c, dy[0]);
		dst[i] = w ? __fmul_rn(g, w[i]) : g;
	}
}

// Stage 1 of Σ x·w in double, one partial per block (grid fixed by the
// host); stage 2 is gl_sum_partials (optim.cu), then gl_double_to_float.
extern "C" __global__ void gl_dot_partial(double *partial, const float *x, const float *w, long n) {
	__shared__ double s[GL_MISC_THREADS];
	double acc = 0;
	for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)blockDim.x * gridDim.x)
		acc += (double)x[i] * (double)w[i];
	s[threadIdx.x] = acc;
	__syncthreads();
	for (int k = GL_MISC_THREADS / 2; k > 0; k >>= 1) {
		if (threadIdx.x < k) s[threadIdx.x] += s[threadIdx.x + k];
		__syncthreads();
	}
	if (threadIdx.x == 0) partial[blockIdx.x] = s[0];
}

extern "C" __global__ void gl_double_to_float(float *out, const double *in) {
	if (blockIdx.x == 0 && threadIdx.x == 0) out[0] = (float)in[0];
}
