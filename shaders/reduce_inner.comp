#version 450
// Reduction over the middle axis of [outer][n][inner] with one thread per
// output element (used when inner is large: consecutive threads read
// consecutive addresses). Same op codes and semantics as reduce.glsl.
// so, do_: float offsets inside the bound sub-ranges of src and dst.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int OP = 0; // specialised per op
#include "common.glsl"
layout(std430, binding = 0) writeonly buffer Dst { uint dst[]; };
layout(std430, binding = 1) readonly buffer Src { float src[]; };
layout(push_constant) uniform PC { uint outer, n, inner, so, do_; } pc;

void main() {
	uint g = global_index();
	if (g >= pc.outer * pc.inner) return;
	uint o = g / pc.inner, in_ = g % pc.inner;
	uint base = pc.so + o * pc.n * pc.inner + in_;
	float acc = src[base];
	int ai = 0;
	for (uint k = 1u; k < pc.n; k++) {
		float v = src[base + k * pc.inner];
		switch (OP) {
		case 0: acc += v; break;
		case 1: if (v > acc) acc = v; break;
		case 2: if (v < acc) acc = v; break;
		case 3: if (v > acc || (isnan(acc) && !isnan(v))) { acc = v; ai = int(k); } break;
		case 4: if (v < acc || (isnan(acc) && !isnan(v))) { acc = v; ai = int(k); } break;
		}
	}
	dst[pc.do_ + g] = OP >= 3 ? uint(ai) : floatBitsToUint(acc);
}
