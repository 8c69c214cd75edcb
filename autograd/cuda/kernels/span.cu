// markerV0's span first layer (kern.SpanFirstLayerForward, urchade/GLiNER
// c2bb58d gliner/modeling/span_rep.py SpanMarkerV0): the per-word products
// a = ReLU(start)·W_aᵀ and b = ReLU(end)·W_bᵀ come from cuBLAS; this is
// the per-span gather-and-add. The backward's scatters are
// gl_scatter_add_rows (gather.cu), its products cuBLAS and its ReLU mask
// gl_relu_bwd (elementwise.cu).

#define GL_GRID_STRIDE(i, n) for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long)blockDim.x * gridDim.x)

// out (B, S, O) = (a[b, si[b,s]] + b[b, ei[b,s]]) + bias, in the Go
// kernel's order of additions. A word index outside [0, W) is recorded in
// *bad as the smallest offending span (atomicMin) and its row is zero.
extern "C" __global__ void gl_span_first_add(float *out, const float *a, const float *b, const float *bias,
                                             const long long *si, const long long *ei, long B, long S, long W,
                                             long O, unsigned long long *bad) {
	GL_GRID_STRIDE(e, B * S * O) {
		long n = e / O, j = e % O, bi = n / S;
		long long s = si[n], t = ei[n];
		if (s < 0 || s >= W || t < 0 || t >= W) {
			atomicMin(bad, (unsigned long long)n);
			out[e] = 0.f;
			continue;
		}
		out[e] = __fadd_rn(__fadd_rn(a[(bi * W + s) * O + j], b[(bi * W + t) * O + j]), bias[j]);
	}
}
