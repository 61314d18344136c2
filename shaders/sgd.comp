#version 450
// SGD step in place (PyTorch semantics): g' = g + wd·p; m = μ·m + g';
// step = nesterov ? g' + μ·m : m (μ = 0: step = g'); p -= lr·step.
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) buffer P { float p[]; };
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 2) buffer M { float m[]; };
layout(push_constant) uniform PC { int n, nesterov, useM; float lr, mom, wd; } pc;

void main() {
	uint i = global_index();
	if (i >= uint(pc.n)) return;
	float gi = g[i] + pc.wd * p[i];
	if (pc.useM != 0) {
		float mi = pc.mom * m[i] + gi;
		m[i] = mi;
		gi = pc.nesterov != 0 ? gi + pc.mom * mi : mi;
	}
	p[i] -= pc.lr * gi;
}
