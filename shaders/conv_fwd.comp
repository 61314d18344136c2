#version 450
// Direct 2-D cross-correlation with groups, one thread per output element:
// y[n][k][oh][ow] = Σ_{c,kh,kw} x[n][g·C/G + c][oh·SH−PH+kh·DH][ow·SW−PW+kw·DW] · w[k][c][kh][kw].
layout(local_size_x = 256) in;
#include "common.glsl"
#include "conv.glsl"
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer Wt { float w[]; };

void main() {
	uint gi = global_index();
	if (gi >= uint(pc.N * pc.K * pc.OH * pc.OW)) return;
	int i = int(gi);
	int ow = i % pc.OW; i /= pc.OW;
	int oh = i % pc.OH; i /= pc.OH;
	int k = i % pc.K;
	int n = i / pc.K;
	int cg = pc.C / pc.G, kg = pc.K / pc.G;
	int g = k / kg;
	float acc = 0.0;
	for (int c = 0; c < cg; c++) {
		int xc = ((n * pc.C + g * cg + c) * pc.H) * pc.W;
		int wc = ((k * cg + c) * pc.KH) * pc.KW;
		for (int kh = 0; kh < pc.KH; kh++) {
			int ih = oh * pc.SH - pc.PH + kh * pc.DH;
			if (ih < 0 || ih >= pc.H) continue;
			for (int kw = 0; kw < pc.KW; kw++) {
				int iw = ow * pc.SW - pc.PW + kw * pc.DW;
				if (iw < 0 || iw >= pc.W) continue;
				acc += x[xc + ih * pc.W + iw] * w[wc + kh * pc.KW + kw];
			}
		}
	}
	y[gi] = acc;
}
