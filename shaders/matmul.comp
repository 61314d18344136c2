#version 450
#extension GL_EXT_control_flow_attributes : enable
// Batched GEMM: C = alpha·op(A)·op(B) + beta·C, 64×64 output tile per
// workgroup, 4×4 outputs per thread (rows ty+16i, columns tx+16j).
// op(A)[m,k] = A[aOff + batch·sA + m·ars + k·acs] (transposition is
// expressed by the strides), likewise B; C[m][n] = C[cOff + batch·sC + m·crs + n].
// beta = 0 never reads C. The grid is (N tiles, M tiles from row0, batches
// from batch0).
//
// TILED (GPUs): 16-deep K tiles staged in shared memory; each thread loads
// 4 elements of each tile (one vec4 when VEC says the operand's contiguous
// axis, offsets and strides are multiples of 4: bit 0 for A, bit 1 for B),
// along the operand's contiguous axis (coalesced), and the next tile is
// fetched into registers while the current one is multiplied (register
// double buffering: the global-load latency hides behind the FMAs with
// 16 KiB of shared memory, the spec minimum, instead of two shared tiles).
// !TILED (CPU devices): the same 4×4 blocking read straight from global
// memory, no shared memory, no barriers.
// The inner K loops are unrolled: llvmpipe stops a shader after 65535 loop
// iterations in all, so one iteration per 16 k keeps K up to ~1M exact.
layout(local_size_x = 16, local_size_y = 16) in;
layout(constant_id = 0) const bool TILED = true;
layout(constant_id = 1) const int VEC = 0;
layout(std430, binding = 0) buffer Cb { float C[]; };
layout(std430, binding = 1) readonly buffer Ab { float A[]; };
layout(std430, binding = 1) readonly buffer Ab4 { vec4 A4[]; };
layout(std430, binding = 2) readonly buffer Bb { float B[]; };
layout(std430, binding = 2) readonly buffer Bb4 { vec4 B4[]; };
layout(push_constant) uniform PC {
	int M, N, K, aOff, bOff, cOff, sA, sB, sC, ars, acs, brs, bcs;
	float alpha, beta;
	int batch0, row0, crs;
} pc;

shared float As[16][68];
shared float Bs[16][68];

const bool VA = (VEC & 1) != 0, VB = (VEC & 2) != 0;

int tid, bm, bn, a0, b0;
bool aKFast, bNFast;

// Tile element l (0..3) of this thread: A as (kk, mi), B as (kk, ni).
void aPos(int l, out int kk, out int mi) {
	if (VA) {
		if (aKFast) { mi = tid >> 2; kk = (tid & 3) * 4 + l; }
		else { kk = tid >> 4; mi = (tid & 15) * 4 + l; }
	} else {
		int e = tid + l * 256;
		if (aKFast) { mi = e >> 4; kk = e & 15; } else { kk = e >> 6; mi = e & 63; }
	}
}

void bPos(int l, out int kk, out int ni) {
	if (VB) {
		if (bNFast) { kk = tid >> 4; ni = (tid & 15) * 4 + l; }
		else { ni = tid >> 2; kk = (tid & 3) * 4 + l; }
	} else {
		int e = tid + l * 256;
		if (bNFast) { kk = e >> 6; ni = e & 63; } else { ni = e >> 4; kk = e & 15; }
	}
}

void loadA(int k0, out float r[4]) {
	if (VA) {
		int kk, mi;
		aPos(0, kk, mi);
		int gm = bm + mi, gk = k0 + kk;
		// The 4 elements lie on the contiguous axis, whose extent is a
		// multiple of 4: all in range or all out.
		vec4 v = (gm < pc.M && gk < pc.K) ? A4[(a0 + gm * pc.ars + gk * pc.acs) >> 2] : vec4(0.0);
		r[0] = v.x; r[1] = v.y; r[2] = v.z; r[3] = v.w;
		return;
	}
	for (int l = 0; l < 4; l++) {
		int kk, mi;
		aPos(l, kk, mi);
		int gm = bm + mi, gk = k0 + kk;
		r[l] = (gm < pc.M && gk < pc.K) ? A[a0 + gm * pc.ars + gk * pc.acs] : 0.0;
	}
}

void loadB(int k0, out float r[4]) {
	if (VB) {
		int kk, ni;
		bPos(0, kk, ni);
		int gn = bn + ni, gk = k0 + kk;
		vec4 v = (gn < pc.N && gk < pc.K) ? B4[(b0 + gk * pc.brs + gn * pc.bcs) >> 2] : vec4(0.0);
		r[0] = v.x; r[1] = v.y; r[2] = v.z; r[3] = v.w;
		return;
	}
	for (int l = 0; l < 4; l++) {
		int kk, ni;
		bPos(l, kk, ni);
		int gn = bn + ni, gk = k0 + kk;
		r[l] = (gn < pc.N && gk < pc.K) ? B[b0 + gk * pc.brs + gn * pc.bcs] : 0.0;
	}
}

void main() {
	int tx = int(gl_LocalInvocationID.x), ty = int(gl_LocalInvocationID.y);
	tid = ty * 16 + tx;
	bm = pc.row0 + int(gl_WorkGroupID.y) * 64;
	bn = int(gl_WorkGroupID.x) * 64;
	int batch = pc.batch0 + int(gl_WorkGroupID.z);
	a0 = pc.aOff + batch * pc.sA;
	b0 = pc.bOff + batch * pc.sB;
	float acc[4][4];
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++) acc[i][j] = 0.0;
	// A tiles are loaded k-fastest when A is row-major, m-fastest otherwise.
	aKFast = pc.acs == 1;
	bNFast = pc.bcs == 1;
	if (TILED) {
		float ra[4], rb[4];
		loadA(0, ra);
		loadB(0, rb);
		for (int k0 = 0; k0 < pc.K; k0 += 16) {
			barrier(); // the previous tile's reads are done
			for (int l = 0; l < 4; l++) {
				int kk, mi, ni;
				aPos(l, kk, mi);
				As[kk][mi] = ra[l];
				bPos(l, kk, ni);
				Bs[kk][ni] = rb[l];
			}
			barrier();
			if (k0 + 16 < pc.K) { // prefetch the next tile
				loadA(k0 + 16, ra);
				loadB(k0 + 16, rb);
			}
			[[unroll]] for (int kk = 0; kk < 16; kk++) {
				float a[4], b[4];
				for (int i = 0; i < 4; i++) a[i] = As[kk][ty + 16 * i];
				for (int j = 0; j < 4; j++) b[j] = Bs[kk][tx + 16 * j];
				for (int i = 0; i < 4; i++)
					for (int j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];
			}
		}
	} else {
		int ar[4], bc[4];
		for (int i = 0; i < 4; i++) { int gm = bm + ty + 16 * i; ar[i] = gm < pc.M ? a0 + gm * pc.ars : -1; }
		for (int j = 0; j < 4; j++) { int gn = bn + tx + 16 * j; bc[j] = gn < pc.N ? b0 + gn * pc.bcs : -1; }
		for (int k0 = 0; k0 < pc.K; k0 += 16) {
			[[unroll]] for (int kk = 0; kk < 16; kk++) {
				int k = k0 + kk;
				bool kin = k < pc.K;
				float a[4], b[4];
				for (int i = 0; i < 4; i++) a[i] = (kin && ar[i] >= 0) ? A[ar[i] + k * pc.acs] : 0.0;
				for (int j = 0; j < 4; j++) b[j] = (kin && bc[j] >= 0) ? B[k * pc.brs + bc[j]] : 0.0;
				for (int i = 0; i < 4; i++)
					for (int j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];
			}
		}
	}
	int c0 = pc.cOff + batch * pc.sC;
	for (int i = 0; i < 4; i++) {
		int gm = bm + ty + 16 * i;
		if (gm >= pc.M) continue;
		for (int j = 0; j < 4; j++) {
			int gn = bn + tx + 16 * j;
			if (gn >= pc.N) continue;
			int ci = c0 + gm * pc.crs + gn;
			float v = pc.alpha * acc[i][j];
			if (pc.beta != 0.0) v += pc.beta * C[ci];
			C[ci] = v;
		}
	}
}
