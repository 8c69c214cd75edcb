// Elementwise kernels: sum, ReLU, the activations, bias rows and column
// sums. Each mirrors the Go kernel in autograd/kern named beside it; the
// Go launchers are in autograd/cuda/kernels.go. Arithmetic that the Go
// kernels round step by step uses the _rn intrinsics, which the compiler
// never contracts into fused multiply-adds.

#define GL_GRID_STRIDE(i, n) for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long)blockDim.x * gridDim.x)

// kern.Add: y = a + b.
extern "C" __global__ void gl_add(float *y, const float *a, const float *b, long n) {
	GL_GRID_STRIDE(i, n) { y[i] = __fadd_rn(a[i], b[i]); }
}

// Gradient accumulation: y += x.
extern "C" __global__ void gl_accumulate(float *y, const float *x, long n) {
	GL_GRID_STRIDE(i, n) { y[i] = __fadd_rn(y[i], x[i]); }
}

// Scale in place: x *= s (torch's clip_grad_norm_ multiply, train.ClipGradNorm).
extern "C" __global__ void gl_scale(float *x, float s, long n) {
	GL_GRID_STRIDE(i, n) { x[i] = __fmul_rn(x[i], s); }
}

// kern.ReLUForward / ReLUBackward (the backward reads the output).
extern "C" __global__ void gl_relu_fwd(float *y, const float *x, long n) {
	GL_GRID_STRIDE(i, n) { float v = x[i]; y[i] = v > 0.f ? v : 0.f; }
}
extern "C" __global__ void gl_relu_bwd(float *dx, const float *dy, const float *y, long n) {
	GL_GRID_STRIDE(i, n) { dx[i] = y[i] > 0.f ? dy[i] : 0.f; }
}

// kern.erf32: PyTorch's vectorised CPU erf (Abramowitz-Stegun 7.1.26 with
// fused multiply-adds), so GELU matches the CPU kernel to rounding.
__device__ __forceinline__ float gl_erf32(float x) {
	const float p = 0.3275911f, p1 = 0.254829592f, p2 = -0.284496736f, p3 = 1.421413741f, p4 = -1.453152027f,
	            p5 = 1.061405429f;
	float a = fabsf(x);
	float t = 1.0f / fmaf(p, a, 1.0f);
	float r = fmaf(fmaf(fmaf(fmaf(p5, t, p4), t, p3), t, p2), t, p1);
	float e = -expf(-__fmul_rn(x, x));
	float v = fmaf(__fmul_rn(e, t), r, 1.0f);
	return x < 0.f ? -v : v;
}

// kern.GELUForward / GELUBackward: the exact (erf) GELU.
extern "C" __global__ void gl_gelu_fwd(float *y, const float *x, long n) {
	GL_GRID_STRIDE(i, n) {
		float v = x[i];
		float e = gl_erf32(__fmul_rn(v, 0.70710678118654752440f));
		y[i] = __fmul_rn(__fmul_rn(v, 0.5f), __fadd_rn(1.0f, e));
	}
}
extern "C" __global__ void gl_gelu_bwd(float *dx, const float *dy, const float *x, long n) {
	GL_GRID_STRIDE(i, n) {
		float v = x[i];
		float cdf = __fmul_rn(0.5f, __fadd_rn(1.0f, gl_erf32(__fmul_rn(v, 0.70710678118654752440f))));
		float pdf = __fmul_rn(0.39894228040143267794f, expf(__fmul_rn(__fmul_rn(v, v), -0.5f)));
		dx[i] = __fmul_rn(dy[i], __fadd_rn(cdf, __fmul_rn(v, pdf)));
	}
}

// kern.GELUNewForward / GELUNewBackward: the tanh approximation, in double
// as the Go kernel computes it.
extern "C" __global__ void gl_gelu_new_fwd(float *y, const float *x, long n) {
	GL_GRID_STRIDE(i, n) {
		double v = x[i];
		y[i] = (float)(0.5 * v * (1.0 + tanh(0.79788456080286535588 * (v + 0.044715 * v * v * v))));
	}
}
extern "C" __global__ void gl_gelu_new_bwd(float *dx, const float *dy, const float *x, long n) {
	GL_GRID_STRIDE(i, n) {
		double v = x[i];
		double th = tanh(0.79788456080286535588 * (v + 0.044715 * v * v * v));
		double d = 0.5 * (1.0 + th) + 0.5 * v * (1.0 - th * th) * 0.79788456080286535588 * (1.0 + 3.0 * 0.044715 * v * v);
		dx[i] = (float)((double)dy[i] * d);
	}
}

// kern.TanhForward / TanhBackward and SigmoidForward / SigmoidBackward
// (the backwards read the output).
extern "C" __global__ void gl_tanh_fwd(float *y, const float *x, long n) {
	GL_GRID_STRIDE(i, n) { y[i] = (float)tanh((double)x[i]); }
}
extern "C" __global__ void gl_tanh_bwd(float *dx, const float *dy, const float *y, long n) {
	GL_GRID_STRIDE(i, n) { float t = y[i]; dx[i] = __fmul_rn(dy[i], __fsub_rn(1.0f, __fmul_rn(t, t))); }
}
extern "C" __global__ void gl_sigmoid_fwd(float *y, const float *x, long n) {
	GL_GRID_STRIDE(i, n) {
		double v = x[i];
		y[i] = (float)(v >= 0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v)));
	}
}
extern "C" __global__ void gl_sigmoid_bwd(float *dx, const float *dy, const float *y, long n) {
	GL_GRID_STRIDE(i, n) { float s = y[i]; dx[i] = __fmul_rn(dy[i], __fmul_rn(s, __fsub_rn(1.0f, s))); }
}

// Bias rows: y[r, j] += b[j] over rows×cols (kern.LinearForward's bias).
extern "C" __global__ void gl_add_bias_rows(float *y, const float *b, long rows, long cols) {
	GL_GRID_STRIDE(i, rows * cols) { y[i] = __fadd_rn(y[i], b[i % cols]); }
}

// Column sums: db[j] = Σ_r dy[r, j], one thread per column summing the rows
// in order (kern.LinearBackward's db, same order as the Go loop).
extern "C" __global__ void gl_col_sum(float *db, const float *dy, long rows, long cols) {
	GL_GRID_STRIDE(j, cols) {
		float s = 0.f;
		for (long r = 0; r < rows; r++) s = __fadd_rn(s, dy[r * cols + j]);
		db[j] = s;
	}
}
