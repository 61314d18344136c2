#version 450
// Reduction of src viewed as [outer][n][inner] over the middle axis into dst
// [outer][inner]. One workgroup per output: its threads stride over the n
// reduced elements and combine in shared memory. op: 0 sum, 1 max, 2 min,
// 3 argmax, 4 argmin (int32 output, first index on ties, the CPU backend's
// semantics: a NaN accumulator is replaced by the next number).
layout(local_size_x = 128) in;
#include "common.glsl"
layout(std430, binding = 0) writeonly buffer Dst { uint dst[]; };
layout(std430, binding = 1) readonly buffer Src { float src[]; };
layout(push_constant) uniform PC { int outer, n, inner, op_; } pc;
layout(constant_id = 0) const int OP = 0; // specialised per op
#define OPC OP

shared float sv[128];
shared int si[128];

// better reports whether (v, i) should replace (b, j) for the arg ops.
bool better(float v, int i, float b, int j, bool wantMax) {
	if (isnan(b) && !isnan(v)) return true;
	if (isnan(v)) return false;
	if (wantMax ? v > b : v < b) return true;
	return v == b && i < j;
}

void main() {
	uint g = group_index();
	if (g >= uint(pc.outer * pc.inner)) return;
	int o = int(g) / pc.inner, in_ = int(g) % pc.inner;
	int base = o * pc.n * pc.inner + in_;
	int t = int(gl_LocalInvocationID.x);
	float acc;
	int ai = -1;
	bool wantMax = OPC == 3;
	if (OPC == 0) {
		acc = 0.0;
		for (int k = t; k < pc.n; k += 128) acc += src[base + k * pc.inner];
	} else if (OPC <= 2) {
		acc = t < pc.n ? src[base + t * pc.inner] : src[base];
		for (int k = t + 128; k < pc.n; k += 128) {
			float v = src[base + k * pc.inner];
			if (OPC == 1 ? v > acc : v < acc) acc = v;
		}
	} else {
		acc = 0.0;
		for (int k = t; k < pc.n; k += 128) {
			float v = src[base + k * pc.inner];
			if (ai < 0 || better(v, k, acc, ai, wantMax)) { acc = v; ai = k; }
		}
	}
	sv[t] = acc;
	si[t] = ai;
	barrier();
	for (int s = 64; s > 0; s >>= 1) {
		if (t < s) {
			float v = sv[t + s];
			if (OPC == 0) sv[t] += v;
			else if (OPC == 1) { if (v > sv[t]) sv[t] = v; }
			else if (OPC == 2) { if (v < sv[t]) sv[t] = v; }
			else {
				int j = si[t + s];
				if (j >= 0 && (si[t] < 0 || better(v, j, sv[t], si[t], wantMax))) { sv[t] = v; si[t] = j; }
			}
		}
		barrier();
	}
	if (t == 0) {
		int out_ = o * pc.inner + in_;
		dst[out_] = OPC >= 3 ? uint(si[0]) : floatBitsToUint(sv[0]);
	}
}
