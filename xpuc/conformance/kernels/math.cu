// The math library, single and double precision.
__global__ void math_f32(const float *x, float *out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  float v = x[i];
  float *o = out + 10 * i;
  o[0] = sinf(v); o[1] = cosf(v); o[2] = expf(v); o[3] = logf(v + 4.0f);
  o[4] = sqrtf(v + 4.0f); o[5] = powf(v + 4.0f, 1.5f); o[6] = tanhf(v);
  o[7] = fabsf(v) + floorf(v); o[8] = fminf(v, 0.5f) + fmaxf(v, -0.5f);
  o[9] = rsqrtf(v + 4.0f) + exp2f(v) + log2f(v + 4.0f);
}

__global__ void math_f64(const double *x, double *out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  double v = x[i];
  double *o = out + 6 * i;
  o[0] = sin(v); o[1] = exp(v); o[2] = log(v + 4.0); o[3] = sqrt(v + 4.0);
  o[4] = pow(v + 4.0, 0.5) + fabs(v); o[5] = fma(v, 2.0, 1.0) + ceil(v);
}
