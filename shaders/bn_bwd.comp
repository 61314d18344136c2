#version 450
// Fused batch normalisation backward over [N][C][S], one workgroup per
// channel, from bn_fwd's statistics [4][C] (shift, 1/σ, scale, offset):
// g = dy·(x·scale + offset > 0 with ReLU), x̂ = (x − shift)·invstd,
// dγ = Σ g·x̂, dβ = Σ g; training: dx = scale/M·(M·g − Σg − x̂·Σg·x̂),
// otherwise dx = scale·g; dbias = Σ dx.
// flags: 1 training, 2 ReLU, 8 write dx, 16 dγ, 32 dβ, 64 dbias.
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) writeonly buffer DX { float dx[]; };
layout(std430, binding = 1) buffer DG { float dg[]; };
layout(std430, binding = 2) buffer DB { float db[]; };
layout(std430, binding = 3) buffer DBi { float dbi[]; };
layout(std430, binding = 4) readonly buffer DY { float dy[]; };
layout(std430, binding = 5) readonly buffer X { float x[]; };
layout(std430, binding = 6) readonly buffer St { float st[]; };
layout(push_constant) uniform PC { int N, C, S, flags; } pc;

shared float ra[256];
shared float rb[256];

void main() {
	int c = int(group_index());
	if (c >= pc.C) return;
	uint t = gl_LocalInvocationID.x;
	int M = pc.N * pc.S;
	bool relu = (pc.flags & 2) != 0;
	float mean = st[c], inv = st[pc.C + c], scale = st[2 * pc.C + c], off = st[3 * pc.C + c];
	float sg = 0.0, sgx = 0.0;
	for (int j = int(t); j < M; j += 256) {
		int i = ((j / pc.S) * pc.C + c) * pc.S + j % pc.S;
		float g = dy[i];
		if (relu && !(x[i] * scale + off > 0.0)) g = 0.0;
		sg += g;
		sgx += g * (x[i] - mean);
	}
	ra[t] = sg;
	rb[t] = sgx;
	barrier();
	for (uint s = 128; s > 0; s >>= 1) {
		if (t < s) {
			ra[t] += ra[t + s];
			rb[t] += rb[t + s];
		}
		barrier();
	}
	sg = ra[0];
	sgx = rb[0] * inv;
	barrier();
	if (t == 0) {
		if ((pc.flags & 16) != 0) dg[c] = sgx;
		if ((pc.flags & 32) != 0) db[c] = sg;
	}
	if ((pc.flags & (8 | 64)) == 0) return;
	float a = scale, b = 0.0, k = 0.0;
	if ((pc.flags & 1) != 0) {
		b = scale * inv * sgx / float(M);
		k = b * mean - scale * sg / float(M);
	}
	float acc = 0.0;
	bool wdx = (pc.flags & 8) != 0;
	for (int j = int(t); j < M; j += 256) {
		int i = ((j / pc.S) * pc.C + c) * pc.S + j % pc.S;
		float xv = x[i], g = dy[i];
		if (relu && !(xv * scale + off > 0.0)) g = 0.0;
		float r = a * g - b * xv + k;
		if (wdx) dx[i] = r;
		acc += r;
	}
	ra[t] = acc;
	barrier();
	for (uint s = 128; s > 0; s >>= 1) {
		if (t < s) ra[t] += ra[t + s];
		barrier();
	}
	if (t == 0 && (pc.flags & 64) != 0) dbi[c] = ra[0];
}
