#version 450
// dst[j] = Σ_b a[b·stride + j]·conj(c[b·stride + j]) (CONJ = 1; the plain
// product with 0) over b < batch, j < n, for interleaved complex a, c: the
// kernel gradient of a depthwise Fourier convolution (Σ over the batch of
// X·conj(G)) in one pass, without the [batch][n] product in memory. One
// thread per output j: consecutive threads read consecutive addresses. The
// sum runs in float32 in batch order (the CPU's ComplexMul + Reduce order).
// The host binds sub-ranges of large arrays (ao, co, do_: complex offsets
// inside them); accum ≠ 0 adds to dst (blocks of rows after the first).
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int CONJ = 1;
#include "common.glsl"
layout(std430, binding = 0) buffer Dst { vec2 dst[]; };
layout(std430, binding = 1) readonly buffer A { vec2 a[]; };
layout(std430, binding = 2) readonly buffer C { vec2 c[]; };
layout(push_constant) uniform PC { uint n, batch, ao, co, do_, stride, accum; } pc;

void main() {
	uint j = global_index();
	if (j >= pc.n) return;
	vec2 acc = pc.accum != 0u ? dst[pc.do_ + j] : vec2(0.0);
	for (uint b = 0u; b < pc.batch; b++) {
		vec2 x = a[pc.ao + b * pc.stride + j], y = c[pc.co + b * pc.stride + j];
		if (CONJ == 1) y.y = -y.y;
		acc += vec2(x.x * y.x - x.y * y.y, x.x * y.y + x.y * y.x);
	}
	dst[pc.do_ + j] = acc;
}
