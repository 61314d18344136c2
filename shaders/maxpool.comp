#version 450
// Max pooling, one thread per output; idx gets the flat index (ih·W + iw) of
// the first maximum. Padding never wins; an all-padding window gives 0 and
// index −1 (the CPU backend's semantics).
layout(local_size_x = 256) in;
#include "common.glsl"
#include "pool.glsl"
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) writeonly buffer I { int idx[]; };
layout(std430, binding = 2) readonly buffer X { float x[]; };

void main() {
	uint gi = global_index();
	if (gi >= uint(pc.N * pc.C * pc.OH * pc.OW)) return;
	int i = int(gi);
	int ow = i % pc.OW; i /= pc.OW;
	int oh = i % pc.OH;
	int nc = i / pc.OH;
	int base = nc * pc.H * pc.W;
	float best = uintBitsToFloat(0xff800000u);
	int bi = -1;
	for (int kh = 0; kh < pc.KH; kh++) {
		int ih = oh * pc.SH - pc.PH + kh;
		if (ih < 0 || ih >= pc.H) continue;
		for (int kw = 0; kw < pc.KW; kw++) {
			int iw = ow * pc.SW - pc.PW + kw;
			if (iw < 0 || iw >= pc.W) continue;
			float v = x[base + ih * pc.W + iw];
			if (bi < 0 || v > best) { best = v; bi = ih * pc.W + iw; }
		}
	}
	y[gi] = bi < 0 ? 0.0 : best;
	idx[gi] = bi;
}
