#version 450
// dst[idx] = a[idx]·b[idx] (b conjugated when conj) for interleaved complex
// elements over a shape of rank ≤ 8; shape and strides count complex
// elements, aOff/bOff count floats; dst is contiguous.
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) writeonly buffer Dst { vec2 dst[]; };
layout(std430, binding = 1) readonly buffer A { float av[]; };
layout(std430, binding = 2) readonly buffer B { float bv[]; };
layout(push_constant) uniform PC {
	int n, rank, aOff, bOff, conj;
	int shape[8];
	int as_[8];
	int bs_[8];
} pc;

void main() {
	uint gi = global_index();
	if (gi >= uint(pc.n)) return;
	int idx = int(gi);
	int ia = pc.aOff, ib = pc.bOff;
	for (int k = pc.rank - 1; k >= 0; k--) {
		int i = idx % pc.shape[k];
		idx /= pc.shape[k];
		ia += 2 * i * pc.as_[k];
		ib += 2 * i * pc.bs_[k];
	}
	float ar = av[ia], ai = av[ia + 1];
	float br = bv[ib], bi = bv[ib + 1];
	if (pc.conj != 0) bi = -bi;
	dst[gi] = vec2(ar * br - ai * bi, ar * bi + ai * br);
}
