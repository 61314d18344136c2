#version 450
// mode 0: dst[r] = src[r*cols + idx[r]]; mode 1: dst[r*cols + idx[r]] += src[r].
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer Src { float src[]; };
layout(std430, binding = 2) readonly buffer Idx { int idx[]; };
layout(push_constant) uniform PC { int rows, cols, mode; } pc;

void main() {
	uint r = global_index();
	if (r >= uint(pc.rows)) return;
	int j = clamp(idx[r], 0, pc.cols - 1);
	int k = int(r) * pc.cols + j;
	if (pc.mode == 0) dst[r] = src[k];
	else dst[k] += src[r];
}
