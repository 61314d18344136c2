// Package fft is a pure-Go float32 FFT library: complex, real and 2D
// transforms of any length, with complex data stored interleaved
// (re, im, re, im, ...).
//
// Algorithms:
//   - Lengths whose prime factors are all in {2,3,5,7} use a Stockham
//     autosort mixed-radix algorithm (radix 2, 3, 4, 5, 6, 7, 8 butterflies, no
//     bit reversal). A lone factor 2 is merged with a 3 into a radix-6 pass.
//   - Other prime factors are handled inside the same Stockham framework:
//     primes up to 13 with a direct symmetric butterfly, larger primes with
//     Rader's algorithm (a cyclic convolution of length p-1 computed with a
//     nested plan, all butterflies of a pass batched together).
//   - When a large prime factor makes Rader recursion expensive, the whole
//     length uses Bluestein's chirp-z algorithm with a 7-smooth convolution.
//   - Real transforms of even length use a half-length complex FFT plus a
//     post-processing pass; odd lengths use a full complex transform.
//   - Batches are transformed laneRows rows at a time in a transposed
//     [n][rows] "lane" layout so that every pass runs long unit-stride inner
//     loops; strided (FFTAxis, 2D column) transforms run on the same lane
//     kernels directly.
//
// Twiddle factors are computed in float64 and stored as float32. Work is
// parallelised over the batch with GOMAXPROCS goroutines.
//
// When built with GOEXPERIMENT=simd on amd64 (Go 1.26's experimental
// simd/archsimd package) and the CPU has AVX2 and FMA, the lane kernels use
// 256-bit vectors; otherwise portable scalar code is used. Both are tested to
// the same accuracy.
package fft

import (
	"fmt"
	"math"
	"sync"
)

// stage is one Stockham pass of radix r over sub-transforms of length nc.
type stage struct {
	r   int       // radix
	nc  int       // current sub-transform length
	m   int       // nc / r
	tw  []float32 // forward twiddles [m][r-1], interleaved complex
	twi []float32 // inverse twiddles (conjugates)
	gen *genPrime // direct butterfly constants for generic odd primes
	rad *rader    // Rader data for large primes
}

// Plan is a precomputed complex FFT of one length. Plans are immutable
// after construction and safe for concurrent use.
type Plan struct {
	n      int
	stages []stage
	blue   *bluestein // non-nil: the whole transform is done by Bluestein
}

// Len returns the transform length of the plan.
func (pl *Plan) Len() int { return pl.n }

var planCache sync.Map // int -> *Plan

// PlanFor returns the (cached) plan for a complex FFT of length n ≥ 1.
// The returned plan is safe for concurrent use.
func PlanFor(n int) *Plan {
	if n < 1 {
		panic(fmt.Sprintf("fft.PlanFor: n=%d, want n >= 1", n))
	}
	if p, ok := planCache.Load(n); ok {
		return p.(*Plan)
	}
	p := newPlan(n)
	act, _ := planCache.LoadOrStore(n, p)
	return act.(*Plan)
}

// directPrimeMax is the largest prime handled by the direct O(p²)
// butterfly; larger primes use Rader's algorithm.
const directPrimeMax = 13

// useRadix6 enables the radix-6 pass (a lone 2 merged with a 3).
const useRadix6 = true

var orderSmallLast = true

// factorize splits n into the radices used by the Stockham passes, in
// execution order: generic primes first, then 7, 5, 3, then 4s and 2.
func factorize(n int) []int {
	var big, small []int
	m := n
	for _, p := range []int{7, 5, 3} {
		for m%p == 0 {
			small = append(small, p)
			m /= p
		}
	}
	e := 0
	for m%2 == 0 {
		e++
		m /= 2
	}
	// powers of two: as many radix-8 passes as possible, then 4s, then 2
	n8, n4, n2 := e/3, 0, 0
	switch e % 3 {
	case 1:
		if n8 > 0 {
			n8--
			n4 = 2
		} else {
			n2 = 1
		}
	case 2:
		n4 = 1
	}
	for p := 11; p*p <= m; p += 2 {
		for m%p == 0 {
			big = append(big, p)
			m /= p
		}
	}
	if m > 1 {
		big = append(big, m)
	}
	out := append(big, small...)
	// 4s before 8s: radix 2 and 4 have a specialised unit-stride first pass
	for i := 0; i < n4; i++ {
		out = append(out, 4)
	}
	for i := 0; i < n8; i++ {
		out = append(out, 8)
	}
	if n2 > 0 {
		// a lone factor 2 is merged with a 3 into a twiddle-free last
		// radix-6 pass when possible
		if useRadix6 {
			for i := len(out) - 1; i >= len(big); i-- {
				if out[i] == 3 {
					out = append(out[:i], out[i+1:]...)
					return append(out, 6)
				}
			}
		}
		out = append(out, 2)
	}
	return out
}

func isSmooth(n int) bool {
	for _, p := range []int{2, 3, 5, 7} {
		for n%p == 0 {
			n /= p
		}
	}
	return n == 1
}

// NextSmooth returns the smallest m ≥ n whose prime factors are all in
// {2,3,5,7}. NextSmooth(n) is 1 for n ≤ 1.
func NextSmooth(n int) int {
	if n <= 1 {
		return 1
	}
	for m := n; ; m++ {
		if isSmooth(m) {
			return m
		}
	}
}

// costEstimate is a rough operation count per element for a plan.
func costEstimate(n int) float64 {
	c := 0.0
	for _, r := range factorize(n) {
		switch {
		case r <= 8:
			c += float64(r) + 4
		case r <= directPrimeMax:
			c += float64(r) + 6
		default:
			c += 2*costEstimate(r-1) + 12
		}
	}
	return c
}

func newPlan(n int) *Plan {
	pl := &Plan{n: n}
	if n == 1 {
		return pl
	}
	fs := factorize(n)
	// Bluestein when a large prime factor makes Rader recursion costly.
	if fs[0] > directPrimeMax {
		m := NextSmooth(2*n - 1)
		if float64(n)*costEstimate(n) > 2.2*float64(m)*costEstimate(m) {
			pl.blue = newBluestein(n, m)
			return pl
		}
	}
	nc := n
	for _, r := range fs {
		st := stage{r: r, nc: nc, m: nc / r}
		st.tw = make([]float32, 2*st.m*(r-1))
		st.twi = make([]float32, 2*st.m*(r-1))
		for p := 0; p < st.m; p++ {
			for j := 1; j < r; j++ {
				c, s := cisNeg(p*j, nc)
				k := 2 * (p*(r-1) + j - 1)
				st.tw[k], st.tw[k+1] = float32(c), float32(s)
				st.twi[k], st.twi[k+1] = float32(c), float32(-s)
			}
		}
		switch {
		case r == 2 || r == 3 || r == 4 || r == 5 || r == 6 || r == 7 || r == 8:
		case r <= directPrimeMax:
			st.gen = newGenPrime(r)
		default:
			st.rad = newRader(r)
		}
		pl.stages = append(pl.stages, st)
		nc /= r
	}
	return pl
}

// cisNeg returns cos and sin of -2πk/n computed accurately in float64.
func cisNeg(k, n int) (float64, float64) {
	k %= n
	if k < 0 {
		k += n
	}
	// reduce to the first octant-ish range for accuracy
	var c, s float64
	switch {
	case 8*k <= n:
		s, c = math.Sincos(2 * math.Pi * float64(k) / float64(n))
	case 8*k <= 3*n:
		// angle = π/2 - θ', θ' = 2π(n/4 - k)/n
		s2, c2 := math.Sincos(2 * math.Pi * (float64(n)/4 - float64(k)) / float64(n))
		s, c = c2, s2
	case 8*k <= 5*n:
		s2, c2 := math.Sincos(2 * math.Pi * (float64(n)/2 - float64(k)) / float64(n))
		s, c = s2, -c2
	case 8*k <= 7*n:
		s2, c2 := math.Sincos(2 * math.Pi * (3*float64(n)/4 - float64(k)) / float64(n))
		s, c = -c2, -s2
	default:
		s2, c2 := math.Sincos(2 * math.Pi * (float64(n) - float64(k)) / float64(n))
		s, c = -s2, c2
	}
	return c, -s
}

// genPrime holds constants for the direct butterfly of an odd prime p.
type genPrime struct {
	p   int
	cos []float32 // [h][h] cos(2π j t / p), j,t = 1..h, h = (p-1)/2
	sin []float32 // [h][h] sin(2π j t / p)
}

func newGenPrime(p int) *genPrime {
	h := (p - 1) / 2
	g := &genPrime{p: p, cos: make([]float32, h*h), sin: make([]float32, h*h)}
	for t := 1; t <= h; t++ {
		for j := 1; j <= h; j++ {
			c, s := cisNeg(j*t, p)
			g.cos[(t-1)*h+j-1] = float32(c)
			g.sin[(t-1)*h+j-1] = float32(-s)
		}
	}
	return g
}

// rader holds the data for Rader's algorithm for a prime p.
type rader struct {
	p      int
	inIdx  []int     // inIdx[k] = g^k mod p, k < p-1
	outIdx []int     // outIdx[q] = g^-q mod p
	wf     []float32 // FFT of the forward kernel, scaled by 1/(p-1)
	wi     []float32 // same for the inverse kernel
	sub    *Plan     // plan of length p-1
}

func primitiveRoot(p int) int {
	// factor p-1
	var fs []int
	m := p - 1
	for q := 2; q*q <= m; q++ {
		if m%q == 0 {
			fs = append(fs, q)
			for m%q == 0 {
				m /= q
			}
		}
	}
	if m > 1 {
		fs = append(fs, m)
	}
	for g := 2; g < p; g++ {
		ok := true
		for _, q := range fs {
			if powMod(g, (p-1)/q, p) == 1 {
				ok = false
				break
			}
		}
		if ok {
			return g
		}
	}
	return 1
}

func powMod(b, e, m int) int {
	r := 1
	b %= m
	for e > 0 {
		if e&1 == 1 {
			r = r * b % m
		}
		b = b * b % m
		e >>= 1
	}
	return r
}

func newRader(p int) *rader {
	g := primitiveRoot(p)
	ginv := powMod(g, p-2, p)
	n := p - 1
	rd := &rader{p: p, inIdx: make([]int, n), outIdx: make([]int, n), sub: PlanFor(n)}
	a, b := 1, 1
	for k := 0; k < n; k++ {
		rd.inIdx[k] = a
		rd.outIdx[k] = b
		a = a * g % p
		b = b * ginv % p
	}
	// kernel w[j] = ω^{g^{-j}}, FFT computed in float64 directly (O(n²) is
	// avoided by using complex128 DFT via the float32 plan would lose
	// accuracy; n ≤ a few thousand in practice, so use an O(n log n)
	// float64 helper).
	wf := make([]complex128, n)
	wi := make([]complex128, n)
	for j := 0; j < n; j++ {
		c, s := cisNeg(rd.outIdx[j], p)
		wf[j] = complex(c, s)
		wi[j] = complex(c, -s)
	}
	WF := dft64(wf)
	WI := dft64(wi)
	rd.wf = make([]float32, 2*n)
	rd.wi = make([]float32, 2*n)
	inv := 1 / float64(n)
	for k := 0; k < n; k++ {
		rd.wf[2*k] = float32(real(WF[k]) * inv)
		rd.wf[2*k+1] = float32(imag(WF[k]) * inv)
		rd.wi[2*k] = float32(real(WI[k]) * inv)
		rd.wi[2*k+1] = float32(imag(WI[k]) * inv)
	}
	return rd
}

// dft64 computes a forward DFT in float64 (used only at plan time). It uses
// a recursive mixed-radix decimation for composite lengths and an O(n²)
// sum for primes.
func dft64(x []complex128) []complex128 {
	n := len(x)
	if n <= 1 {
		return append([]complex128(nil), x...)
	}
	p := 0
	for q := 2; q*q <= n; q++ {
		if n%q == 0 {
			p = q
			break
		}
	}
	out := make([]complex128, n)
	if p == 0 {
		for k := 0; k < n; k++ {
			var s complex128
			for j := 0; j < n; j++ {
				c, sn := cisNeg(j*k%n, n)
				s += x[j] * complex(c, sn)
			}
			out[k] = s
		}
		return out
	}
	m := n / p
	subs := make([][]complex128, p)
	for r := 0; r < p; r++ {
		seq := make([]complex128, m)
		for j := 0; j < m; j++ {
			seq[j] = x[j*p+r]
		}
		subs[r] = dft64(seq)
	}
	for k := 0; k < n; k++ {
		var s complex128
		for r := 0; r < p; r++ {
			c, sn := cisNeg(r*k%n, n)
			s += subs[r][k%m] * complex(c, sn)
		}
		out[k] = s
	}
	return out
}

// bluestein holds the data for Bluestein's chirp-z algorithm.
type bluestein struct {
	n, m   int
	chirp  []float32 // w[k] = exp(-iπk²/n), k < n, interleaved
	kf, ki []float32 // FFT_m of the conjugate chirp kernel, scaled by 1/m (fwd, inv)
	sub    *Plan
}

func newBluestein(n, m int) *bluestein {
	b := &bluestein{n: n, m: m, sub: PlanFor(m), chirp: make([]float32, 2*n)}
	kern := make([]complex128, m)
	kerni := make([]complex128, m)
	n2 := 2 * n
	for k := 0; k < n; k++ {
		// exp(-iπk²/n) = cisNeg(k² mod 2n, 2n)
		c, s := cisNeg(int((int64(k)*int64(k))%int64(n2)), n2)
		b.chirp[2*k], b.chirp[2*k+1] = float32(c), float32(s)
		kern[k] = complex(c, -s)
		kerni[k] = complex(c, s)
		if k > 0 {
			kern[m-k] = kern[k]
			kerni[m-k] = kerni[k]
		}
	}
	KF := dft64(kern)
	KI := dft64(kerni)
	b.kf = make([]float32, 2*m)
	b.ki = make([]float32, 2*m)
	inv := 1 / float64(m)
	for k := 0; k < m; k++ {
		b.kf[2*k], b.kf[2*k+1] = float32(real(KF[k])*inv), float32(imag(KF[k])*inv)
		b.ki[2*k], b.ki[2*k+1] = float32(real(KI[k])*inv), float32(imag(KI[k])*inv)
	}
	return b
}
