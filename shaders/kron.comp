#version 450
// Kronecker dilation of kernels [rows][KH][KW] to [rows][SH][SW] with
// SH = DH(KH−1)+1, SW = DW(KW−1)+1. mode 0 (dilate): one thread per dilated
// element, zero between taps; mode 1 (gather, the adjoint): one thread per
// undilated element.
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer Src { float src[]; };
layout(push_constant) uniform PC { int rows, KH, KW, DH, DW, mode; } pc;

void main() {
	uint gi = global_index();
	int SH = pc.DH * (pc.KH - 1) + 1, SW = pc.DW * (pc.KW - 1) + 1;
	if (pc.mode == 0) {
		if (gi >= uint(pc.rows * SH * SW)) return;
		int i = int(gi);
		int j = i % SW; i /= SW;
		int h = i % SH;
		int r = i / SH;
		float v = 0.0;
		if (h % pc.DH == 0 && j % pc.DW == 0)
			v = src[(r * pc.KH + h / pc.DH) * pc.KW + j / pc.DW];
		dst[gi] = v;
	} else {
		if (gi >= uint(pc.rows * pc.KH * pc.KW)) return;
		int i = int(gi);
		int j = i % pc.KW; i /= pc.KW;
		int h = i % pc.KH;
		int r = i / pc.KH;
		dst[gi] = src[(r * SH + h * pc.DH) * SW + j * pc.DW];
	}
}
