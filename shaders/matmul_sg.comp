#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_EXT_control_flow_attributes : enable
// Batched GEMM for small outputs and long reductions (matmul.comp's
// arguments): the K axis is split over the 128 invocations of a workgroup
// and the partial sums are combined with subgroupAdd, then across the
// workgroup's subgroups in shared memory. Each workgroup computes a TM×TN
// block of C (TM·TN = 16: 4×4, 1×16 for row vectors, 16×1 for column
// vectors), so a GEMM whose 64×64 tiles give few workgroups — the weight
// gradient XᵀdY of a linear layer, batch-1 GEMV — still fills the device.
// Invocation t reads k = t, t+128, …: consecutive lanes read consecutive k
// (coalesced along A's rows and along a transposed B's columns).
// Grid: (N blocks from col0/TN, M blocks from row0/TM, batches from batch0).
// Rows and columns past M, N are clamped to the last one for the loads
// (no branch in the loop) and not stored.
layout(local_size_x = 128) in;
layout(constant_id = 0) const int TM = 4;
const int TN = 16 / TM;
const int WG = 128;
layout(std430, binding = 0) buffer Cb { float C[]; };
layout(std430, binding = 1) readonly buffer Ab { float A[]; };
layout(std430, binding = 2) readonly buffer Bb { float B[]; };
layout(push_constant) uniform PC {
	int M, N, K, aOff, bOff, cOff, sA, sB, sC, ars, acs, brs, bcs;
	float alpha, beta;
	int batch0, row0, col0, crs;
} pc;

// One slot per subgroup and output: enough for any subgroup size.
shared float part[16][WG];

void main() {
	int tid = int(gl_LocalInvocationID.x);
	int bm = pc.row0 + int(gl_WorkGroupID.y) * TM;
	int bn = pc.col0 + int(gl_WorkGroupID.x) * TN;
	int batch = pc.batch0 + int(gl_WorkGroupID.z);
	int a0 = pc.aOff + batch * pc.sA, b0 = pc.bOff + batch * pc.sB;
	int ar[TM], bc[TN];
	[[unroll]] for (int i = 0; i < TM; i++) ar[i] = a0 + min(bm + i, pc.M - 1) * pc.ars;
	[[unroll]] for (int j = 0; j < TN; j++) bc[j] = b0 + min(bn + j, pc.N - 1) * pc.bcs;
	float acc[TM][TN];
	[[unroll]] for (int i = 0; i < TM; i++)
		[[unroll]] for (int j = 0; j < TN; j++) acc[i][j] = 0.0;
	// 4 k per lane per iteration: llvmpipe stops a shader after 65535 loop
	// iterations, so K up to 4·128·65535 (the host keeps K below that).
	for (int k0 = tid; k0 < pc.K; k0 += 4 * WG) {
		[[unroll]] for (int u = 0; u < 4; u++) {
			int k = k0 + u * WG;
			if (k < pc.K) {
				float a[TM], b[TN];
				[[unroll]] for (int i = 0; i < TM; i++) a[i] = A[ar[i] + k * pc.acs];
				[[unroll]] for (int j = 0; j < TN; j++) b[j] = B[k * pc.brs + bc[j]];
				[[unroll]] for (int i = 0; i < TM; i++)
					[[unroll]] for (int j = 0; j < TN; j++) acc[i][j] += a[i] * b[j];
			}
		}
	}
	[[unroll]] for (int i = 0; i < TM; i++)
		[[unroll]] for (int j = 0; j < TN; j++) {
			float s = subgroupAdd(acc[i][j]);
			if (subgroupElect()) part[i * TN + j][gl_SubgroupID] = s;
		}
	barrier();
	if (tid < 16) {
		int i = tid / TN, j = tid % TN;
		int gm = bm + i, gn = bn + j;
		if (gm < pc.M && gn < pc.N) {
			float s = 0.0;
			for (uint g = 0; g < gl_NumSubgroups; g++) s += part[tid][g];
			int ci = pc.cOff + batch * pc.sC + gm * pc.crs + gn;
			float v = pc.alpha * s;
			if (pc.beta != 0.0) v += pc.beta * C[ci];
			C[ci] = v;
		}
	}
}
