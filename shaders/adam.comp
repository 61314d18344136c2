#version 450
// Adam / AdamW step in place with bias corrections bc1 = 1-β1^t, bc2 = 1-β2^t.
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) buffer P { float p[]; };
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 2) buffer M { float m[]; };
layout(std430, binding = 3) buffer V { float v[]; };
layout(push_constant) uniform PC { int n, decoupled; float lr, b1, b2, eps, wd, bc1, bc2; } pc;

void main() {
	uint i = global_index();
	if (i >= uint(pc.n)) return;
	float gi = g[i], pi = p[i];
	if (pc.decoupled != 0) pi -= pc.lr * pc.wd * pi;
	else gi += pc.wd * pi;
	float mi = pc.b1 * m[i] + (1.0 - pc.b1) * gi;
	float vi = pc.b2 * v[i] + (1.0 - pc.b2) * gi * gi;
	m[i] = mi;
	v[i] = vi;
	float mh = mi / pc.bc1, vh = vi / pc.bc2;
	p[i] = pi - pc.lr * mh / (sqrt(vh) + pc.eps);
}
