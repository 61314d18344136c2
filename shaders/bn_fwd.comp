#version 450
// Fused batch normalisation forward over x viewed as [N][C][S]: one
// workgroup per channel computes the batch mean and biased variance (two
// passes, shared-memory sums), updates the running statistics, writes the
// saved statistics [4][C] (shift, 1/σ, scale = γ/σ, offset = β − shift·scale),
// then y = act(x·scale + offset).
// Evaluation: shift = running mean − bias, invstd = 1/√(running var + eps).
// flags: 1 training, 2 ReLU, 4 bias, 8 γ, 16 β, 32 running statistics.
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) buffer St { float st[]; };
layout(std430, binding = 2) readonly buffer X { float x[]; };
layout(std430, binding = 3) readonly buffer Bi { float bias[]; };
layout(std430, binding = 4) readonly buffer Ga { float gamma[]; };
layout(std430, binding = 5) readonly buffer Bt { float beta[]; };
layout(std430, binding = 6) buffer RM { float rm[]; };
layout(std430, binding = 7) buffer RV { float rv[]; };
layout(push_constant) uniform PC { int N, C, S, flags; float eps, mom; } pc;

shared float red[256];

float wg_sum(float v) {
	uint t = gl_LocalInvocationID.x;
	red[t] = v;
	barrier();
	for (uint s = 128; s > 0; s >>= 1) {
		if (t < s) red[t] += red[t + s];
		barrier();
	}
	float r = red[0];
	barrier();
	return r;
}

void main() {
	int c = int(group_index());
	if (c >= pc.C) return;
	int t = int(gl_LocalInvocationID.x);
	int M = pc.N * pc.S;
	float b = (pc.flags & 4) != 0 ? bias[c] : 0.0;
	float mean, inv;
	if ((pc.flags & 1) != 0) {
		float s = 0.0;
		for (int j = t; j < M; j += 256) s += x[((j / pc.S) * pc.C + c) * pc.S + j % pc.S];
		mean = wg_sum(s) / float(M);
		float q = 0.0;
		for (int j = t; j < M; j += 256) {
			float d = x[((j / pc.S) * pc.C + c) * pc.S + j % pc.S] - mean;
			q += d * d;
		}
		float v = wg_sum(q) / float(M);
		inv = inversesqrt(v + pc.eps);
		if (t == 0 && (pc.flags & 32) != 0) {
			float unb = M > 1 ? v * float(M) / float(M - 1) : v;
			rm[c] = (1.0 - pc.mom) * rm[c] + pc.mom * (mean + b);
			rv[c] = (1.0 - pc.mom) * rv[c] + pc.mom * unb;
		}
	} else {
		mean = rm[c] - b;
		inv = inversesqrt(rv[c] + pc.eps);
	}
	float scale = (pc.flags & 8) != 0 ? inv * gamma[c] : inv;
	float off = -mean * scale + ((pc.flags & 16) != 0 ? beta[c] : 0.0);
	if (t == 0) {
		st[c] = mean;
		st[pc.C + c] = inv;
		st[2 * pc.C + c] = scale;
		st[3 * pc.C + c] = off;
	}
	bool relu = (pc.flags & 2) != 0;
	for (int j = t; j < M; j += 256) {
		int i = ((j / pc.S) * pc.C + c) * pc.S + j % pc.S;
		float r = x[i] * scale + off;
		y[i] = relu ? max(r, 0.0) : r;
	}
}
