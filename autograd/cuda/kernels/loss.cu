// The span loss (kern.SpanLoss: urchade/GLiNER c2bb58d
// gliner/modeling/loss_functions.py focal_loss_with_logits, masked as
// gliner/modeling/base.py UniEncoderSpanModel.loss) with masking "none"
// (or negatives >= 1) and reduction sum or mean. As the Go kernel, every
// element is computed in double, the probability and the weighted element
// loss rounded to float32 (the reference's float32 tensors); the sums are
// double block reductions of a fixed grid (gl_sum_partials, optim.cu), so
// only their order of additions differs from the Go loop.

#define GL_GRID_STRIDE(i, n) for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long)blockDim.x * gridDim.x)
#define GL_LOSS_RED_THREADS 256

__device__ __forceinline__ double gl_sigmoid64(double x) {
	if (x >= 0) return 1.0 / (1.0 + exp(-x));
	double e = exp(x);
	return e / (1.0 + e);
}

// kern.lossElement with round32 and normalize (the sigmoid applied).
__device__ void gl_loss_element(double x, double y, double alpha, double gamma, double margin, double smoothing,
                                double *loss, double *grad) {
	if (y == -100.0) {
		*loss = 0;
		*grad = 0;
		return;
	}
	double t = y;
	if (smoothing != 0) t = y * (1 - smoothing) + 0.5 * smoothing;
	double p = (double)(float)gl_sigmoid64(x);
	double dpdx = p * (1 - p);
	double pm = p - margin, dpm = 1.0;
	if (pm < 0) {
		pm = 0;
		dpm = 0;
	} else if (pm > 1) {
		pm = 1;
		dpm = 0;
	}
	pm = (double)(float)pm;
	double q = (double)(float)(1 - pm);
	const double eps = 1e-6;
	double pc = p, dpc = 1.0;
	if (p < eps) {
		pc = eps;
		dpc = 0;
	}
	double qc = q, dqc = 1.0;
	if (q < eps) {
		qc = eps;
		dqc = 0;
	}
	double a = -t * log(pc) - (1 - t) * log(qc);
	double dadp = -t * dpc / pc + (1 - t) * dqc / qc * dpm;
	double l = a, dldp = dadp;
	if (gamma > 0) {
		double pt = p * t + q * (1 - t);
		double base = 1 - pt;
		double f = pow(base, gamma);
		double dbase = -(t - (1 - t) * dpm);
		double df = gamma * pow(base, gamma - 1) * dbase;
		l = a * f;
		dldp = dadp * f + a * df;
	}
	if (alpha >= 0) {
		double w = alpha * t + (1 - alpha) * (1 - t);
		l *= w;
		dldp *= w;
	}
	*loss = (double)(float)l;
	*grad = dldp * dpdx;
}

// Per element i = (b, s, c) of logits x and labels y (B, S, C): the
// weight w = spanMask[b,s]·promptsMask[b,c], the weighted loss rounded to
// float32 (lw) and the local derivative g·w (local); 0 where w is 0.
extern "C" __global__ void gl_span_loss_elems(double *lw, double *local, const float *x, const float *y,
                                              const float *spanMask, const float *promptsMask, long B, long S,
                                              long C, double alpha, double gamma, double margin,
                                              double smoothing) {
	GL_GRID_STRIDE(i, B * S * C) {
		long c = i % C, bs = i / C, b = bs / S;
		double w = (double)spanMask[bs] * (double)promptsMask[b * C + c];
		if (w == 0) {
			lw[i] = 0;
			local[i] = 0;
			continue;
		}
		double l, g;
		gl_loss_element((double)x[i], (double)y[i], alpha, gamma, margin, smoothing, &l, &g);
		lw[i] = (double)(float)(l * w);
		local[i] = g * w;
	}
}

// Stage 1 of a double sum of doubles (stage 2: gl_sum_partials).
extern "C" __global__ void gl_sum_f64_partial(double *partial, const double *x, long n) {
	__shared__ double s[GL_LOSS_RED_THREADS];
	double acc = 0;
	GL_GRID_STRIDE(i, n) { acc += x[i]; }
	s[threadIdx.x] = acc;
	__syncthreads();
	for (int k = GL_LOSS_RED_THREADS / 2; k > 0; k >>= 1) {
		if (threadIdx.x < k) s[threadIdx.x] += s[threadIdx.x + k];
		__syncthreads();
	}
	if (threadIdx.x == 0) partial[blockIdx.x] = s[0];
}

// Stage 1 of a double sum of floats (the span count Σ spanMask).
extern "C" __global__ void gl_sum_f32_partial(double *partial, const float *x, long n) {
	__shared__ double s[GL_LOSS_RED_THREADS];
	double acc = 0;
	GL_GRID_STRIDE(i, n) { acc += (double)x[i]; }
	s[threadIdx.x] = acc;
	__syncthreads();
	for (int k = GL_LOSS_RED_THREADS / 2; k > 0; k >>= 1) {
		if (threadIdx.x < k) s[threadIdx.x] += s[threadIdx.x + k];
		__syncthreads();
	}
	if (threadIdx.x == 0) partial[blockIdx.x] = s[0];
}

// The reduced loss (one thread): sum as float32, or for the mean
// float32(sum)/float32(denom) (0 when denom <= 0). div receives what the
// backward divides the local derivatives by: 1 (sum), denom (mean), or 0
// for a mean over no span (all gradients 0).
extern "C" __global__ void gl_loss_finish(float *out, double *div, const double *sum, const double *denom, int mean) {
	float s = (float)sum[0];
	if (!mean) {
		out[0] = s;
		div[0] = 1;
		return;
	}
	if (denom[0] <= 0) {
		out[0] = 0.f;
		div[0] = 0;
		return;
	}
	out[0] = __fdiv_rn(s, (float)denom[0]);
	div[0] = denom[0];
}

// dx[i] = dout · float32(local[i] / div) (kern.LossResult.BackwardInto).
extern "C" __global__ void gl_loss_bwd(float *dx, const double *local, const double *div, const float *dout, long n) {
	double d = div[0];
	float up = dout[0];
	GL_GRID_STRIDE(i, n) {
		float g = d == 0 ? 0.f : (float)(local[i] / d);
		dx[i] = __fmul_rn(up, g);
	}
}
