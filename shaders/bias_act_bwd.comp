#version 450
// Gradient of bias_act over [N][C][S], one workgroup per channel:
// dx = dy·(y > 0 with ReLU) (written when flags & 1), dbias[c] = Σ dx
// (written when flags & 2). flags & 4: ReLU.
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) writeonly buffer DX { float dx[]; };
layout(std430, binding = 1) buffer DB { float db[]; };
layout(std430, binding = 2) readonly buffer DY { float dy[]; };
layout(std430, binding = 3) readonly buffer Yv { float y[]; };
layout(push_constant) uniform PC { int N, C, S, flags; } pc;

shared float red[256];

void main() {
	int c = int(group_index());
	if (c >= pc.C) return;
	uint t = gl_LocalInvocationID.x;
	int M = pc.N * pc.S;
	bool relu = (pc.flags & 4) != 0;
	float acc = 0.0;
	for (int j = int(t); j < M; j += 256) {
		int i = ((j / pc.S) * pc.C + c) * pc.S + j % pc.S;
		float g = dy[i];
		if (relu && y[i] <= 0.0) g = 0.0;
		if ((pc.flags & 1) != 0) dx[i] = g;
		acc += g;
	}
	red[t] = acc;
	barrier();
	for (uint s = 128; s > 0; s >>= 1) {
		if (t < s) red[t] += red[t + s];
		barrier();
	}
	if (t == 0 && (pc.flags & 2) != 0) db[c] = red[0];
}
