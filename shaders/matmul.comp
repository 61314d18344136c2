#version 450
// Batched GEMM: C = alpha·op(A)·op(B) + beta·C, 64×64 output tile per
// workgroup, 16-deep K tiles staged in shared memory, 4×4 outputs per
// thread. op(A)[m,k] = A[aOff + batch·sA + m·ars + k·acs] (transposition is
// expressed by the strides), likewise B; C[m][n] = C[cOff + batch·sC + m·crs + n]. beta = 0
// never reads C. The grid is (N tiles, M tiles from row0, batches from
// batch0).
layout(local_size_x = 16, local_size_y = 16) in;
layout(std430, binding = 0) buffer Cb { float C[]; };
layout(std430, binding = 1) readonly buffer Ab { float A[]; };
layout(std430, binding = 2) readonly buffer Bb { float B[]; };
layout(push_constant) uniform PC {
	int M, N, K, aOff, bOff, cOff, sA, sB, sC, ars, acs, brs, bcs;
	float alpha, beta;
	int batch0, row0, crs;
} pc;

shared float As[16][68];
shared float Bs[16][68];

void main() {
	int tx = int(gl_LocalInvocationID.x), ty = int(gl_LocalInvocationID.y);
	int tid = ty * 16 + tx;
	int bm = pc.row0 + int(gl_WorkGroupID.y) * 64;
	int bn = int(gl_WorkGroupID.x) * 64;
	int batch = pc.batch0 + int(gl_WorkGroupID.z);
	int a0 = pc.aOff + batch * pc.sA;
	int b0 = pc.bOff + batch * pc.sB;
	float acc[4][4];
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++) acc[i][j] = 0.0;
	// A tiles are loaded k-fastest when A is row-major, m-fastest otherwise.
	bool aKFast = pc.acs == 1;
	bool bNFast = pc.bcs == 1;
	for (int k0 = 0; k0 < pc.K; k0 += 16) {
		for (int l = 0; l < 4; l++) {
			int e = tid + l * 256;
			int mi, kk;
			if (aKFast) { mi = e >> 4; kk = e & 15; } else { kk = e >> 6; mi = e & 63; }
			int gm = bm + mi, gk = k0 + kk;
			As[kk][mi] = (gm < pc.M && gk < pc.K) ? A[a0 + gm * pc.ars + gk * pc.acs] : 0.0;
			int ni;
			if (bNFast) { kk = e >> 6; ni = e & 63; } else { ni = e >> 4; kk = e & 15; }
			int gn = bn + ni;
			gk = k0 + kk;
			Bs[kk][ni] = (gn < pc.N && gk < pc.K) ? B[b0 + gk * pc.brs + gn * pc.bcs] : 0.0;
		}
		barrier();
		for (int kk = 0; kk < 16; kk++) {
			float a[4], b[4];
			for (int i = 0; i < 4; i++) a[i] = As[kk][ty + 16 * i];
			for (int j = 0; j < 4; j++) b[j] = Bs[kk][tx + 16 * j];
			for (int i = 0; i < 4; i++)
				for (int j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];
		}
		barrier();
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
