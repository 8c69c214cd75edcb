// Optimizer kernels: AdamW (train.AdamW.Step, torch's _single_tensor_adamw
// in float32) and the sums of squares behind gradient-norm clipping
// (train.GradNorm / ClipGradNorm; the scaling is gl_scale in
// elementwise.cu). Every float32 operation is rounded separately with the
// _rn intrinsics, as the Go loop forbids fusion, and the square root and
// divisions are the correctly rounded ones, so a device step should equal
// the CPU step bit for bit (TestCUDAOptimizer checks it within 1e-5).

// One AdamW update of n parameters w with gradients g and moments m, v;
// the scalars are the ones train.AdamW.Step computes in float64 and rounds.
extern "C" __global__ void gl_adamw(float *w, const float *g, float *m, float *v, long n, float decay, float b1,
                                    float b2, float omb1, float omb2, float negStep, float bc2Sqrt, float eps) {
	for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)blockDim.x * gridDim.x) {
		float wi = __fmul_rn(w[i], decay);
		float gi = g[i];
		float mi = __fmul_rn(m[i], b1);
		mi = __fadd_rn(mi, __fmul_rn(omb1, gi));
		float vi = __fmul_rn(v[i], b2);
		vi = __fadd_rn(vi, __fmul_rn(__fmul_rn(omb2, gi), gi));
		float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), bc2Sqrt), eps);
		w[i] = __fadd_rn(wi, __fdiv_rn(__fmul_rn(negStep, mi), denom));
		m[i] = mi;
		v[i] = vi;
	}
}

#define GL_RED_THREADS 256

// Stage 1 of Σ x²: block b writes the double sum of its grid-stride share to
// partial[b]. The grid size is fixed by the host, so the order of additions
// (and the result) is the same every run.
extern "C" __global__ void gl_sumsq_partial(double *partial, const float *x, long n) {
	__shared__ double s[GL_RED_THREADS];
	double acc = 0;
	for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)blockDim.x * gridDim.x) {
		double v = x[i];
		acc += v * v;
	}
	s[threadIdx.x] = acc;
	__syncthreads();
	for (int k = GL_RED_THREADS / 2; k > 0; k >>= 1) {
		if (threadIdx.x < k) s[threadIdx.x] += s[threadIdx.x + k];
		__syncthreads();
	}
	if (threadIdx.x == 0) partial[blockIdx.x] = s[0];
}

// Stage 2: out[0] = Σ partial[0..parts), one block.
extern "C" __global__ void gl_sum_partials(double *out, const double *partial, long parts) {
	__shared__ double s[GL_RED_THREADS];
	double acc = 0;
	for (long i = threadIdx.x; i < parts; i += blockDim.x) acc += partial[i];
	s[threadIdx.x] = acc;
	__syncthreads();
	for (int k = GL_RED_THREADS / 2; k > 0; k >>= 1) {
		if (threadIdx.x < k) s[threadIdx.x] += s[threadIdx.x + k];
		__syncthreads();
	}
	if (threadIdx.x == 0) out[0] = s[0];
}
