#version 450
// Complex contraction, one GEMM per frequency f < F:
// C[m][n][f] = Σ_k A[(m·sAm + k·sAk)·F + f] · op(B[(k·sBk + n·sBn)·F + f]),
// op = conj when conj != 0; one thread per output, f fastest (coalesced).
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) writeonly buffer Cb { vec2 C[]; };
layout(std430, binding = 1) readonly buffer Ab { vec2 A[]; };
layout(std430, binding = 2) readonly buffer Bb { vec2 B[]; };
layout(push_constant) uniform PC { int M, N, K, F, sAm, sAk, sBk, sBn, conj; } pc;

void main() {
	uint gi = global_index();
	if (gi >= uint(pc.M * pc.N * pc.F)) return;
	int f = int(gi) % pc.F;
	int mn = int(gi) / pc.F;
	int n = mn % pc.N, m = mn / pc.N;
	float cr = 0.0, ci = 0.0;
	float s = pc.conj != 0 ? -1.0 : 1.0;
	for (int k = 0; k < pc.K; k++) {
		vec2 a = A[(m * pc.sAm + k * pc.sAk) * pc.F + f];
		vec2 b = B[(k * pc.sBk + n * pc.sBn) * pc.F + f];
		b.y *= s;
		cr += a.x * b.x - a.y * b.y;
		ci += a.x * b.y + a.y * b.x;
	}
	C[gi] = vec2(cr, ci);
}
