#version 450
// dst[i] = op(src[i]; a, b) for i < n (tensor.UnaryOp numbering).
layout(local_size_x = 256) in;
#include "common.glsl"
#include "math.glsl"
// The op is a specialization constant: each op gets its own pipeline with
// the switch folded away (a runtime switch costs every branch on SIMD CPUs).
layout(constant_id = 0) const int OP = 0;
layout(std430, binding = 0) buffer Dst { float dst[]; };
layout(std430, binding = 1) buffer Src { float src[]; };
layout(push_constant) uniform PC { int n, op, dOff, sOff; float a, b; } pc;

void main() {
	uint i = global_index();
	if (i >= uint(pc.n)) return;
	float x = src[pc.sOff + int(i)];
	float a = pc.a, b = pc.b, y;
	switch (OP) {
	case 0: y = x; break;
	case 1: y = -x; break;
	case 2: y = abs(x); break;
	case 3: y = exp(x); break;
	case 4: y = log(x); break;
	case 5: y = sqrt(x); break;
	case 6: y = 1.0 / sqrt(x); break;
	case 7: y = x * x; break;
	case 8: y = 1.0 / x; break;
	case 9: y = x > 0.0 ? x : 0.0; break;
	case 10: y = sigmoid_(x); break;
	case 11: y = tanh_(x); break;
	case 12: y = 0.5 * x * (1.0 + erf_(x * 0.70710678118654752)); break;
	case 13: y = max(x, 0.0) + log1p_(exp(-abs(x))); break;
	case 14: y = sin(x); break;
	case 15: y = cos(x); break;
	case 16: y = a * x + b; break;
	case 17: y = pow_(x, a); break;
	case 18: y = x < a ? a : x; break;
	case 19: y = x > a ? a : x; break;
	case 20: y = x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0); break;
	case 21: y = x >= a ? b : 0.0; break;
	case 22: y = min(x, 0.0) - log1p_(exp(-abs(x))); break;
	default: y = 0.0 / 0.0;
	}
	dst[pc.dOff + int(i)] = y;
}
