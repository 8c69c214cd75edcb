// Gathers and scatters over int64 indices: embedding lookup
// (kern.Embedding / EmbeddingBackward) and per-batch row gathers
// (kern.GatherRows / ScatterAddRows: word pooling by first sub-token, prompt
// extraction, span start/end indexing). An index out of range is recorded
// in *bad as the smallest offending flat position (atomicMin; the host sets
// it to ~0 before the launch and reads it after) and its output row is
// zero. The backwards are deterministic: each thread owns output columns
// and adds the rows in increasing index order, as the Go kernels do.

#define GL_GRID_STRIDE(i, n) for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long)blockDim.x * gridDim.x)

// dst (n, D) = weight[ids[i]] for weight (V, D).
extern "C" __global__ void gl_embedding_fwd(float *dst, const float *weight, const long long *ids, long n, long V,
                                            long D, unsigned long long *bad) {
	GL_GRID_STRIDE(e, n * D) {
		long i = e / D, j = e % D;
		long long k = ids[i];
		if (k < 0 || k >= V) {
			atomicMin(bad, (unsigned long long)i);
			dst[e] = 0.f;
			continue;
		}
		dst[e] = weight[k * D + j];
	}
}

// dW (V, D), zeroed by the host, += dy[i] into row ids[i], i in order, one
// thread per column.
extern "C" __global__ void gl_embedding_bwd(float *dW, const float *dy, const long long *ids, long n, long V, long D) {
	GL_GRID_STRIDE(j, D) {
		for (long i = 0; i < n; i++) {
			long long k = ids[i];
			if (k < 0 || k >= V) continue;
			dW[k * D + j] = __fadd_rn(dW[k * D + j], dy[i * D + j]);
		}
	}
}

// dst (B, M, D) = src[b, idx[b, m]] for src (B, N, D); idx −1 gives a zero row.
extern "C" __global__ void gl_gather_rows(float *dst, const float *src, const long long *idx, long B, long N, long M,
                                          long D, unsigned long long *bad) {
	GL_GRID_STRIDE(e, B * M * D) {
		long bm = e / D, j = e % D, b = bm / M;
		long long k = idx[bm];
		if (k < -1 || k >= N) {
			atomicMin(bad, (unsigned long long)bm);
			dst[e] = 0.f;
			continue;
		}
		dst[e] = k < 0 ? 0.f : src[(b * N + k) * D + j];
	}
}

// dsrc (B, N, D) = Σ_{m: idx[b,m] = n} ddst[b, m]: one thread per (b, j)
// zeroes its column and adds the rows in increasing m.
extern "C" __global__ void gl_scatter_add_rows(float *dsrc, const float *ddst, const long long *idx, long B, long N,
                                               long M, long D) {
	GL_GRID_STRIDE(e, B * D) {
		long b = e / D, j = e % D;
		for (long n = 0; n < N; n++) dsrc[(b * N + n) * D + j] = 0.f;
		for (long m = 0; m < M; m++) {
			long long k = idx[b * M + m];
			if (k < 0 || k >= N) continue;
			float *acc = dsrc + (b * N + k) * D + j;
			*acc = __fadd_rn(*acc, ddst[(b * M + m) * D + j]);
		}
	}
}
