#version 450
// Convolution as implicit GEMM: no im2col buffer, the operand tiles are
// gathered from the tensors as they are loaded. Per group g (one per z slice):
//
//   MODE 0, forward:  y[n][gKg+m][p]  = Σ_r w[gKg+m][r] · X(r; n,p)
//                     M = Kg, columns (n, p = oh·OW+ow), r = (c, kh, kw)
//   MODE 1, bwd data: dx[n][gCg+m][q] = Σ_r w[gKg+k][m][kh][kw] · dY(r; n,q)
//                     M = Cg, columns (n, q = ih·W+iw), r = (k, kh, kw);
//                     dY is zero where (ih+PH−kh·DH)/SH is not an integer
//                     output row in range (likewise for columns)
//   MODE 2, bwd filter: dw[gKg+m][col] = Σ_r dy[n][gKg+m][p] · X(col; n,p)
//                     M = Kg, columns (c, kh, kw), r = (n, p)
//
// Split-K: z = group·splits + j; split s = s0 + j sums r in [s·rPer,
// (s+1)·rPer) into its own partial output at j·outN (adding to it when
// accum != 0: several dispatches, summed afterwards by conv_splitsum).
// The filter gradient splits its N·OH·OW-long reduction to fill the device;
// on CPU devices every mode splits reductions longer than lavapipe's loop
// limit (llvmpipe stops any shader loop after 65535 iterations in all).
//
// with X(c,kh,kw; n,oh,ow) = x[n][gCg+c][oh·SH−PH+kh·DH][ow·SW−PW+kw·DW]
// (zero outside). 64×64 output tile per workgroup of 128 invocations, 8×4
// outputs per thread (rows ty+8i, columns tx+16j); TILED: 16-deep K tiles
// staged in shared memory (A with r fastest, B with columns fastest:
// coalesced), the next tile prefetched into registers; !TILED (CPU devices):
// the same blocking read straight from global memory, no barriers.
layout(local_size_x = 16, local_size_y = 8) in;
layout(constant_id = 0) const int MODE = 0;
layout(constant_id = 1) const bool TILED = true;
#include "common.glsl"
layout(std430, binding = 0) buffer Cb { float Cm[]; };
layout(std430, binding = 1) readonly buffer Ab { float Am[]; };
layout(std430, binding = 2) readonly buffer Bb { float Bm[]; };
layout(push_constant) uniform PC {
	int N, C, H, W, K, G, KH, KW, SH, SW, DH, DW, PH, PW, OH, OW;
	int nTiles, g0, splits, rPer, outN, s0, accum;
} pc;

const int TM = 64, TN = 64, TK = 16, RM = 8, RN = 4, NT = 128;

shared float As[TK][TM + 1];
shared float Bs[TK][TN];

int g, Cg, Kg, KHW, OHW, HW, r0;
int M, NC, R;

// A column info: a base offset per row is computed on the fly.
float loadA(int m, int r) {
	if (m >= M || r >= R) return 0.0;
	if (MODE == 0) return Am[(g * Kg + m) * Cg * KHW + r];
	if (MODE == 1) {
		int k = r / KHW, khw = r - k * KHW;
		return Am[((g * Kg + k) * Cg + m) * KHW + khw];
	}
	int nl = r / OHW, p = r - nl * OHW;
	return Am[(nl * pc.K + g * Kg + m) * OHW + p];
}

// Column descriptor: base offset, and the two spatial terms.
struct Col { int base, h, w; bool ok; };

Col column(int col) {
	Col c;
	c.ok = col < NC;
	col = min(col, NC - 1);
	if (MODE == 0) {
		int n = col / OHW, p = col - n * OHW;
		int oh = p / pc.OW, ow = p - oh * pc.OW;
		c.base = (n * pc.C + g * Cg) * HW;
		c.h = oh * pc.SH - pc.PH;
		c.w = ow * pc.SW - pc.PW;
	} else if (MODE == 1) {
		int n = col / HW, q = col - n * HW;
		int ih = q / pc.W, iw = q - ih * pc.W;
		c.base = (n * pc.K + g * Kg) * OHW;
		c.h = ih + pc.PH;
		c.w = iw + pc.PW;
	} else {
		int cc = col / KHW, t = col - cc * KHW;
		int kh = t / pc.KW, kw = t - kh * pc.KW;
		c.base = (g * Cg + cc) * HW;
		c.h = kh * pc.DH - pc.PH;
		c.w = kw * pc.DW - pc.PW;
	}
	return c;
}

float loadB(int r, Col c) {
	if (!c.ok || r >= R) return 0.0;
	if (MODE == 0) {
		int cc = r / KHW, t = r - cc * KHW;
		int kh = t / pc.KW, kw = t - kh * pc.KW;
		int ih = c.h + kh * pc.DH, iw = c.w + kw * pc.DW;
		if (ih < 0 || ih >= pc.H || iw < 0 || iw >= pc.W) return 0.0;
		return Bm[c.base + cc * HW + ih * pc.W + iw];
	}
	if (MODE == 1) {
		int k = r / KHW, t = r - k * KHW;
		int kh = t / pc.KW, kw = t - kh * pc.KW;
		int th = c.h - kh * pc.DH, tw = c.w - kw * pc.DW;
		if (th < 0 || tw < 0) return 0.0;
		int oh = th / pc.SH, ow = tw / pc.SW;
		if (oh * pc.SH != th || ow * pc.SW != tw || oh >= pc.OH || ow >= pc.OW) return 0.0;
		return Bm[c.base + k * OHW + oh * pc.OW + ow];
	}
	int nl = r / OHW, p = r - nl * OHW;
	int oh = p / pc.OW, ow = p - oh * pc.OW;
	int ih = oh * pc.SH + c.h, iw = ow * pc.SW + c.w;
	if (ih < 0 || ih >= pc.H || iw < 0 || iw >= pc.W) return 0.0;
	return Bm[nl * pc.C * HW + c.base + ih * pc.W + iw];
}

void main() {
	Cg = pc.C / pc.G; Kg = pc.K / pc.G;
	KHW = pc.KH * pc.KW; OHW = pc.OH * pc.OW; HW = pc.H * pc.W;
	int z = int(gl_WorkGroupID.z);
	int slot = z % pc.splits, split = pc.s0 + slot;
	g = pc.g0 + z / pc.splits;
	if (MODE == 0) { M = Kg; NC = pc.N * OHW; R = Cg * KHW; }
	else if (MODE == 1) { M = Cg; NC = pc.N * HW; R = Kg * KHW; }
	else { M = Kg; NC = Cg * KHW; R = pc.N * OHW; }
	r0 = split * pc.rPer;
	R = min(R, r0 + pc.rPer); // this split: r in [r0, R)

	int gi = int(group_index());
	int bm = (gi / pc.nTiles) * TM, bn = (gi % pc.nTiles) * TN;
	int tx = int(gl_LocalInvocationID.x), ty = int(gl_LocalInvocationID.y);
	int tid = ty * 16 + tx;

	float acc[RM][RN];
	for (int i = 0; i < RM; i++)
		for (int j = 0; j < RN; j++) acc[i][j] = 0.0;

	if (TILED) {
		// This thread loads A rows (tid>>4) + 8l at k offset tid&15, and B
		// column tid&63 at k offsets (tid>>6) + 2l.
		int ak = tid & 15, am = tid >> 4;
		int bnn = tid & 63, bk = tid >> 6;
		Col bc = column(bn + bnn);
		float ra[8], rb[8];
		for (int l = 0; l < 8; l++) ra[l] = loadA(bm + am + 8 * l, r0 + ak);
		for (int l = 0; l < 8; l++) rb[l] = loadB(r0 + bk + 2 * l, bc);
		for (int k0 = r0; k0 < R; k0 += TK) {
			barrier();
			for (int l = 0; l < 8; l++) As[ak][am + 8 * l] = ra[l];
			for (int l = 0; l < 8; l++) Bs[bk + 2 * l][bnn] = rb[l];
			barrier();
			if (k0 + TK < R) {
				for (int l = 0; l < 8; l++) ra[l] = loadA(bm + am + 8 * l, k0 + TK + ak);
				for (int l = 0; l < 8; l++) rb[l] = loadB(k0 + TK + bk + 2 * l, bc);
			}
			for (int kk = 0; kk < TK; kk++) {
				float a[RM], b[RN];
				for (int i = 0; i < RM; i++) a[i] = As[kk][ty + 8 * i];
				for (int j = 0; j < RN; j++) b[j] = Bs[kk][tx + 16 * j];
				for (int i = 0; i < RM; i++)
					for (int j = 0; j < RN; j++) acc[i][j] += a[i] * b[j];
			}
		}
	} else {
		Col cs[RN];
		for (int j = 0; j < RN; j++) cs[j] = column(bn + tx + 16 * j);
		for (int r = r0; r < R; r++) {
			float a[RM], b[RN];
			for (int i = 0; i < RM; i++) a[i] = loadA(bm + ty + 8 * i, r);
			for (int j = 0; j < RN; j++) b[j] = loadB(r, cs[j]);
			for (int i = 0; i < RM; i++)
				for (int j = 0; j < RN; j++) acc[i][j] += a[i] * b[j];
		}
	}

	for (int j = 0; j < RN; j++) {
		int col = bn + tx + 16 * j;
		if (col >= NC) continue;
		int base = slot * pc.outN, step;
		if (MODE == 0) {
			int n = col / OHW, p = col - n * OHW;
			base += (n * pc.K + g * Kg) * OHW + p; step = OHW;
		} else if (MODE == 1) {
			int n = col / HW, q = col - n * HW;
			base += (n * pc.C + g * Cg) * HW + q; step = HW;
		} else {
			base += g * Kg * Cg * KHW + col; step = Cg * KHW;
		}
		for (int i = 0; i < RM; i++) {
			int m = bm + ty + 8 * i;
			if (m >= M) continue;
			int o = base + m * step;
			Cm[o] = pc.accum != 0 ? Cm[o] + acc[i][j] : acc[i][j];
		}
	}
}
