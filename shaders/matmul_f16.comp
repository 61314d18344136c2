#version 450
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_control_flow_attributes : enable
// Batched GEMM C = alpha·op(A)·op(B) + beta·C with float16 operands and fp32
// accumulation (the opt-in fp16 variant of matmul.comp). The operands are
// packed by matmul_f16cvt.comp: A16[b][m][Kp] = op(A), B16[b][n][Kp] =
// op(B)ᵀ, K-fastest, zero-padded to Kp (a multiple of 16); batch strides
// sA, sB in elements (0: shared). C is fp32 as in matmul.comp.
// 64×64 output tile per workgroup of 256, 4×4 outputs per thread.
// TILED (GPUs): each 16-deep K tile of A and of B is one 8-byte f16vec4
// load per invocation (half the bytes of matmul.comp's vec4 loads),
// converted to fp32 into shared memory; the next tile is prefetched into
// registers while the current one is multiplied (register double
// buffering). !TILED (CPU devices): the same register blocking read
// straight from the packed operands, no shared memory.
layout(local_size_x = 16, local_size_y = 16) in;
layout(constant_id = 0) const bool TILED = true;
layout(std430, binding = 0) buffer Cb { float C[]; };
layout(std430, binding = 1) readonly buffer Ab { float16_t A[]; };
layout(std430, binding = 1) readonly buffer Ab4 { f16vec4 A4[]; };
layout(std430, binding = 2) readonly buffer Bb { float16_t B[]; };
layout(std430, binding = 2) readonly buffer Bb4 { f16vec4 B4[]; };
layout(push_constant) uniform PC {
	int M, N, Kp, sA, sB, cOff, sC, crs;
	float alpha, beta;
	int batch0, row0;
} pc;

shared float As[16][68];
shared float Bs[16][68];

void main() {
	int tx = int(gl_LocalInvocationID.x), ty = int(gl_LocalInvocationID.y);
	int tid = ty * 16 + tx;
	int bm = pc.row0 + int(gl_WorkGroupID.y) * 64;
	int bn = int(gl_WorkGroupID.x) * 64;
	int batch = pc.batch0 + int(gl_WorkGroupID.z);
	int a0 = batch * pc.sA, b0 = batch * pc.sB;
	float acc[4][4];
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++) acc[i][j] = 0.0;
	if (TILED) {
		// this invocation's tile element: row lr, k offset lk..lk+3
		int lr = tid >> 2, lk = (tid & 3) * 4;
		int gm = bm + lr, gn = bn + lr;
		bool am = gm < pc.M, bnok = gn < pc.N;
		int ai = (a0 + gm * pc.Kp + lk) >> 2, bi = (b0 + gn * pc.Kp + lk) >> 2;
		vec4 ra = am ? vec4(A4[ai]) : vec4(0.0);
		vec4 rb = bnok ? vec4(B4[bi]) : vec4(0.0);
		for (int k0 = 0; k0 < pc.Kp; k0 += 16) {
			barrier(); // the previous tile's reads are done
			for (int l = 0; l < 4; l++) {
				As[lk + l][lr] = ra[l];
				Bs[lk + l][lr] = rb[l];
			}
			barrier();
			if (k0 + 16 < pc.Kp) { // prefetch the next tile
				ai += 4;
				bi += 4;
				ra = am ? vec4(A4[ai]) : vec4(0.0);
				rb = bnok ? vec4(B4[bi]) : vec4(0.0);
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
		// rows past M / columns past N read the last row (discarded)
		int ar[4], bc[4];
		for (int i = 0; i < 4; i++) ar[i] = a0 + min(bm + ty + 16 * i, pc.M - 1) * pc.Kp;
		for (int j = 0; j < 4; j++) bc[j] = b0 + min(bn + tx + 16 * j, pc.N - 1) * pc.Kp;
		for (int k0 = 0; k0 < pc.Kp; k0 += 16) {
			[[unroll]] for (int kk = 0; kk < 16; kk++) {
				int k = k0 + kk;
				float a[4], b[4];
				for (int i = 0; i < 4; i++) a[i] = float(A[ar[i] + k]);
				for (int j = 0; j < 4; j++) b[j] = float(B[bc[j] + k]);
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
