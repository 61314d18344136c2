#version 450
// Counter-based random numbers (tensor.HashBits): element i of the fill uses
// counter i = base + thread (uniform) or counters 2i, 2i+1 (normal, Box–Muller).
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform PC { int n, off, dist; uint key; float a, b; int base; } pc;

uint hash32(uint x) {
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

float uniform01(uint i) {
	uint k = pc.key;
	return float(hash32(hash32(i ^ k) + k) >> 8) * (1.0 / 16777216.0);
}

void main() {
	uint t = global_index();
	if (t >= uint(pc.n)) return;
	uint i = t + uint(pc.base); // counter of the element (chunks start at base)
	float r;
	if (pc.dist == 0) {
		r = pc.a + (pc.b - pc.a) * uniform01(i);
	} else {
		float u1 = 1.0 - uniform01(2u * i);
		float u2 = uniform01(2u * i + 1u);
		float z = sqrt(-2.0 * log(u1)) * cos(6.2831853071795865 * u2);
		r = pc.a + pc.b * z;
	}
	dst[pc.off + int(t)] = r;
}
