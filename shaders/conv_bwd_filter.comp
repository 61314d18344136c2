#version 450
// Gradient of the convolution with respect to its weights: one workgroup per
// weight dw[k][c][kh][kw]; its threads stride over (n, oh, ow) and reduce in
// shared memory.
layout(local_size_x = 128) in;
#include "common.glsl"
#include "conv.glsl"
layout(std430, binding = 0) writeonly buffer DW { float dw[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer DY { float dy[]; };

shared float part[128];

void main() {
	uint g0 = group_index();
	int cg = pc.C / pc.G, kg = pc.K / pc.G;
	if (g0 >= uint(pc.K * cg * pc.KH * pc.KW)) return;
	int i = int(g0);
	int kw = i % pc.KW; i /= pc.KW;
	int kh = i % pc.KH; i /= pc.KH;
	int c = i % cg;
	int k = i / cg;
	int ci = (k / kg) * cg + c;
	int t = int(gl_LocalInvocationID.x);
	int plane = pc.OH * pc.OW;
	float acc = 0.0;
	for (int e = t; e < pc.N * plane; e += 128) {
		int n = e / plane, r = e % plane;
		int oh = r / pc.OW, ow = r % pc.OW;
		int ih = oh * pc.SH - pc.PH + kh * pc.DH;
		int iw = ow * pc.SW - pc.PW + kw * pc.DW;
		if (ih < 0 || ih >= pc.H || iw < 0 || iw >= pc.W) continue;
		acc += dy[(n * pc.K + k) * plane + r] * x[((n * pc.C + ci) * pc.H + ih) * pc.W + iw];
	}
	part[t] = acc;
	barrier();
	for (int s = 64; s > 0; s >>= 1) {
		if (t < s) part[t] += part[t + s];
		barrier();
	}
	if (t == 0) dw[g0] = part[0];
}
