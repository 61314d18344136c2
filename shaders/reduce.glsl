// Body of reduce.comp (portable: shared-memory tree) and reduce_sg.comp
// (subgroup shuffles, then one value per subgroup through shared memory).
//
// Reduction of src viewed as [outer][n][inner] over the middle axis. Every
// workgroup reduces part p of the axis, elements [p·chunk, min(n, (p+1)·chunk)),
// of one output g = o·inner + i; the grid is outputs × parts (folded, see
// common.glsl). op: 0 sum, 1 max, 2 min, 3 argmax, 4 argmin (int32 output,
// first index on ties, the CPU backend's semantics: a NaN accumulator is
// replaced by the next number).
//   IN_PAIRS = 0: src is the float array; 1: src holds (value bits, index)
//                 pairs [outputs][n] from an earlier pass (n = its parts).
//   OUT_PAIRS = 0: dst[g] = the value (bits) or the index;
//                1: dst[g·parts + p] = (value bits, index) pair for a later pass.
// so, do_: float offsets inside the bound sub-ranges of src and dst; the
// pair of part p of output g is at do_ + 2·(g·pstride + p) (pstride =
// parts, or more when the host runs the parts as separate dispatches);
// kbase is added to the reported indices (the bound src starts at row kbase).
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int OP = 0;
layout(constant_id = 2) const int IN_PAIRS = 0;
layout(constant_id = 3) const int OUT_PAIRS = 0;
#include "common.glsl"
layout(std430, binding = 0) writeonly buffer Dst { uint dst[]; };
layout(std430, binding = 1) readonly buffer Src { uint src[]; };
layout(push_constant) uniform PC { uint outer, n, inner, parts, chunk, so, do_, pstride, kbase; } pc;

const uint WG = gl_WorkGroupSize.x;
shared float sv[WG];
shared int si[WG];

// better reports whether (v, i) should replace (b, j) for the arg ops; an
// index < 0 marks an empty slot.
bool better(float v, int i, float b, int j) {
	if (i < 0) return false;
	if (j < 0) return true;
	if (isnan(v) && isnan(b)) return i < j;
	if (isnan(b)) return true;
	if (isnan(v)) return false;
	if (OP == 3 ? v > b : v < b) return true;
	return v == b && i < j;
}

// combine folds (v, i) into (acc, ai).
void combine(inout float acc, inout int ai, float v, int i) {
	if (OP == 0) {
		acc += v;
	} else if (OP <= 2) {
		// The CPU's max/min start from element 0 and skip NaNs after it:
		// a NaN at index 0 wins, any other NaN loses.
		bool take;
		if (ai < 0 || i < 0) take = ai < 0 && i >= 0;
		else if (isnan(acc) && ai == 0) take = false;
		else if (isnan(v) && i == 0) take = true;
		else if (isnan(acc)) take = true;
		else if (isnan(v)) take = false;
		else take = OP == 1 ? v > acc : v < acc;
		if (take) { acc = v; ai = i; }
	} else if (better(v, i, acc, ai)) {
		acc = v;
		ai = i;
	}
}

#ifdef SUBGROUP
// reduceSubgroup combines the values of the subgroup's invocations
// (butterfly: every invocation ends with the result).
void reduceSubgroup(inout float acc, inout int ai) {
	for (uint s = gl_SubgroupSize / 2u; s > 0u; s >>= 1u) {
		float v = subgroupShuffleXor(acc, s);
		int i = subgroupShuffleXor(ai, s);
		combine(acc, ai, v, i);
	}
}
#endif

void main() {
	uint gid = group_index();
	uint g = gid / pc.parts, p = gid % pc.parts;
	bool live = g < pc.outer * pc.inner;
	uint t = gl_LocalInvocationID.x;
	uint k0 = p * pc.chunk, k1 = min(pc.n, k0 + pc.chunk);
	float acc = 0.0;
	int ai = -1;
	if (live) {
		if (IN_PAIRS == 1) {
			for (uint k = k0 + t; k < k1; k += WG) {
				uint e = pc.so + 2u * (g * pc.n + k);
				combine(acc, ai, uintBitsToFloat(src[e]), int(src[e + 1u]));
			}
		} else {
			uint o = g / pc.inner, in_ = g % pc.inner;
			uint base = pc.so + o * pc.n * pc.inner + in_;
			for (uint k = k0 + t; k < k1; k += WG) combine(acc, ai, uintBitsToFloat(src[base + k * pc.inner]), int(k + pc.kbase));
		}
	}
#ifdef SUBGROUP
	reduceSubgroup(acc, ai);
	if (subgroupElect()) {
		sv[gl_SubgroupID] = acc;
		si[gl_SubgroupID] = ai;
	}
	barrier();
	if (gl_SubgroupID == 0u) {
		acc = 0.0;
		ai = -1;
		for (uint j = gl_SubgroupInvocationID; j < gl_NumSubgroups; j += gl_SubgroupSize) combine(acc, ai, sv[j], si[j]);
		reduceSubgroup(acc, ai);
	}
#else
	sv[t] = acc;
	si[t] = ai;
	barrier();
	for (uint s = WG / 2u; s > 0u; s >>= 1u) {
		if (t < s) {
			float a = sv[t];
			int ia = si[t];
			combine(a, ia, sv[t + s], si[t + s]);
			sv[t] = a;
			si[t] = ia;
		}
		barrier();
	}
	acc = sv[0];
	ai = si[0];
#endif
	if (t == 0u && live) {
		if (OUT_PAIRS == 1) {
			uint e = pc.do_ + 2u * (g * pc.pstride + p);
			dst[e] = floatBitsToUint(acc);
			dst[e + 1u] = uint(ai);
		} else {
			dst[pc.do_ + g] = OP >= 3 ? uint(max(ai, 0)) : floatBitsToUint(acc);
		}
	}
}
