// Float helpers matching the CPU backend's float64-evaluated reference.

// erf with |error| < 1.2e-7 (Numerical Recipes erfc, Chebyshev fit).
float erf_(float x) {
	float z = abs(x);
	float t = 1.0 / (1.0 + 0.5 * z);
	float r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
		t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
		t * (-0.82215223 + t * 0.17087277)))))))));
	return x >= 0.0 ? 1.0 - r : r - 1.0;
}

// log(1+x), accurate for small x.
float log1p_(float x) {
	float u = 1.0 + x;
	if (u == 1.0) return x;
	return log(u) * x / (u - 1.0);
}

float pow_(float x, float y) {
	if (y == 0.0) return 1.0;
	if (isnan(x) || isnan(y)) return x + y;
	if (x == 0.0) {
		if (y > 0.0) return (fract(y * 0.5) == 0.5 && y == floor(y)) ? x : 0.0;
		return (fract(y * 0.5) == 0.5 && y == floor(y) && (floatBitsToUint(x) >> 31) != 0u) ? -1.0 / 0.0 : 1.0 / 0.0;
	}
	if (x < 0.0) {
		if (y != floor(y)) return 0.0 / 0.0;
		float r = exp2(y * log2(-x));
		return (fract(y * 0.5) == 0.5) ? -r : r;
	}
	return exp2(y * log2(x));
}

float tanh_(float x) {
	if (x > 15.0) return 1.0;
	if (x < -15.0) return -1.0;
	if (abs(x) < 0.005) return x * (1.0 - x * x / 3.0);
	float e = exp(2.0 * x);
	return (e - 1.0) / (e + 1.0);
}

float sigmoid_(float x) {
	if (x >= 0.0) return 1.0 / (1.0 + exp(-x));
	float e = exp(x);
	return e / (1.0 + e);
}
