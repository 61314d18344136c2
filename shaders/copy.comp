#version 450
// Strided copy of 4-byte elements (float32 or int32): rank ≤ 8, a source
// stride of 0 broadcasts.
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) writeonly buffer Dst { uint dst[]; };
layout(std430, binding = 1) readonly buffer Src { uint src[]; };
layout(push_constant) uniform PC {
	int n, rank, dOff, sOff;
	int shape[8];
	int ds[8];
	int ss[8];
} pc;

void main() {
	uint gi = global_index();
	if (gi >= uint(pc.n)) return;
	int idx = int(gi);
	int d = pc.dOff, s = pc.sOff;
	for (int a = pc.rank - 1; a >= 0; a--) {
		int i = idx % pc.shape[a];
		idx /= pc.shape[a];
		d += i * pc.ds[a];
		s += i * pc.ss[a];
	}
	dst[d] = src[s];
}
