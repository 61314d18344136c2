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
//  9 R2C_POST_MUL, 10 CROP_MUL: 0 and 3 times w[row mod chans][k] (conjugated
//              when inv ≠ 0); with keep ≠ 0 the unmultiplied spectrum is also
//              stored into spec (binding 4): one pass for both outputs.
// rows counts the lines of this chunk. The host binds the sub-ranges of src,
// dst and spec that the chunk touches (arrays larger than one binding are
// processed in chunks): so, do_ and spo are the element offsets of the
// chunk's first line inside those bindings (complex elements; floats for
// the real side of modes 2 and 5). crow is the absolute index of the
// chunk's first row, for the channel of the fused multiplies. For 6 and 8
// the [outer][n][inner] side holds whole outer slices; the [rows][m] side
// is chunk-local.
layout(local_size_x = 256) in;
layout(constant_id = 0) const int MODE = 0;
// Lengths as specialisation constants: divisions by constants are cheap.
layout(constant_id = 1) const int N = 1;
layout(constant_id = 2) const int M = 1;
layout(constant_id = 3) const int INNER = 1;
#include "common.glsl"
layout(std430, binding = 0) writeonly buffer Dst { vec2 dst[]; };
layout(std430, binding = 1) readonly buffer Src { vec2 src[]; };
layout(std430, binding = 2) readonly buffer Tab { vec2 tab[]; };
layout(std430, binding = 3) readonly buffer W { vec2 wt[]; };
layout(std430, binding = 4) writeonly buffer Spec { vec2 spec[]; };
// chans: C of the fused multiplies; keep: also store the plain spectrum.
layout(push_constant) uniform PC { int rows, inv; float scale; int so, do_, chans, keep, crow, spo; } pc;

vec2 cmul(vec2 a, vec2 b) { return vec2(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }
// Complex elements are vec2 loads/stores; the real modes address floats as
// components.
vec2 ld(uint e) { return src[e]; }
void st(uint e, vec2 v) { dst[e] = v; }
vec2 conj2(vec2 a) { return vec2(a.x, -a.y); }

void main() {
	uint gi = global_index();
	uint rows = uint(pc.rows), so = uint(pc.so), do_ = uint(pc.do_), crow = uint(pc.crow);
	const uint n = uint(N), m = uint(M), inner = uint(INNER);
	if (MODE == 0 || MODE == 9) {
		uint h = n / 2u;
		if (gi >= rows * (h + 1u)) return;
		uint r = gi / (h + 1u), k = gi % (h + 1u);
		uint zb = so + r * h;
		vec2 zk = ld(zb + k % h), zc = conj2(ld(zb + (h - k) % h));
		vec2 e = 0.5 * (zk + zc), df = 0.5 * (zk - zc);
		vec2 o = vec2(df.y, -df.x);
		vec2 x = e + cmul(tab[k], o);
		if (MODE == 9) {
			if (pc.keep != 0) spec[uint(pc.spo) + gi] = x;
			vec2 w = wt[((r + crow) % uint(pc.chans)) * (h + 1u) + k];
			if (pc.inv != 0) w.y = -w.y;
			x = cmul(x, w);
		}
		st(do_ + gi, x);
	} else if (MODE == 1) {
		uint h = n / 2u;
		if (gi >= rows * h) return;
		uint r = gi / h, k = gi % h;
		uint xb = so + r * (h + 1u);
		vec2 xk = ld(xb + k), xc = conj2(ld(xb + h - k));
		if (k == 0u) {
			xk.y = 0.0;
			xc.y = 0.0;
		}
		vec2 e = xk + xc, o = cmul(xk - xc, conj2(tab[k]));
		st(do_ + gi, pc.scale * (e + vec2(-o.y, o.x)));
	} else if (MODE == 2) {
		if (gi >= rows * n) return;
		uint e = so + gi;
		st(do_ + gi, vec2(src[e >> 1][e & 1u], 0.0));
	} else if (MODE == 3 || MODE == 10) {
		uint nf = n / 2u + 1u;
		if (gi >= rows * nf) return;
		uint r = gi / nf, k = gi % nf;
		vec2 x = ld(so + r * n + k);
		if (MODE == 10) {
			if (pc.keep != 0) spec[uint(pc.spo) + gi] = x;
			vec2 w = wt[((r + crow) % uint(pc.chans)) * nf + k];
			if (pc.inv != 0) w.y = -w.y;
			x = cmul(x, w);
		}
		st(do_ + gi, x);
	} else if (MODE == 4) {
		uint nf = n / 2u + 1u;
		if (gi >= rows * n) return;
		uint r = gi / n, k = gi % n;
		vec2 x = k < nf ? ld(so + r * nf + k) : conj2(ld(so + r * nf + n - k));
		if (k == 0u) x.y = 0.0;
		st(do_ + gi, pc.scale * x);
	} else if (MODE == 5) {
		if (gi >= rows * n) return;
		uint e = do_ + gi;
		dst[e >> 1][e & 1u] = pc.scale * src[so + gi].x;
	} else if (MODE == 6) {
		if (gi >= rows * m) return;
		uint r = gi / m, j = gi % m;
		vec2 x = vec2(0.0);
		if (j < n) {
			vec2 c = tab[j];
			if (pc.inv != 0) c.y = -c.y;
			x = cmul(ld(so + ((r / inner) * n + j) * inner + r % inner), c);
		}
		st(gi, x);
	} else if (MODE == 7) {
		if (gi >= rows * m) return;
		st(gi, cmul(ld(gi), tab[gi % m]));
	} else {
		if (gi >= rows * n) return;
		// gi enumerates [outer][n][inner]
		uint i = gi % inner, t = gi / inner, k = t % n, o = t / n;
		vec2 c = tab[k];
		if (pc.inv != 0) c.y = -c.y;
		st(do_ + gi, pc.scale * cmul(ld((o * inner + i) * m + k), c));
	}
}
