#version 450
// One Stockham autosort pass of a radix-R complex FFT along the middle axis
// of [outer][n][inner] (interleaved complex), from src to dst. ns is the
// product of the radices of the earlier passes; tw[m] = e^{−2πim/n} computed
// on the host in float64 (conjugated for the inverse). Every thread does one
// butterfly j < n/R of one (outer, inner) line. R, n, ns and inner are
// specialisation constants (index divisions by constants are cheap; SIMD CPU
// devices such as lavapipe have no vector integer division).
//   v[r] = src[j + r·n/R]·ω_{ns·R}^{r·(j mod ns)}, v = DFT_R(v),
//   dst[(j/ns)·ns·R + j mod ns + r·ns] = scale·v[r].
// Bluestein's element-wise stages fuse into the passes of its length-m FFTs
// (inner = 1, lines = Bluestein rows; bn, binner: the original [·][bn][binner]
// array; the chirp conjugated when cinv ≠ 0):
//   LOAD 1 (first forward pass): x_j = src'[row so+o][j]·chirp_j for j < bn, 0 above;
//   STORE 1 (last forward pass): y·tabs (the transformed conjugate chirp);
//   STORE 2 (last inverse pass): dst'[row do+o][k] = scale·y_k·chirp_k for k < bn.
layout(local_size_x = 64) in;
// R | LOAD << 8 | STORE << 12
layout(constant_id = 0) const int RS = 2;
layout(constant_id = 1) const int N = 2;
layout(constant_id = 2) const int NS = 1;
layout(constant_id = 3) const int INNER = 1;
const int R = RS & 255;
const int LOAD = (RS >> 8) & 15;
const int STORE = (RS >> 12) & 15;
#include "common.glsl"
#include "fft.glsl"
layout(std430, binding = 0) writeonly buffer Dst { vec2 dst[]; };
layout(std430, binding = 1) readonly buffer Src { vec2 src[]; };
layout(std430, binding = 2) readonly buffer Tw { vec2 tw[]; };
layout(std430, binding = 3) readonly buffer TabL { vec2 tabl[]; };
layout(std430, binding = 4) readonly buffer TabS { vec2 tabs[]; };
// so, do_: element offsets of the chunk's first line inside the src and dst
// bindings (the host binds the sub-ranges a chunk touches, so that arrays
// larger than one binding run in chunks).
layout(push_constant) uniform PC { int outer, inv; float scale; int so, do_, bn, binner, cinv; } pc;

vec2 chirp(vec2 c) { return pc.cinv != 0 ? vec2(c.x, -c.y) : c; }

void main() {
	uint gi = global_index();
	const int n = N, inner = INNER, nr = N / R, ns = NS;
	if (gi >= uint(pc.outer) * uint(nr * inner)) return;
	int i = int(gi % uint(inner));
	uint t = gi / uint(inner);
	int j = int(t % uint(nr)), o = int(t / uint(nr));
	float d = pc.inv != 0 ? 1.0 : -1.0;
	int k = j % ns;
	int tstep = k * (n / (ns * R));
	int sbase = pc.so + o * n * inner, dbase = pc.do_ + o * n * inner;
	vec2 v[8];
	for (int r = 0; r < R; r++) {
		vec2 x;
		if (LOAD == 1) {
			int idx = j + r * nr, row = o;
			x = vec2(0.0);
			if (idx < pc.bn) x = cmul(src[pc.so + ((row / pc.binner) * pc.bn + idx) * pc.binner + row % pc.binner], chirp(tabl[idx]));
		} else {
			x = src[sbase + (j + r * nr) * inner + i];
		}
		if (r > 0 && ns > 1) {
			vec2 w = tw[r * tstep];
			w.y *= -d;
			x = cmul(x, w);
		}
		v[r] = x;
	}
	dft(v, R, d);
	int oj = (j / ns) * ns * R + k;
	for (int r = 0; r < R; r++) {
		int idx = oj + r * ns;
		if (STORE == 1) {
			dst[dbase + idx * inner + i] = pc.scale * cmul(v[r], tabs[idx]);
		} else if (STORE == 2) {
			int row = o;
			if (idx < pc.bn) dst[pc.do_ + ((row / pc.binner) * pc.bn + idx) * pc.binner + row % pc.binner] = pc.scale * cmul(v[r], chirp(tabs[idx]));
		} else {
			dst[dbase + idx * inner + i] = pc.scale * v[r];
		}
	}
}
