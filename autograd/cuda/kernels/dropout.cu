// Dropout with a counter-based device RNG: Philox4x32-10 (Salmon et al.,
// "Parallel random numbers: as easy as 1, 2, 3", SC 2011; the generator
// behind torch.cuda's and JAX's dropout). Element i's 32-bit uniform is
// word i%4 of philox(counter = (i/4 low, i/4 high, offset low, offset
// high), key = seed). It is kept when u >= thr (thr = p·2³²) and scaled by
// 1/(1 − p), the rule of kern.DropoutForward. Nothing is stored between
// forward and backward: the backward regenerates the mask from the same
// seed and offset. The Go reference (philox.go) computes the same words.

__device__ __forceinline__ void gl_philox_round(unsigned *c, const unsigned *k) {
	unsigned long long p0 = (unsigned long long)0xD2511F53u * c[0];
	unsigned long long p1 = (unsigned long long)0xCD9E8D57u * c[2];
	unsigned hi0 = (unsigned)(p0 >> 32), lo0 = (unsigned)p0;
	unsigned hi1 = (unsigned)(p1 >> 32), lo1 = (unsigned)p1;
	unsigned n0 = hi1 ^ c[1] ^ k[0];
	unsigned n2 = hi0 ^ c[3] ^ k[1];
	c[0] = n0;
	c[1] = lo1;
	c[2] = n2;
	c[3] = lo0;
}

// gl_philox4x32_10 overwrites c with philox4x32-10(c, key).
__device__ void gl_philox4x32_10(unsigned *c, unsigned key0, unsigned key1) {
	unsigned k[2] = {key0, key1};
	for (int r = 0; r < 10; r++) {
		if (r > 0) {
			k[0] += 0x9E3779B9u;
			k[1] += 0xBB67AE85u;
		}
		gl_philox_round(c, k);
	}
}

__device__ __forceinline__ float gl_keep(unsigned u, unsigned thr, float scale) { return u >= thr ? scale : 0.f; }

// gl_dropout: y = x·mask with mask regenerated from (seed, offset); the
// backward is the same kernel with x = dy and y = dx. mask, when not null,
// receives the multipliers (for tests and for the attention probabilities).
extern "C" __global__ void gl_dropout(float *y, float *mask, const float *x, long n, unsigned thr, float scale,
                                      unsigned seed0, unsigned seed1, unsigned long long offset) {
	long groups = (n + 3) / 4;
	for (long g = (long)blockIdx.x * blockDim.x + threadIdx.x; g < groups; g += (long)blockDim.x * gridDim.x) {
		unsigned c[4] = {(unsigned)g, (unsigned)((unsigned long long)g >> 32), (unsigned)offset,
		                 (unsigned)(offset >> 32)};
		gl_philox4x32_10(c, seed0, seed1);
		for (int w = 0; w < 4; w++) {
			long i = g * 4 + w;
			if (i >= n) break;
			float m = gl_keep(c[w], thr, scale);
			if (mask) mask[i] = m;
			if (x) y[i] = __fmul_rn(x[i], m);
		}
	}
}

// gl_philox_words writes philox4x32-10(counter, key) for n consecutive
// counters starting at (c0, c1, c2, c3) (the low word incremented): the
// known-answer test of the generator.
extern "C" __global__ void gl_philox_words(unsigned *out, long n, unsigned c0, unsigned c1, unsigned c2, unsigned c3,
                                           unsigned key0, unsigned key1) {
	for (long g = (long)blockIdx.x * blockDim.x + threadIdx.x; g < n; g += (long)blockDim.x * gridDim.x) {
		unsigned c[4] = {c0 + (unsigned)g, c1, c2, c3};
		gl_philox4x32_10(c, key0, key1);
		for (int w = 0; w < 4; w++) out[g * 4 + w] = c[w];
	}
}
