// Butterflies shared by the Stockham FFT shaders (fft.comp, fft_shared.comp).
// d = −1 for the forward transform (ω = e^{−2πi/R}), +1 for the inverse.

vec2 cmul(vec2 a, vec2 b) { return vec2(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }

// a·(i·d)
vec2 rotq(vec2 a, float d) { return vec2(-d * a.y, d * a.x); }

void dft4(inout vec2 v0, inout vec2 v1, inout vec2 v2, inout vec2 v3, float d) {
	vec2 t0 = v0 + v2, t1 = v0 - v2, t2 = v1 + v3, t3 = rotq(v1 - v3, d);
	v0 = t0 + t2;
	v2 = t0 - t2;
	v1 = t1 + t3;
	v3 = t1 - t3;
}

// dft replaces v[0..R) by its length-R DFT in direction d (R ∈ {1,2,3,4,5,7,8}).
void dft(inout vec2 v[8], int R, float d) {
	if (R == 2) {
		vec2 t = v[0] - v[1];
		v[0] += v[1];
		v[1] = t;
	} else if (R == 3) {
		const float s3 = 0.86602540378443864676;
		vec2 t1 = v[1] + v[2];
		vec2 t2 = v[0] - 0.5 * t1;
		vec2 t3 = rotq(v[1] - v[2], d * s3);
		v[0] += t1;
		v[1] = t2 + t3;
		v[2] = t2 - t3;
	} else if (R == 4) {
		dft4(v[0], v[1], v[2], v[3], d);
	} else if (R == 8) {
		const float c = 0.70710678118654752440;
		dft4(v[0], v[2], v[4], v[6], d);
		dft4(v[1], v[3], v[5], v[7], d);
		// X[k] = E[k] + ω8^k O[k], X[k+4] = E[k] − ω8^k O[k]; E in v[0,2,4,6], O in v[1,3,5,7].
		vec2 o0 = v[1];
		vec2 o1 = c * vec2(v[3].x - d * v[3].y, d * v[3].x + v[3].y);
		vec2 o2 = rotq(v[5], d);
		vec2 o3 = c * vec2(-v[7].x - d * v[7].y, d * v[7].x - v[7].y);
		vec2 e0 = v[0], e1 = v[2], e2 = v[4], e3 = v[6];
		v[0] = e0 + o0;
		v[4] = e0 - o0;
		v[1] = e1 + o1;
		v[5] = e1 - o1;
		v[2] = e2 + o2;
		v[6] = e2 - o2;
		v[3] = e3 + o3;
		v[7] = e3 - o3;
	} else if (R == 5 || R == 7) {
		// Odd radix: X[q] = Σ_r v[r]·ω^{rq}, roots from float64-rounded tables.
		const float c5[5] = float[](1, 0.30901699437494745, -0.80901699437494734, -0.80901699437494756, 0.30901699437494723);
		const float s5[5] = float[](0, 0.95105651629515353, 0.58778525229247325, -0.58778525229247303, -0.95105651629515364);
		const float c7[7] = float[](1, 0.62348980185873359, -0.22252093395631434, -0.90096886790241903, -0.90096886790241915, -0.22252093395631459, 0.62348980185873337);
		const float s7[7] = float[](0, 0.7818314824680298, 0.97492791218182362, 0.43388373911755823, -0.43388373911755801, -0.97492791218182362, -0.78183148246802991);
		vec2 o[8];
		for (int q = 0; q < R; q++) {
			vec2 acc = v[0];
			int m = 0;
			for (int r = 1; r < R; r++) {
				m += q;
				if (m >= R) m -= R;
				vec2 w = R == 5 ? vec2(c5[m], d * s5[m]) : vec2(c7[m], d * s7[m]);
				acc += cmul(v[r], w);
			}
			o[q] = acc;
		}
		for (int q = 0; q < R; q++) v[q] = o[q];
	}
}
