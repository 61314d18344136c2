#version 450
#extension GL_EXT_shader_16bit_storage : require
// Packs one fp32 GEMM operand into float16 for matmul_f16.comp:
// dst[(b·R + r)·Kp + k] = f16(src[off + b·s + r·rs + k·ks]) for k < K and 0
// for K ≤ k < Kp (Kp a multiple of 16, so the GEMM's K tiles need no bounds
// checks). A is packed as op(A) [M][K], B as op(B)ᵀ [N][K]: both K-fastest.
// One invocation writes 4 consecutive k as one 8-byte f16vec4 store.
// Only conversions are used (16-bit storage, no shaderFloat16 arithmetic):
// values round to nearest, beyond ±65504 to ±inf.
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) writeonly buffer Db { f16vec4 D[]; };
layout(std430, binding = 1) readonly buffer Sb { float S[]; };
layout(push_constant) uniform PC {
	int total, R, K, kq, off, s, rs, ks; // kq = Kp/4; total = batches·R·kq
} pc;

void main() {
	int g = int(global_index());
	if (g >= pc.total) return;
	int q = g % pc.kq, row = g / pc.kq; // row = b·R + r
	int b = row / pc.R, r = row - b * pc.R;
	int base = pc.off + b * pc.s + r * pc.rs;
	vec4 v;
	for (int l = 0; l < 4; l++) {
		int k = q * 4 + l;
		v[l] = k < pc.K ? S[base + k * pc.ks] : 0.0;
	}
	D[g] = f16vec4(v);
}
