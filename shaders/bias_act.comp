#version 450
// y[n,c,s] = act(x[n,c,s] + bias[c]) over [N][C][S]; act = ReLU when
// relu != 0; hasBias = 0 skips the bias. y may be x (bound once, binding 0).
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer B { float bias[]; };
layout(push_constant) uniform PC { int total, C, S, relu, hasBias, inPlace; } pc;

void main() {
	uint i = global_index();
	if (i >= uint(pc.total)) return;
	float v = pc.inPlace != 0 ? y[i] : x[i];
	if (pc.hasBias != 0) v += bias[(int(i) / pc.S) % pc.C];
	y[i] = pc.relu != 0 ? max(v, 0.0) : v;
}
