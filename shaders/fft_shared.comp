#version 450
// A whole complex FFT of length N in shared memory: one workgroup transforms
// G lines of [outer][N][inner] (interleaved complex) with the Stockham passes
// R0 … R7 (0 or 1 = no pass), in place: each pass reads its butterflies into
// registers, waits, and writes them back permuted. Twiddles as in fft.comp.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int N = 1;
layout(constant_id = 2) const int G = 1;
// The radices, 4 bits each, pass 0 in the low bits (at most 8 passes).
layout(constant_id = 3) const int PACK = 0;
const int R0 = PACK & 15;
const int R1 = (PACK >> 4) & 15;
const int R2 = (PACK >> 8) & 15;
const int R3 = (PACK >> 12) & 15;
const int R4 = (PACK >> 16) & 15;
const int R5 = (PACK >> 20) & 15;
const int R6 = (PACK >> 24) & 15;
const int R7 = (PACK >> 28) & 15;
#include "common.glsl"
#include "fft.glsl"
layout(std430, binding = 0) writeonly buffer Dst { vec2 dst[]; };
layout(std430, binding = 1) readonly buffer Src { vec2 src[]; };
layout(std430, binding = 2) readonly buffer Tw { vec2 tw[]; };
// so, do_: element offsets of the first line inside the src and dst bindings
// (the host binds the sub-ranges a dispatch touches).
layout(push_constant) uniform PC { int outer, inner, inv; float scale; int so, do_; } pc;

const int E = N * G;
// Registers per thread: at most ceil(E/R/WG)·R ≤ E/WG + 8 ≤ 40 (the host
// keeps E ≤ 32·WG).
#define MAXV 40
shared vec2 sm[E];

void fftPass(int R, int ns, float d, int tid) {
	int WG = int(gl_WorkGroupSize.x);
	int nr = N / R, nb = G * nr, per = (nb + WG - 1) / WG;
	vec2 reg[MAXV];
	for (int b = 0; b < per; b++) {
		int q = tid + b * WG;
		if (q < nb) {
			int g = q / nr, j = q % nr, k = j % ns;
			int tstep = k * (N / (ns * R));
			vec2 v[8];
			for (int r = 0; r < R; r++) {
				vec2 x = sm[g * N + j + r * nr];
				if (r > 0 && ns > 1) {
					vec2 w = tw[r * tstep];
					w.y *= -d;
					x = cmul(x, w);
				}
				v[r] = x;
			}
			dft(v, R, d);
			for (int r = 0; r < R; r++) reg[b * R + r] = v[r];
		}
	}
	barrier();
	for (int b = 0; b < per; b++) {
		int q = tid + b * WG;
		if (q < nb) {
			int g = q / nr, j = q % nr, k = j % ns;
			int od = g * N + (j / ns) * ns * R + k;
			for (int r = 0; r < R; r++) sm[od + r * ns] = reg[b * R + r];
		}
	}
	barrier();
}

void main() {
	int WG = int(gl_WorkGroupSize.x);
	int tid = int(gl_LocalInvocationID.x);
	uint row0 = group_index() * uint(G);
	uint inner = uint(pc.inner);
	uint rows = uint(pc.outer) * inner;
	float d = pc.inv != 0 ? 1.0 : -1.0;
	for (int e = tid; e < E; e += WG) {
		uint row = row0 + uint(e / N);
		vec2 x = vec2(0.0);
		if (row < rows) x = src[uint(pc.so) + ((row / inner) * uint(N) + uint(e % N)) * inner + row % inner];
		sm[e] = x;
	}
	barrier();
	int ns = 1;
	if (R0 > 1) { fftPass(R0, ns, d, tid); ns *= R0; }
	if (R1 > 1) { fftPass(R1, ns, d, tid); ns *= R1; }
	if (R2 > 1) { fftPass(R2, ns, d, tid); ns *= R2; }
	if (R3 > 1) { fftPass(R3, ns, d, tid); ns *= R3; }
	if (R4 > 1) { fftPass(R4, ns, d, tid); ns *= R4; }
	if (R5 > 1) { fftPass(R5, ns, d, tid); ns *= R5; }
	if (R6 > 1) { fftPass(R6, ns, d, tid); ns *= R6; }
	if (R7 > 1) { fftPass(R7, ns, d, tid); ns *= R7; }
	for (int e = tid; e < E; e += WG) {
		uint row = row0 + uint(e / N);
		if (row < rows) dst[uint(pc.do_) + ((row / inner) * uint(N) + uint(e % N)) * inner + row % inner] = pc.scale * sm[e];
	}
}
