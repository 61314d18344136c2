#version 450
// Complex contraction, one GEMM per frequency f < F:
// C[m][n][f] = Σ_k A[(m·sAm + k·sAk)·F + f] · op(B[(k·sBk + n·sBn)·F + f]),
// op = conj when conj != 0.
//
// Batched complex GEMM over f on shared-memory tiles: a workgroup owns TF
// consecutive frequencies × a TM×TN block of (m, n) and walks K in steps of
// TK. Each step it loads the TK×TM×TF tile of A and the TK×TN×TF tile of B
// cooperatively (f fastest: TF consecutive complex values per row, coalesced),
// and every thread accumulates an RM×RN block of outputs for its frequency
// from shared memory: each loaded value is reused RN (A) or RM (B) times from
// registers and TN (A) or TM (B) times across the workgroup. The next tile is
// prefetched into registers while the current one is used (one shared buffer,
// two barriers per K step). 128 invocations (the spec minimum), 16 KiB of
// shared memory (the spec minimum).
//
// Threads: x = frequency lane (TF), y = (m block, n block). Workgroups:
// group_index() = mnTile·fTiles + fTile (folded into 2-D by the runtime).
layout(local_size_x = 8, local_size_y = 16) in;
// TILED = false (CPU devices): no shared memory, no barriers.
layout(constant_id = 0) const bool TILED = true;
#include "common.glsl"
layout(std430, binding = 0) writeonly buffer Cb { vec2 C[]; };
layout(std430, binding = 1) readonly buffer Ab { vec2 A[]; };
layout(std430, binding = 2) readonly buffer Bb { vec2 B[]; };
layout(push_constant) uniform PC { int M, N, K, F, sAm, sAk, sBk, sBn, conj, fTiles, nTiles; } pc;

const int TF = 8, TM = 16, TN = 16, TK = 8, RM = 4, RN = 4;
const int BM = TM / RM, BN = TN / RN; // thread blocks per axis (BM·BN = 16)
const int NT = TF * BM * BN;          // 128 invocations
const int LA = TK * TM * TF / NT;     // A elements each thread loads per step
const int LB = TK * TN * TF / NT;

shared vec2 As[TK * TM * TF];
shared vec2 Bs[TK * TN * TF];

void main() {
	int g = int(group_index());
	int ft = g % pc.fTiles, mn = g / pc.fTiles;
	int m0 = (mn / pc.nTiles) * TM, n0 = (mn % pc.nTiles) * TN, f0 = ft * TF;
	int tf = int(gl_LocalInvocationID.x), ty = int(gl_LocalInvocationID.y);
	int tid = ty * TF + tf;
	int tm = ty / BN, tn = ty % BN;
	float s = pc.conj != 0 ? -1.0 : 1.0;
	int gf = f0 + tf; // every element a thread loads has f = f0 + tid % TF = gf
	bool fin = gf < pc.F;

	vec2 ra[LA], rb[LB];
	// load fetches the K step starting at k0 into registers (zeros outside).
	#define LOAD(k0) \
	for (int l = 0; l < LA; l++) { \
		int e = tid + l * NT; \
		int mi = (e / TF) % TM, kk = e / (TF * TM); \
		int gm = m0 + mi, gk = (k0) + kk; \
		ra[l] = (fin && gm < pc.M && gk < pc.K) ? A[(gm * pc.sAm + gk * pc.sAk) * pc.F + gf] : vec2(0.0); \
	} \
	for (int l = 0; l < LB; l++) { \
		int e = tid + l * NT; \
		int ni = (e / TF) % TN, kk = e / (TF * TN); \
		int gn = n0 + ni, gk = (k0) + kk; \
		vec2 v = (fin && gn < pc.N && gk < pc.K) ? B[(gk * pc.sBk + gn * pc.sBn) * pc.F + gf] : vec2(0.0); \
		rb[l] = vec2(v.x, s * v.y); \
	}

	vec2 acc[RM][RN];
	for (int i = 0; i < RM; i++)
		for (int j = 0; j < RN; j++) acc[i][j] = vec2(0.0);

	if (!TILED) {
		// CPU devices (lavapipe): the same register blocking straight from
		// global memory (the caches), no barriers.
		int am[RM], bn[RN];
		for (int i = 0; i < RM; i++) { int gm = m0 + tm + i * BM; am[i] = gm < pc.M ? gm * pc.sAm : -1; }
		for (int j = 0; j < RN; j++) { int gn = n0 + tn + j * BN; bn[j] = gn < pc.N ? gn * pc.sBn : -1; }
		if (fin) for (int k = 0; k < pc.K; k++) {
			vec2 a[RM], b[RN];
			for (int i = 0; i < RM; i++) a[i] = am[i] >= 0 ? A[(am[i] + k * pc.sAk) * pc.F + gf] : vec2(0.0);
			for (int j = 0; j < RN; j++) {
				vec2 v = bn[j] >= 0 ? B[(k * pc.sBk + bn[j]) * pc.F + gf] : vec2(0.0);
				b[j] = vec2(v.x, s * v.y);
			}
			for (int i = 0; i < RM; i++)
				for (int j = 0; j < RN; j++) {
					acc[i][j].x += a[i].x * b[j].x - a[i].y * b[j].y;
					acc[i][j].y += a[i].x * b[j].y + a[i].y * b[j].x;
				}
		}
	} else {
	LOAD(0)
	for (int k0 = 0; k0 < pc.K; k0 += TK) {
		barrier(); // the previous step's reads of As/Bs are done
		for (int l = 0; l < LA; l++) As[tid + l * NT] = ra[l];
		for (int l = 0; l < LB; l++) Bs[tid + l * NT] = rb[l];
		barrier();
		if (k0 + TK < pc.K) { LOAD(k0 + TK) }
		for (int kk = 0; kk < TK; kk++) {
			vec2 a[RM], b[RN];
			for (int i = 0; i < RM; i++) a[i] = As[(kk * TM + tm + i * BM) * TF + tf];
			for (int j = 0; j < RN; j++) b[j] = Bs[(kk * TN + tn + j * BN) * TF + tf];
			for (int i = 0; i < RM; i++)
				for (int j = 0; j < RN; j++) {
					acc[i][j].x += a[i].x * b[j].x - a[i].y * b[j].y;
					acc[i][j].y += a[i].x * b[j].y + a[i].y * b[j].x;
				}
		}
	}
	}
	if (!fin) return;
	for (int i = 0; i < RM; i++) {
		int gm = m0 + tm + i * BM;
		if (gm >= pc.M) continue;
		for (int j = 0; j < RN; j++) {
			int gn = n0 + tn + j * BN;
			if (gn < pc.N) C[(gm * pc.N + gn) * pc.F + gf] = acc[i][j];
		}
	}
}
