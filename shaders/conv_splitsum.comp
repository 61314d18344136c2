#version 450
// Sums the split-K partial results of a convolution's filter gradient:
// dst[i] = Σ_{s < S} part[s·n + i].
layout(local_size_x = 128) in;
#include "common.glsl"
layout(std430, binding = 0) writeonly buffer Db { float D[]; };
layout(std430, binding = 1) readonly buffer Sb { float S[]; };
layout(push_constant) uniform PC { int n, splits; } pc;

void main() {
	int i = int(global_index());
	if (i >= pc.n) return;
	float acc = 0.0;
	for (int s = 0; s < pc.splits; s++) acc += S[s * pc.n + i];
	D[i] = acc;
}
