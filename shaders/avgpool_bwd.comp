#version 450
// Average-pool backward, one thread per input element.
layout(local_size_x = 256) in;
#include "common.glsl"
#include "pool.glsl"
layout(std430, binding = 0) writeonly buffer DX { float dx[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };

void main() {
	uint gi = global_index();
	if (gi >= uint(pc.N * pc.C * pc.H * pc.W)) return;
	int i = int(gi);
	int iw = i % pc.W; i /= pc.W;
	int ih = i % pc.H;
	int nc = i / pc.H;
	int oh0 = max(0, (ih + pc.PH - pc.KH + pc.SH) / pc.SH), oh1 = min(pc.OH - 1, (ih + pc.PH) / pc.SH);
	int ow0 = max(0, (iw + pc.PW - pc.KW + pc.SW) / pc.SW), ow1 = min(pc.OW - 1, (iw + pc.PW) / pc.SW);
	float inv = 1.0 / float(pc.KH * pc.KW), acc = 0.0;
	for (int oh = oh0; oh <= oh1; oh++)
		for (int ow = ow0; ow <= ow1; ow++) acc += dy[(nc * pc.OH + oh) * pc.OW + ow] * inv;
	dx[gi] = acc;
}
