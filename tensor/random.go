package tensor

import "math"

// hash32 is the "lowbias32" integer hash (Chris Wellons). It uses only 32-bit
// operations so that GPU shaders reproduce it exactly.
func hash32(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return x
}

// HashBits returns the 32 random bits of counter i under seed. It is the
// specification every backend's Random kernel follows:
//
//	k = hash32(uint32(seed) ^ hash32(uint32(seed>>32) + 0x9e3779b9))
//	bits = hash32(hash32(i ^ k) + k)
func HashBits(seed uint64, i uint32) uint32 {
	k := hash32(uint32(seed) ^ hash32(uint32(seed>>32)+0x9e3779b9))
	return hash32(hash32(i^k) + k)
}

// HashUniform returns a uniform float32 in [0, 1) for counter i: the top 24
// bits of HashBits scaled by 2^-24.
func HashUniform(seed uint64, i uint32) float32 {
	return float32(HashBits(seed, i)>>8) * (1.0 / 16777216.0)
}

// HashNormal returns a standard normal float32 for element i by Box–Muller
// from the uniforms of counters 2i and 2i+1 (the first in (0, 1]):
//
//	u1 = 1 - HashUniform(seed, 2i); u2 = HashUniform(seed, 2i+1)
//	z = sqrt(-2 ln u1) · cos(2π u2)
//
// computed in float32.
func HashNormal(seed uint64, i uint32) float32 {
	u1 := 1 - HashUniform(seed, 2*i)
	u2 := HashUniform(seed, 2*i+1)
	r := float32(math.Sqrt(float64(-2 * float32(math.Log(float64(u1))))))
	return r * float32(math.Cos(float64(2*math.Pi*u2)))
}
