#version 450
// Whole FFTs in shared memory: one workgroup transforms G lines with the
// Stockham passes R0 … R7 (PACK, 4 bits each, pass 0 in the low bits; 0 or
// 1 = no pass), in place: each pass reads its butterflies into registers,
// waits, and writes them back permuted. Twiddles tw[m] = e^{−2πim/N} as in
// fft.comp. MODE selects what surrounds the transform, so that a whole
// real or Bluestein transform is one dispatch:
//   0 complex: lines of [outer][N][inner] → the same layout (scale·FFT).
//   1 real forward, n = 2N even: rows [rows][n] real, viewed as N complex
//     pairs, → X [rows][N+1] with the R2C post-processing done from shared
//     memory (X_k = E_k + W^k·O_k, W^k = tab[k] = e^{−2πik/n}); with chans > 0
//     X·w[(row + crow) mod chans][k] (conjugated when conjw ≠ 0) goes to dst
//     and, when keep ≠ 0, X itself to spec.
//   2 real inverse, n = 2N even: X [rows][N+1] → rows [rows][n] real =
//     scale·n·IRFFT(X): the C2R pre-processing (Im X_0, Im X_N ignored)
//     while loading, the inverse FFT, the pairs stored as floats.
//   3 Bluestein for length BN through the N-point FFT (N ≥ 2·BN−1): load
//     x_j·c_j (c = tab, the chirp, conjugated when inv ≠ 0) zero padded,
//     forward FFT, times tab2 (the transformed conjugate chirp for this
//     direction, scaled by 1/N), inverse FFT, store scale·c_k·y_k for
//     k < BN into [outer][BN][inner].
// Shared memory holds re and im in separate arrays with one padding word
// per 32 (no bank conflicts for the radix-2/4/8 strides). Lines of a 2-D
// column pass (inner > 1) are loaded and stored with consecutive threads
// on consecutive columns (coalesced), not along the strided line.
layout(local_size_x_id = 0) in;
// N | BN << 13 | MODE << 26 (the pipeline has four constants)
layout(constant_id = 1) const int NBM = 1;
layout(constant_id = 2) const int G = 1;
layout(constant_id = 3) const int PACK = 0;
const int N = NBM & 8191;
const int BN = (NBM >> 13) & 8191;
const int MODE = (NBM >> 26) & 3;
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
layout(std430, binding = 3) readonly buffer Tab { vec2 tab[]; };
layout(std430, binding = 4) readonly buffer Tab2 { vec2 tab2[]; };
layout(std430, binding = 5) writeonly buffer Spec { vec2 spec[]; };
// so, do_, spo: element offsets of the first line inside the src, dst and
// spec bindings (the host binds the sub-ranges a dispatch touches); lines
// counts this dispatch's outer lines (rows for the real modes).
layout(push_constant) uniform PC { int lines, inner, inv; float scale; int so, do_, chans, keep, crow, spo, conjw; } pc;

const int E = N * G;
// Registers per thread: at most ceil(E/R/WG)·R ≤ E/WG + 8 ≤ 40 (the host
// keeps E ≤ 32·WG).
#define MAXV 40
const int EP = E + (E >> 5) + 1;
shared float sre[EP];
shared float sim[EP];

int pad(int i) { return i + (i >> 5); }
vec2 sld(int i) { int p = pad(i); return vec2(sre[p], sim[p]); }
void sst(int i, vec2 v) { int p = pad(i); sre[p] = v.x; sim[p] = v.y; }
vec2 conj2(vec2 a) { return vec2(a.x, -a.y); }

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
				vec2 x = sld(g * N + j + r * nr);
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
			for (int r = 0; r < R; r++) sst(od + r * ns, reg[b * R + r]);
		}
	}
	barrier();
}

void transform(float d, int tid) {
	int ns = 1;
	if (R0 > 1) { fftPass(R0, ns, d, tid); ns *= R0; }
	if (R1 > 1) { fftPass(R1, ns, d, tid); ns *= R1; }
	if (R2 > 1) { fftPass(R2, ns, d, tid); ns *= R2; }
	if (R3 > 1) { fftPass(R3, ns, d, tid); ns *= R3; }
	if (R4 > 1) { fftPass(R4, ns, d, tid); ns *= R4; }
	if (R5 > 1) { fftPass(R5, ns, d, tid); ns *= R5; }
	if (R6 > 1) { fftPass(R6, ns, d, tid); ns *= R6; }
	if (R7 > 1) { fftPass(R7, ns, d, tid); ns *= R7; }
}

// split maps a workgroup-local element e of G lines of length L to (line g,
// position p): along the line when lines are contiguous (inner = 1), across
// the lines (consecutive columns) otherwise, so that consecutive threads
// touch consecutive addresses either way.
void split(int e, int L, out int g, out int p) {
	if (pc.inner > 1) {
		g = e % G;
		p = e / G;
	} else {
		g = e / L;
		p = e % L;
	}
}

// at is the global element index of position p of line row in an
// [·][L][inner] array.
uint at(uint row, int L, int p) {
	uint inner = uint(pc.inner);
	return ((row / inner) * uint(L) + uint(p)) * inner + row % inner;
}

void main() {
	int WG = int(gl_WorkGroupSize.x);
	int tid = int(gl_LocalInvocationID.x);
	uint row0 = group_index() * uint(G);
	uint rows = uint(pc.lines) * uint(pc.inner);
	float d = pc.inv != 0 ? 1.0 : -1.0;
	uint so = uint(pc.so), do_ = uint(pc.do_);
	// load
	if (MODE == 0) {
		for (int e = tid; e < E; e += WG) {
			int g, p;
			split(e, N, g, p);
			uint row = row0 + uint(g);
			sst(g * N + p, row < rows ? src[so + at(row, N, p)] : vec2(0.0));
		}
	} else if (MODE == 1) {
		for (int e = tid; e < E; e += WG) {
			int g = e / N, p = e % N;
			uint row = row0 + uint(g);
			sst(e, row < rows ? src[so + row * uint(N) + uint(p)] : vec2(0.0));
		}
	} else if (MODE == 2) {
		for (int e = tid; e < E; e += WG) {
			int g = e / N, k = e % N;
			uint row = row0 + uint(g);
			vec2 z = vec2(0.0);
			if (row < rows) {
				uint xb = so + row * uint(N + 1);
				vec2 xk = src[xb + uint(k)], xc = conj2(src[xb + uint(N - k)]);
				if (k == 0) {
					xk.y = 0.0;
					xc.y = 0.0;
				}
				vec2 ev = xk + xc, o = cmul(xk - xc, conj2(tab[k]));
				z = ev + vec2(-o.y, o.x);
			}
			sst(e, z);
		}
	} else {
		for (int e = tid; e < E; e += WG) {
			int g, p;
			split(e, N, g, p);
			uint row = row0 + uint(g);
			vec2 x = vec2(0.0);
			if (row < rows && p < BN) {
				vec2 c = tab[p];
				if (pc.inv != 0) c.y = -c.y;
				x = cmul(src[so + at(row, BN, p)], c);
			}
			sst(g * N + p, x);
		}
	}
	barrier();
	if (MODE == 3) {
		transform(-1.0, tid);
		for (int e = tid; e < E; e += WG) sst(e, cmul(sld(e), tab2[e % N]));
		barrier();
		transform(1.0, tid);
	} else {
		transform(d, tid);
	}
	// store
	if (MODE == 0) {
		for (int e = tid; e < E; e += WG) {
			int g, p;
			split(e, N, g, p);
			uint row = row0 + uint(g);
			if (row < rows) dst[do_ + at(row, N, p)] = pc.scale * sld(g * N + p);
		}
	} else if (MODE == 1) {
		const int NF = N + 1;
		for (int e = tid; e < G * NF; e += WG) {
			int g = e / NF, k = e % NF;
			uint row = row0 + uint(g);
			if (row >= rows) continue;
			vec2 zk = sld(g * N + k % N), zc = conj2(sld(g * N + (N - k) % N));
			vec2 ev = 0.5 * (zk + zc), df = 0.5 * (zk - zc);
			vec2 x = ev + cmul(tab[k], vec2(df.y, -df.x));
			uint oi = row * uint(NF) + uint(k);
			if (pc.chans > 0) {
				if (pc.keep != 0) spec[uint(pc.spo) + oi] = x;
				vec2 w = tab2[((row + uint(pc.crow)) % uint(pc.chans)) * uint(NF) + uint(k)];
				if (pc.conjw != 0) w.y = -w.y;
				x = cmul(x, w);
			}
			dst[do_ + oi] = pc.scale * x;
		}
	} else if (MODE == 2) {
		for (int e = tid; e < E; e += WG) {
			uint row = row0 + uint(e / N);
			if (row < rows) dst[do_ + row * uint(N) + uint(e % N)] = pc.scale * sld(e);
		}
	} else {
		for (int e = tid; e < G * BN; e += WG) {
			int g, p;
			split(e, BN, g, p);
			uint row = row0 + uint(g);
			if (row >= rows) continue;
			vec2 c = tab[p];
			if (pc.inv != 0) c.y = -c.y;
			dst[do_ + at(row, BN, p)] = pc.scale * cmul(sld(g * N + p), c);
		}
	}
}
