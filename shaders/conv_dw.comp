#version 450
// Depthwise convolution (C = K = G: one input and one output channel per
// group), direct, where the implicit GEMM would have a single row:
//
//   MODE 0, forward:  y[n][c][p] = Σ_t w[c][t] · x[n][c][ih(p,t)][iw(p,t)]
//   MODE 1, bwd data: dx[n][c][q] = Σ_t w[c][t] · dy[n][c][oh][ow] over the
//                     taps t for which (ih+PH−kh·DH)/SH, (iw+PW−kw·DW)/SW are
//                     output positions in range
//   MODE 2, bwd filter: partial[split][c][t] = Σ_{(n,p) in split} dy[n][c][p] ·
//                     x[n][c][ih(p,t)][iw(p,t)], split s covering the
//                     flattened (n, p) in [s·rPer, (s+1)·rPer), s = s0 + the
//                     slot of the grid, written at slot·C·KH·KW (added to
//                     it when accum != 0)
//
// Modes 0 and 1: a workgroup owns 4·128 consecutive outputs of one (n, c)
// plane (group_index() = plane·pTiles + tile), each thread 4 of them
// (p0 + tid + 128j: consecutive lanes, consecutive addresses); the tap loop
// is outermost, so each weight is read once per workgroup (a uniform load)
// and used for 4 outputs. Mode 2: a workgroup owns (c, a block of TT taps,
// a split of the batch); its threads stride over the split's positions
// accumulating TT taps in registers, then reduce in shared memory.
layout(local_size_x = 128) in;
layout(constant_id = 0) const int MODE = 0;
#include "common.glsl"
layout(std430, binding = 0) buffer Ob { float O[]; };
layout(std430, binding = 1) readonly buffer Pb { float P[]; }; // x (modes 0, 2) or dy (mode 1)
layout(std430, binding = 2) readonly buffer Qb { float Q[]; }; // w (modes 0, 1) or dy (mode 2)
layout(push_constant) uniform PC {
	int N, C, H, W, K, G, KH, KW, SH, SW, DH, DW, PH, PW, OH, OW;
	int pTiles, splits, rPer, tBlocks, s0, accum;
} pc;

const int RN = 4, TT = 8;
shared float red[TT][128];

void main() {
	int tid = int(gl_LocalInvocationID.x);
	int KHW = pc.KH * pc.KW, OHW = pc.OH * pc.OW, HW = pc.H * pc.W;
	int gi = int(group_index());
	if (MODE != 2) {
		int plane = gi / pc.pTiles, p0 = (gi % pc.pTiles) * (RN * 128);
		int c = plane % pc.C;
		int outW = MODE == 0 ? pc.OW : pc.W;
		int outN = MODE == 0 ? OHW : HW;
		int inBase = MODE == 0 ? plane * HW : plane * OHW;
		int h[RN], w[RN];
		for (int j = 0; j < RN; j++) {
			int p = p0 + tid + 128 * j;
			int a = p / outW, b = p - a * outW;
			if (MODE == 0) { h[j] = a * pc.SH - pc.PH; w[j] = b * pc.SW - pc.PW; }
			else { h[j] = a + pc.PH; w[j] = b + pc.PW; }
		}
		float acc[RN];
		for (int j = 0; j < RN; j++) acc[j] = 0.0;
		for (int kh = 0; kh < pc.KH; kh++)
			for (int kw = 0; kw < pc.KW; kw++) {
				float wt = Q[c * KHW + kh * pc.KW + kw];
				for (int j = 0; j < RN; j++) {
					if (MODE == 0) {
						int ih = h[j] + kh * pc.DH, iw = w[j] + kw * pc.DW;
						if (ih >= 0 && ih < pc.H && iw >= 0 && iw < pc.W)
							acc[j] += wt * P[inBase + ih * pc.W + iw];
					} else {
						int th = h[j] - kh * pc.DH, tw = w[j] - kw * pc.DW;
						if (th < 0 || tw < 0) continue;
						int oh = th / pc.SH, ow = tw / pc.SW;
						if (oh * pc.SH == th && ow * pc.SW == tw && oh < pc.OH && ow < pc.OW)
							acc[j] += wt * P[inBase + oh * pc.OW + ow];
					}
				}
			}
		for (int j = 0; j < RN; j++) {
			int p = p0 + tid + 128 * j;
			if (p < outN) O[plane * outN + p] = acc[j];
		}
		return;
	}
	// MODE 2: gi = (split·C + c)·tBlocks + tb.
	int tb = gi % pc.tBlocks, sc = gi / pc.tBlocks;
	int c = sc % pc.C, slot = sc / pc.C, split = pc.s0 + slot;
	int t0 = tb * TT;
	int r0 = split * pc.rPer, r1 = min(pc.N * OHW, r0 + pc.rPer);
	int th_[TT], tw_[TT];
	for (int t = 0; t < TT; t++) {
		int tt = min(t0 + t, KHW - 1);
		int kh = tt / pc.KW, kw = tt - kh * pc.KW;
		th_[t] = kh * pc.DH - pc.PH;
		tw_[t] = kw * pc.DW - pc.PW;
	}
	float acc[TT];
	for (int t = 0; t < TT; t++) acc[t] = 0.0;
	for (int i = r0 + tid; i < r1; i += 128) {
		int n = i / OHW, p = i - n * OHW;
		int oh = p / pc.OW, ow = p - oh * pc.OW;
		int plane = n * pc.C + c;
		float d = Q[plane * OHW + p];
		int ih0 = oh * pc.SH, iw0 = ow * pc.SW;
		for (int t = 0; t < TT; t++) {
			int ih = ih0 + th_[t], iw = iw0 + tw_[t];
			if (ih >= 0 && ih < pc.H && iw >= 0 && iw < pc.W)
				acc[t] += d * P[plane * HW + ih * pc.W + iw];
		}
	}
	for (int t = 0; t < TT; t++) red[t][tid] = acc[t];
	for (int s = 64; s > 0; s >>= 1) {
		barrier();
		if (tid < s)
			for (int t = 0; t < TT; t++) red[t][tid] += red[t][tid + s];
	}
	barrier();
	if (tid < TT && t0 + tid < KHW) {
		int o = (slot * pc.C + c) * KHW + t0 + tid;
		O[o] = pc.accum != 0 ? O[o] + red[tid][0] : red[tid][0];
	}
}
