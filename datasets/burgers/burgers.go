// Package burgers generates the 1-D viscous Burgers data set of the FNO
// paper (Li et al., "Fourier Neural Operator for Parametric Partial
// Differential Equations", ICLR 2021): on the periodic unit interval,
//
//	u_t = ν u_xx − (u²/2)_x,  ν = 0.1,
//
// from an initial condition u0 ~ N(0, 625(−Δ + 25 I)^(−2)), the map
// u0 ↦ u(·, t=1).
//
// The solver is pseudo-spectral: Fourier in x (gonum's real FFT, float64),
// the 2/3 rule against aliasing of the quadratic term, and fourth-order
// exponential time differencing (ETDRK4, Cox & Matthews 2002, with the
// contour-integral coefficients of Kassam & Trefethen 2005), which
// integrates the stiff viscous term exactly.
//
// FNO solved on 8192 points and subsampled; here the field is sampled and
// solved directly on 1024 points, FNO's headline resolution. With ν = 0.1
// the solution is smooth: a Fourier mode k > 40 decays by
// exp(−ν(2πk)²·0.01) < e^−60 within t = 0.01, and the initial field's
// amplitude at k = 512 is 25/(4π²·512²+25) ≈ 2.4e-6, so the finer grid
// changes u(t=1) by far less than float32 rounding.
package burgers

import (
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"

	"gonum.org/v1/gonum/dsp/fourier"
)

// FNO's constants.
const (
	// Nu is the viscosity ν.
	Nu = 0.1
	// T is the final time.
	T = 1.0
	// Points is the grid size on which fields are sampled, solved and stored.
	Points = 1024
	// DefaultDt is the time step of the generator (500 steps to t = 1;
	// the solver test checks that u(1) is within 1e-7·max|u| of the
	// solution with a step 4 times smaller, below float32 resolution).
	DefaultDt = 2e-3
	// GRF parameters: covariance 625(−Δ + 25 I)^(−2), i.e. σ²(−Δ + τ² I)^(−γ)
	// with σ = 25, τ = 5, γ = 2.
	grfSigma = 25.0
	grfTau2  = 25.0
)

// Solver integrates the periodic viscous Burgers equation on n points of
// [0, 1) with ETDRK4. A Solver is not safe for concurrent use.
type Solver struct {
	N         int
	Nu, Dt    float64
	Nonlinear bool // false drops the (u²/2)_x term: the heat equation u_t = ν u_xx
	fft       *fourier.FFT
	// per-mode ETDRK4 coefficients (real, since L is real)
	e, e2, q, f1, f2, f3 []float64
	g                    []complex128 // −i k/2 with the 2/3 dealiasing mask
	u                    []float64
	w                    []complex128
}

// NewSolver prepares a solver for n points (even, ≥ 4), viscosity nu and
// time step dt.
func NewSolver(n int, nu, dt float64) (*Solver, error) {
	if n < 4 || n%2 != 0 {
		return nil, fmt.Errorf("burgers: grid size %d, want an even number ≥ 4", n)
	}
	if !(nu >= 0) || !(dt > 0) || math.IsInf(dt, 0) || math.IsInf(nu, 0) {
		return nil, fmt.Errorf("burgers: viscosity %v and time step %v, want ν ≥ 0, dt > 0", nu, dt)
	}
	m := n/2 + 1
	s := &Solver{N: n, Nu: nu, Dt: dt, Nonlinear: true, fft: fourier.NewFFT(n),
		e: make([]float64, m), e2: make([]float64, m), q: make([]float64, m),
		f1: make([]float64, m), f2: make([]float64, m), f3: make([]float64, m),
		g: make([]complex128, m), u: make([]float64, n), w: make([]complex128, m)}
	const contour = 32
	cut := n / 3 // 2/3 rule: keep |k| ≤ n/3
	for k := 0; k < m; k++ {
		kk := 2 * math.Pi * float64(k)
		l := -nu * kk * kk
		hl := dt * l
		s.e[k] = math.Exp(hl)
		s.e2[k] = math.Exp(hl / 2)
		var q, f1, f2, f3 complex128
		for j := 1; j <= contour; j++ {
			r := complex(hl, 0) + cmplx.Exp(complex(0, math.Pi*(float64(j)-0.5)/contour))
			er := cmplx.Exp(r)
			r3 := r * r * r
			q += (cmplx.Exp(r/2) - 1) / r
			f1 += (-4 - r + er*(4-3*r+r*r)) / r3
			f2 += (2 + r + er*(r-2)) / r3
			f3 += (-4 - 3*r - r*r + er*(4-r)) / r3
		}
		s.q[k] = dt * real(q) / contour
		s.f1[k] = dt * real(f1) / contour
		s.f2[k] = dt * real(f2) / contour
		s.f3[k] = dt * real(f3) / contour
		if k <= cut {
			// (u²/2)_x → i k (u²/2)^, with the 1/n of the inverse transform
			s.g[k] = complex(0, -0.5*kk/float64(n))
		}
	}
	return s, nil
}

// nonlinear sets dst = −((u²)/2)_x in Fourier space from v (Fourier).
func (s *Solver) nonlinear(dst, v []complex128) {
	if !s.Nonlinear {
		clear(dst)
		return
	}
	copy(s.w, v)
	s.fft.Sequence(s.u, s.w) // n·u
	for i, x := range s.u {
		s.u[i] = x * x / float64(s.N) // n·u²; g holds the remaining 1/n
	}
	s.fft.Coefficients(dst, s.u)
	for k := range dst {
		dst[k] *= s.g[k]
	}
}

// Solve integrates from u0 (n values on x_j = j/n) to time t, which must be
// a whole number of steps Dt, and returns u(t).
func (s *Solver) Solve(u0 []float64, t float64) ([]float64, error) {
	if len(u0) != s.N {
		return nil, fmt.Errorf("burgers: initial condition has %d points, solver %d", len(u0), s.N)
	}
	steps := math.Round(t / s.Dt)
	if t < 0 || math.Abs(steps*s.Dt-t) > 1e-9*math.Max(1, t) {
		return nil, fmt.Errorf("burgers: final time %v is not a non-negative multiple of the step %v", t, s.Dt)
	}
	m := s.N/2 + 1
	v := s.fft.Coefficients(nil, u0)
	nv, na, nb, nc := make([]complex128, m), make([]complex128, m), make([]complex128, m), make([]complex128, m)
	a, b, c := make([]complex128, m), make([]complex128, m), make([]complex128, m)
	for range int(steps) {
		s.nonlinear(nv, v)
		for k := range v {
			a[k] = complex(s.e2[k], 0)*v[k] + complex(s.q[k], 0)*nv[k]
		}
		s.nonlinear(na, a)
		for k := range v {
			b[k] = complex(s.e2[k], 0)*v[k] + complex(s.q[k], 0)*na[k]
		}
		s.nonlinear(nb, b)
		for k := range v {
			c[k] = complex(s.e2[k], 0)*a[k] + complex(s.q[k], 0)*(2*nb[k]-nv[k])
		}
		s.nonlinear(nc, c)
		for k := range v {
			v[k] = complex(s.e[k], 0)*v[k] + complex(s.f1[k], 0)*nv[k] + complex(2*s.f2[k], 0)*(na[k]+nb[k]) + complex(s.f3[k], 0)*nc[k]
		}
	}
	// the Nyquist mode of a real field must be real
	v[m-1] = complex(real(v[m-1]), 0)
	u := s.fft.Sequence(nil, v)
	for i := range u {
		u[i] /= float64(s.N)
	}
	for _, x := range u {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("burgers: solution blew up (time step %v too large?)", s.Dt)
		}
	}
	return u, nil
}

// GaussianField draws u0 ~ N(0, 625(−Δ + 25 I)^(−2)) on n points of the
// periodic unit interval: u0 = Σ_{k=1}^{n/2−1} σ_k √2 (a_k cos 2πkx +
// b_k sin 2πkx) with a_k, b_k standard normal and σ_k = 25/(4π²k² + 25),
// the Karhunen–Loève expansion in the orthonormal Fourier basis. As in
// FNO's GRF code the constant mode is set to 0 (mean-zero fields) and the
// Nyquist mode is dropped.
func GaussianField(n int, rng *rand.Rand) []float64 {
	m := n/2 + 1
	c := make([]complex128, m)
	for k := 1; k < m-1; k++ {
		sk := math.Sqrt(grfSigma*grfSigma) / (4*math.Pi*math.Pi*float64(k*k) + grfTau2)
		a, b := rng.NormFloat64(), rng.NormFloat64()
		// u_j = (1/n)·Σ ĉ_k e^{2πikj/n}: a cos + b sin ↔ ĉ_k = n(a − i b)/2
		c[k] = complex(sk*math.Sqrt2*float64(n)/2, 0) * complex(a, -b)
	}
	u := fourier.NewFFT(n).Sequence(nil, c)
	for i := range u {
		u[i] /= float64(n)
	}
	return u
}

// Sample draws sample index of a stream (0 train, 1 test) for seed and
// solves it: the initial condition u0 and the solution u(T), on Points
// points.
func Sample(seed int64, stream, index int) (u0, u1 []float64, err error) {
	rng := rand.New(rand.NewPCG(uint64(seed)^0xb0e6e75, uint64(stream)<<40|uint64(index)))
	u0 = GaussianField(Points, rng)
	s, err := NewSolver(Points, Nu, DefaultDt)
	if err != nil {
		return nil, nil, err
	}
	u1, err = s.Solve(u0, T)
	if err != nil {
		return nil, nil, fmt.Errorf("burgers: sample %d: %w", index, err)
	}
	return u0, u1, nil
}
