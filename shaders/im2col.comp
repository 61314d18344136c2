#version 450
// Convolution lowering. mode 0 (im2col): col[ckk][s][ohw] = x[n0+s][g·Cg + c][ih][iw]
// (zero outside the input) for ckk = (c, kh, kw), s < ns, ohw = (oh, ow), with
// ih = oh·SH − PH + kh·DH, iw = ow·SW − PW + kw·DW. mode 1 (col2im, the
// adjoint): dx[n0+s][g·Cg + c][ih][iw] = Σ over the (kh, kw, oh, ow) that read
// it of col[ckk][s][ohw]; one thread per input element, no atomics.
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer Src { float src[]; };
layout(push_constant) uniform PC {
	int N, C, H, W, K, G, KH, KW, SH, SW, DH, DW, PH, PW, OH, OW;
	int n0, ns, g, mode;
} pc;

void main() {
	uint gi = global_index();
	int cg = pc.C / pc.G, khw = pc.KH * pc.KW, ohw = pc.OH * pc.OW;
	if (pc.mode == 0) {
		if (gi >= uint(cg * khw * pc.ns * ohw)) return;
		int i = int(gi);
		int o = i % ohw; i /= ohw;
		int s = i % pc.ns;
		int ckk = i / pc.ns;
		int c = ckk / khw, kk = ckk % khw;
		int kh = kk / pc.KW, kw = kk % pc.KW;
		int oh = o / pc.OW, ow = o % pc.OW;
		int ih = oh * pc.SH - pc.PH + kh * pc.DH;
		int iw = ow * pc.SW - pc.PW + kw * pc.DW;
		float v = 0.0;
		if (ih >= 0 && ih < pc.H && iw >= 0 && iw < pc.W)
			v = src[(((pc.n0 + s) * pc.C + pc.g * cg + c) * pc.H + ih) * pc.W + iw];
		dst[gi] = v;
	} else {
		if (gi >= uint(pc.ns * cg * pc.H * pc.W)) return;
		int i = int(gi);
		int iw = i % pc.W; i /= pc.W;
		int ih = i % pc.H; i /= pc.H;
		int c = i % cg;
		int s = i / cg;
		float acc = 0.0;
		for (int kh = 0; kh < pc.KH; kh++) {
			int th = ih + pc.PH - kh * pc.DH;
			if (th < 0 || th % pc.SH != 0) continue;
			int oh = th / pc.SH;
			if (oh >= pc.OH) continue;
			for (int kw = 0; kw < pc.KW; kw++) {
				int tw = iw + pc.PW - kw * pc.DW;
				if (tw < 0 || tw % pc.SW != 0) continue;
				int ow = tw / pc.SW;
				if (ow >= pc.OW) continue;
				int ckk = (c * pc.KH + kh) * pc.KW + kw;
				acc += src[(ckk * pc.ns + s) * ohw + oh * pc.OW + ow];
			}
		}
		dst[(((pc.n0 + s) * pc.C + pc.g * cg + c) * pc.H + ih) * pc.W + iw] = acc;
	}
}
