#version 450
// dst[idx] = op(a[aOff + idx·as], b[bOff + idx·bs]) over a shape of rank ≤ 8,
// dst contiguous (tensor.BinaryOp numbering); zero strides broadcast.
layout(local_size_x = 256) in;
#include "common.glsl"
#include "math.glsl"
// The op is a specialization constant: each op gets its own pipeline with
// the switch folded away (a runtime switch costs every branch on SIMD CPUs).
layout(constant_id = 0) const int OP = 0;
// LAYOUT (specialization constant 1): 0 general strided; 1 both contiguous;
// 2 a contiguous, b one scalar; 3 a one scalar, b contiguous. The
// contiguous layouts let SIMD CPUs (lavapipe) use vector loads.
layout(constant_id = 1) const int LAYOUT = 0;
layout(std430, binding = 0) buffer Dst { float dst[]; };
layout(std430, binding = 1) buffer A { float av[]; };
layout(std430, binding = 2) buffer B { float bv[]; };
layout(push_constant) uniform PC {
	int n, rank, aOff, bOff, op, dOff;
	int shape[8];
	int as_[8];
	int bs_[8];
} pc;

void main() {
	uint gi = global_index();
	if (gi >= uint(pc.n)) return;
	int ia = pc.aOff, ib = pc.bOff;
	if (LAYOUT == 1) {
		ia += int(gi);
		ib += int(gi);
	} else if (LAYOUT == 2) {
		ia += int(gi);
	} else if (LAYOUT == 3) {
		ib += int(gi);
	} else {
		int idx = int(gi);
		for (int k = pc.rank - 1; k >= 0; k--) {
			int i = idx % pc.shape[k];
			idx /= pc.shape[k];
			ia += i * pc.as_[k];
			ib += i * pc.bs_[k];
		}
	}
	float x = av[ia], y = bv[ib], r;
	switch (OP) {
	case 0: r = x + y; break;
	case 1: r = x - y; break;
	case 2: r = x * y; break;
	case 3: r = x / y; break;
	case 4: r = x >= y ? x : y; break;
	case 5: r = x <= y ? x : y; break;
	case 6: r = pow_(x, y); break;
	case 7: r = x > y ? 1.0 : 0.0; break;
	case 8: r = x == y ? 1.0 : 0.0; break;
	case 9: r = y > 0.0 ? x : 0.0; break;
	case 10: r = x * y * (1.0 - y); break;
	case 11: r = x * (1.0 - y * y); break;
	case 12: {
		float cdf = 0.5 * (1.0 + erf_(y * 0.70710678118654752));
		float pdf = exp(-0.5 * y * y) * 0.39894228040143268;
		r = x * (cdf + y * pdf);
		break;
	}
	case 13: r = x * sigmoid_(y); break;
	case 14: r = max(x + y, 0.0); break;
	default: r = 0.0 / 0.0;
	}
	dst[pc.dOff + int(gi)] = r;
}
