#version 450
// Reduction over the middle axis of [outer][n][inner] with one thread per
// output element (used when inner is large: consecutive threads read
// consecutive addresses). Same op codes and semantics as reduce.comp.
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) writeonly buffer Dst { uint dst[]; };
layout(std430, binding = 1) readonly buffer Src { float src[]; };
layout(push_constant) uniform PC { int outer, n, inner, op_; } pc;
layout(constant_id = 0) const int OP = 0; // specialised per op

void main() {
	uint g = global_index();
	if (g >= uint(pc.outer * pc.inner)) return;
	int o = int(g) / pc.inner, in_ = int(g) % pc.inner;
	int base = o * pc.n * pc.inner + in_;
	float acc = src[base];
	int ai = 0;
	for (int k = 1; k < pc.n; k++) {
		float v = src[base + k * pc.inner];
		switch (OP) {
		case 0: acc += v; break;
		case 1: if (v > acc) acc = v; break;
		case 2: if (v < acc) acc = v; break;
		case 3: if (v > acc || (isnan(acc) && !isnan(v))) { acc = v; ai = k; } break;
		case 4: if (v < acc || (isnan(acc) && !isnan(v))) { acc = v; ai = k; } break;
		}
	}
	dst[g] = OP >= 3 ? uint(ai) : floatBitsToUint(acc);
}
