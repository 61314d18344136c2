#version 450
// Element-wise stages around the complex FFT (MODE is specialised):
//  0 R2C_POST  even n = 2h: Z [rows][h] (the FFT of x viewed as complex) →
//              X [rows][h+1]: X_k = E_k + W^k O_k, E = (Z_k + Z*_{h−k})/2,
//              O = −i(Z_k − Z*_{h−k})/2, W^k = tab[k] = e^{−2πik/n}.
//  1 C2R_PRE   even n: X [rows][h+1] → Z [rows][h] = scale·(E + iO),
//              E = X_k + X*_{h−k}, O = (X_k − X*_{h−k})·conj(W^k); Im X_0,
//              Im X_h ignored (numpy irfft); the inverse FFT of Z is x.
//  2 R2C       real [rows·n] → complex (x, 0).
//  3 CROP      complex [rows][n] → [rows][n/2+1].
//  4 HERMITIAN [rows][n/2+1] → [rows][n]: X_k, conj(X_{n−k}) above n/2; Im X_0
//              ignored.
//  5 REAL      complex [rows·n] → scale·real part.
//  6 BLUE_PRE  [outer][n][inner] → A [rows][m]: x_j·c_j (c = tab, the chirp),
//              zero for n ≤ j < m; rows = outer·inner.
//  7 BLUE_MUL  [rows][m] · tab[m] (the transformed conjugate chirp).
//  8 BLUE_POST [rows][m] → [outer][n][inner]: scale·c_k·C_k.
// The chirp table is the forward one; inv ≠ 0 conjugates it.
layout(local_size_x = 256) in;
layout(constant_id = 0) const int MODE = 0;
#include "common.glsl"
layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer Src { float src[]; };
layout(std430, binding = 2) readonly buffer Tab { vec2 tab[]; };
layout(push_constant) uniform PC { int rows, n, m, inner, inv; float scale; } pc;

vec2 cmul(vec2 a, vec2 b) { return vec2(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }
vec2 ld(uint e) { return vec2(src[2u * e], src[2u * e + 1u]); }
void st(uint e, vec2 v) {
	dst[2u * e] = v.x;
	dst[2u * e + 1u] = v.y;
}
vec2 conj2(vec2 a) { return vec2(a.x, -a.y); }

void main() {
	uint gi = global_index();
	uint rows = uint(pc.rows), n = uint(pc.n), m = uint(pc.m);
	if (MODE == 0) {
		uint h = n / 2u;
		if (gi >= rows * (h + 1u)) return;
		uint r = gi / (h + 1u), k = gi % (h + 1u);
		vec2 zk = ld(r * h + k % h), zc = conj2(ld(r * h + (h - k) % h));
		vec2 e = 0.5 * (zk + zc), df = 0.5 * (zk - zc);
		vec2 o = vec2(df.y, -df.x);
		st(gi, e + cmul(tab[k], o));
	} else if (MODE == 1) {
		uint h = n / 2u;
		if (gi >= rows * h) return;
		uint r = gi / h, k = gi % h;
		vec2 xk = ld(r * (h + 1u) + k), xc = conj2(ld(r * (h + 1u) + h - k));
		if (k == 0u) {
			xk.y = 0.0;
			xc.y = 0.0;
		}
		vec2 e = xk + xc, o = cmul(xk - xc, conj2(tab[k]));
		st(gi, pc.scale * (e + vec2(-o.y, o.x)));
	} else if (MODE == 2) {
		if (gi >= rows * n) return;
		st(gi, vec2(src[gi], 0.0));
	} else if (MODE == 3) {
		uint nf = n / 2u + 1u;
		if (gi >= rows * nf) return;
		st(gi, ld((gi / nf) * n + gi % nf));
	} else if (MODE == 4) {
		uint nf = n / 2u + 1u;
		if (gi >= rows * n) return;
		uint r = gi / n, k = gi % n;
		vec2 x = k < nf ? ld(r * nf + k) : conj2(ld(r * nf + n - k));
		if (k == 0u) x.y = 0.0;
		st(gi, pc.scale * x);
	} else if (MODE == 5) {
		if (gi >= rows * n) return;
		dst[gi] = pc.scale * src[2u * gi];
	} else if (MODE == 6) {
		if (gi >= rows * m) return;
		uint r = gi / m, j = gi % m, inner = uint(pc.inner);
		vec2 x = vec2(0.0);
		if (j < n) {
			vec2 c = tab[j];
			if (pc.inv != 0) c.y = -c.y;
			x = cmul(ld(((r / inner) * n + j) * inner + r % inner), c);
		}
		st(gi, x);
	} else if (MODE == 7) {
		if (gi >= rows * m) return;
		st(gi, cmul(ld(gi), tab[gi % m]));
	} else {
		uint inner = uint(pc.inner);
		if (gi >= rows * n) return;
		// gi enumerates [outer][n][inner]
		uint i = gi % inner, t = gi / inner, k = t % n, o = t / n;
		vec2 c = tab[k];
		if (pc.inv != 0) c.y = -c.y;
		st(gi, pc.scale * cmul(ld((o * inner + i) * m + k), c));
	}
}
