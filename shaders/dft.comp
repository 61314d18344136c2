#version 450
// Direct (O(n²)) discrete Fourier transforms with a twiddle table computed on
// the host in float64: tw[m] = (cos 2πm/n, −sin 2πm/n). A correct reference
// path until the Stockham FFT (issue 4) replaces it.
//   mode 0, real→half spectrum along rows: dst[r][k] = Σ_j src[r][j]·tw[jk mod n], k ≤ n/2.
//   mode 1, half spectrum→real along rows (numpy irfft): dst[r][j] =
//           scale·(X0 + (−1)^j X_{n/2} (even n) + 2 Σ_{0<k<n/2} Re(X_k e^{+2πijk/n})).
//   mode 2, complex DFT along the middle axis of [outer][n][inner]:
//           dst[o][k][i] = scale·Σ_j src[o][j][i]·w(jk), w = tw (forward) or conj(tw) (inverse).
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer Src { float src[]; };
layout(std430, binding = 2) readonly buffer Tw { vec2 tw[]; };
layout(push_constant) uniform PC { int rows, n, inner, mode, inverse; float scale; } pc;

void main() {
	uint gi = global_index();
	int n = pc.n, nf = n / 2 + 1;
	if (pc.mode == 0) {
		if (gi >= uint(pc.rows * nf)) return;
		int r = int(gi) / nf, k = int(gi) % nf;
		int base = r * n, m = 0;
		float re = 0.0, im = 0.0;
		for (int j = 0; j < n; j++) {
			vec2 w = tw[m];
			float x = src[base + j];
			re += x * w.x;
			im += x * w.y;
			m += k;
			if (m >= n) m -= n;
		}
		dst[2 * gi] = re;
		dst[2 * gi + 1] = im;
	} else if (pc.mode == 1) {
		if (gi >= uint(pc.rows * n)) return;
		int r = int(gi) / n, j = int(gi) % n;
		int base = r * nf * 2;
		float acc = src[base];
		int top = (n % 2 == 0) ? n / 2 : nf;
		if (n % 2 == 0 && n > 1) acc += (j % 2 == 0 ? 1.0 : -1.0) * src[base + 2 * (n / 2)];
		int m = j;
		float part = 0.0;
		for (int k = 1; k < top; k++) {
			vec2 w = tw[m]; // e^{+iθ} = (w.x, −w.y)
			part += src[base + 2 * k] * w.x + src[base + 2 * k + 1] * w.y;
			m += j;
			if (m >= n) m -= n;
		}
		dst[gi] = pc.scale * (acc + 2.0 * part);
	} else {
		if (gi >= uint(pc.rows * n * pc.inner)) return;
		int i = int(gi) % pc.inner;
		int ok = int(gi) / pc.inner;
		int k = ok % n, o = ok / n;
		float s = pc.inverse != 0 ? -1.0 : 1.0;
		float re = 0.0, im = 0.0;
		int m = 0;
		for (int j = 0; j < n; j++) {
			vec2 w = tw[m];
			w.y *= s;
			int e = 2 * ((o * n + j) * pc.inner + i);
			float xr = src[e], xi = src[e + 1];
			re += xr * w.x - xi * w.y;
			im += xr * w.y + xi * w.x;
			m += k;
			if (m >= n) m -= n;
		}
		dst[2 * gi] = pc.scale * re;
		dst[2 * gi + 1] = pc.scale * im;
	}
}
