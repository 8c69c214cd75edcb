// DeBERTa-v2/v3 disentangled attention pieces (kern.DisentangledAttention
// Forward / Backward). The products Q·(K/s)ᵀ, Q·Pkᵀ, K·Pqᵀ, A·V and their
// backward products are cuBLAS strided-batched GEMMs on the host side;
// these kernels do the rest: K/s, adding the gathered c2p/p2c terms,
// masking and the row softmax, and scattering the score gradient back to
// the c2p/p2c tables. Layouts as in the Go kernel: scores and probabilities
// (B, H, T, T); the c2p table G and the p2c table E (H, B, T, A2) where A2 =
// rhi − rlo + 1 are the table rows the relative index δ (T×T int32) uses.

#define GL_AT_THREADS 256
#define GL_F32_MIN (-3.40282346638528859811704183484516925440e+38f)

// ks = k / s elementwise (the reference divides K before the product).
extern "C" __global__ void gl_attn_div(float *ks, const float *k, float s, long n) {
	for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)blockDim.x * gridDim.x)
		ks[i] = __fdiv_rn(k[i], s);
}

__device__ float gl_at_block_max(float v) {
	__shared__ float s[GL_AT_THREADS];
	s[threadIdx.x] = v;
	__syncthreads();
	for (int k = GL_AT_THREADS / 2; k > 0; k >>= 1) {
		if (threadIdx.x < k && s[threadIdx.x + k] > s[threadIdx.x]) s[threadIdx.x] = s[threadIdx.x + k];
		__syncthreads();
	}
	float r = s[0];
	__syncthreads();
	return r;
}

__device__ double gl_at_block_sum(double v) {
	__shared__ double s[GL_AT_THREADS];
	s[threadIdx.x] = v;
	__syncthreads();
	for (int k = GL_AT_THREADS / 2; k > 0; k >>= 1) {
		if (threadIdx.x < k) s[threadIdx.x] += s[threadIdx.x + k];
		__syncthreads();
	}
	double r = s[0];
	__syncthreads();
	return r;
}

// One block per score row (it = b·H + h, i): score += c2p/s + p2c/s (each
// term divided by s, then summed, then added, as the Go kernel rounds),
// masked entries (m_i·m_j = 0) filled with float32 min, softmax over j,
// masked entries zeroed. g and e are null when their term is off; mask is
// null for all ones.
extern "C" __global__ void gl_disentangled_probs(float *p, const float *g, const float *e, const int *rel,
                                                 const float *mask, long B, long H, long T, long A2, long rlo,
                                                 float s) {
	long row = blockIdx.x;
	if (row >= B * H * T) return;
	long it = row / T, i = row % T, b = it / H, h = it % H;
	float *pr = p + row * T;
	const float *m = mask ? mask + b * T : 0;
	if (m != 0 && m[i] == 0.f) {
		for (long j = threadIdx.x; j < T; j += blockDim.x) pr[j] = 0.f;
		return;
	}
	long relBase = (h * B + b) * T * A2;
	float mx = GL_F32_MIN;
	for (long j = threadIdx.x; j < T; j += blockDim.x) {
		float v = pr[j];
		if (g != 0 || e != 0) {
			long k = (long)rel[i * T + j] - rlo;
			float r = 0.f;
			if (g != 0) r = __fdiv_rn(g[relBase + i * A2 + k], s);
			if (e != 0) r = __fadd_rn(r, __fdiv_rn(e[relBase + j * A2 + k], s));
			v = __fadd_rn(v, r);
		}
		if (m != 0 && m[j] == 0.f) v = GL_F32_MIN;
		pr[j] = v;
		if (v > mx) mx = v;
	}
	mx = gl_at_block_max(mx);
	double sum = 0;
	for (long j = threadIdx.x; j < T; j += blockDim.x) sum += exp((double)pr[j] - (double)mx);
	sum = gl_at_block_sum(sum);
	for (long j = threadIdx.x; j < T; j += blockDim.x) {
		float a = (float)(exp((double)pr[j] - (double)mx) / sum);
		if (m != 0 && m[j] == 0.f) a = 0.f;
		pr[j] = a;
	}
}

// Softmax backward in place over probability rows: ds = A·(dA − Σ_j dA·A).
extern "C" __global__ void gl_attn_softmax_bwd(float *ds, const float *dA, const float *A, long rows, long T) {
	long row = blockIdx.x;
	if (row >= rows) return;
	const float *a = A + row * T, *da = dA + row * T;
	float *o = ds + row * T;
	double s = 0;
	for (long j = threadIdx.x; j < T; j += blockDim.x) s += (double)a[j] * (double)da[j];
	s = gl_at_block_sum(s);
	for (long j = threadIdx.x; j < T; j += blockDim.x) o[j] = (float)((double)a[j] * ((double)da[j] - s));
}

// dG[h,b,i,k] = Σ_{j: δ(i,j)−rlo = k} ds[b,h,i,j]/s: one thread per (b, h, i)
// walks j in order. dG must be zeroed first.
extern "C" __global__ void gl_c2p_bwd(float *dg, const float *ds, const int *rel, long B, long H, long T, long A2,
                                      long rlo, float s) {
	for (long row = (long)blockIdx.x * blockDim.x + threadIdx.x; row < B * H * T;
	     row += (long)blockDim.x * gridDim.x) {
		long it = row / T, i = row % T, b = it / H, h = it % H;
		float *out = dg + (h * B + b) * T * A2 + i * A2;
		const float *d = ds + row * T;
		for (long j = 0; j < T; j++) {
			long k = (long)rel[i * T + j] - rlo;
			out[k] = __fadd_rn(out[k], __fdiv_rn(d[j], s));
		}
	}
}

// dE[h,b,j,k] = Σ_{i: δ(i,j)−rlo = k} ds[b,h,i,j]/s: one thread per (b, h, j)
// walks i in order. dE must be zeroed first.
extern "C" __global__ void gl_p2c_bwd(float *de, const float *ds, const int *rel, long B, long H, long T, long A2,
                                      long rlo, float s) {
	for (long col = (long)blockIdx.x * blockDim.x + threadIdx.x; col < B * H * T;
	     col += (long)blockDim.x * gridDim.x) {
		long it = col / T, j = col % T, b = it / H, h = it % H;
		float *out = de + (h * B + b) * T * A2 + j * A2;
		const float *d = ds + it * T * T;
		for (long i = 0; i < T; i++) {
			long k = (long)rel[i * T + j] - rlo;
			out[k] = __fadd_rn(out[k], __fdiv_rn(d[i * T + j], s));
		}
	}
}

// The mask as float32: (B, T) int64 → float (the Go kernel's float mask).
extern "C" __global__ void gl_mask_to_float(float *m, const long long *mi, long n) {
	for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)blockDim.x * gridDim.x)
		m[i] = (float)mi[i];
}

// BERT / GPT-2 probabilities (kern.attnPlainForward), one block per score
// row (it = b·H + h, i) of p = Q·Kᵀ: w = p/sc, causal: w = float32 min for
// j > i, then w += (1 − m_j)·float32 min, softmax over j. mask null: all ones.
extern "C" __global__ void gl_plain_probs(float *p, const float *mask, long B, long H, long T, float sc, int causal) {
	long row = blockIdx.x;
	if (row >= B * H * T) return;
	long it = row / T, i = row % T, b = it / H;
	float *pr = p + row * T;
	const float *m = mask ? mask + b * T : 0;
	float mx = -__int_as_float(0x7f800000);
	for (long j = threadIdx.x; j < T; j += blockDim.x) {
		float w = __fdiv_rn(pr[j], sc);
		if (causal && j > i) w = GL_F32_MIN;
		if (m != 0) w = __fadd_rn(w, __fmul_rn(__fsub_rn(1.0f, m[j]), GL_F32_MIN));
		pr[j] = w;
		if (w > mx) mx = w;
	}
	mx = gl_at_block_max(mx);
	double sum = 0;
	for (long j = threadIdx.x; j < T; j += blockDim.x) sum += exp((double)pr[j] - (double)mx);
	sum = gl_at_block_sum(sum);
	for (long j = threadIdx.x; j < T; j += blockDim.x) pr[j] = (float)(exp((double)pr[j] - (double)mx) / sum);
}

// Score-gradient scaling before the Q/K products: ds /= s, and for the
// causal kernel ds = 0 where j > i. rows = B·H·T rows of T.
extern "C" __global__ void gl_attn_bwd_scale(float *ds, long rows, long T, float s, int causal) {
	for (long e = (long)blockIdx.x * blockDim.x + threadIdx.x; e < rows * T; e += (long)blockDim.x * gridDim.x) {
		long i = (e / T) % T, j = e % T;
		ds[e] = (causal && j > i) ? 0.f : __fdiv_rn(ds[e], s);
	}
}
