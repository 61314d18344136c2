#version 450
// Average pooling (count_include_pad: the divisor is KH·KW), one thread per output.
layout(local_size_x = 256) in;
#include "common.glsl"
#include "pool.glsl"
layout(std430, binding = 0) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };

void main() {
	uint gi = global_index();
	if (gi >= uint(pc.N * pc.C * pc.OH * pc.OW)) return;
	int i = int(gi);
	int ow = i % pc.OW; i /= pc.OW;
	int oh = i % pc.OH;
	int nc = i / pc.OH;
	int base = nc * pc.H * pc.W;
	float acc = 0.0;
	for (int kh = 0; kh < pc.KH; kh++) {
		int ih = oh * pc.SH - pc.PH + kh;
		if (ih < 0 || ih >= pc.H) continue;
		for (int kw = 0; kw < pc.KW; kw++) {
			int iw = ow * pc.SW - pc.PW + kw;
			if (iw < 0 || iw >= pc.W) continue;
			acc += x[base + ih * pc.W + iw];
		}
	}
	y[gi] = acc * (1.0 / float(pc.KH * pc.KW));
}
