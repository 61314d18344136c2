#version 450
// Gradient of the convolution with respect to its input, one thread per
// input element (no atomics): dx[n][c][h][w] = Σ over the taps that read it.
layout(local_size_x = 256) in;
#include "common.glsl"
#include "conv.glsl"
layout(std430, binding = 0) writeonly buffer DX { float dx[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) readonly buffer Wt { float w[]; };

void main() {
	uint gi = global_index();
	if (gi >= uint(pc.N * pc.C * pc.H * pc.W)) return;
	int i = int(gi);
	int iw = i % pc.W; i /= pc.W;
	int ih = i % pc.H; i /= pc.H;
	int c = i % pc.C;
	int n = i / pc.C;
	int cg = pc.C / pc.G, kg = pc.K / pc.G;
	int g = c / cg, cl = c % cg;
	float acc = 0.0;
	for (int kh = 0; kh < pc.KH; kh++) {
		int th = ih + pc.PH - kh * pc.DH;
		if (th < 0 || th % pc.SH != 0) continue;
		int oh = th / pc.SH;
		if (oh >= pc.OH) continue;
		for (int kw = 0; kw < pc.KW; kw++) {
			int tw = iw + pc.PW - kw * pc.DW;
			if (tw < 0 || tw % pc.SW != 0) continue;
			int ow = tw / pc.SW;
			if (ow >= pc.OW) continue;
			for (int kk = 0; kk < kg; kk++) {
				int k = g * kg + kk;
				acc += dy[((n * pc.K + k) * pc.OH + oh) * pc.OW + ow] * w[((k * cg + cl) * pc.KH + kh) * pc.KW + kw];
			}
		}
	}
	dx[gi] = acc;
}
