package burgers

import (
	"math"
	"math/rand/v2"
	"testing"
)

func maxAbsDiff(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

// With the nonlinearity off the equation is the heat equation, whose
// Fourier modes decay as exp(−ν(2πk)²t): ETDRK4 integrates that exactly.
func TestHeatModeDecay(t *testing.T) {
	const n = 64
	for _, k := range []int{1, 3, 10} {
		s, err := NewSolver(n, Nu, 1e-2)
		if err != nil {
			t.Fatal(err)
		}
		s.Nonlinear = false
		u0 := make([]float64, n)
		for j := range u0 {
			u0[j] = 0.3 + math.Sin(2*math.Pi*float64(k*j)/n)
		}
		u, err := s.Solve(u0, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		decay := math.Exp(-Nu * 4 * math.Pi * math.Pi * float64(k*k) * 0.5)
		want := make([]float64, n)
		for j := range want {
			want[j] = 0.3 + decay*math.Sin(2*math.Pi*float64(k*j)/n)
		}
		if d := maxAbsDiff(u, want); d > 1e-12 {
			t.Errorf("mode %d: max error %g against the exact decay %g", k, d, decay)
		}
	}
}

// Cole–Hopf: u = −2ν φ_x/φ with φ = a + b e^{−4π²νt} cos 2πx solving the
// heat equation is an exact periodic solution of viscous Burgers.
func coleHopf(n int, nu, t float64) []float64 {
	const a, b = 1.0, 0.9
	e := math.Exp(-4 * math.Pi * math.Pi * nu * t)
	u := make([]float64, n)
	for j := range u {
		x := float64(j) / float64(n)
		u[j] = 2 * nu * b * e * 2 * math.Pi * math.Sin(2*math.Pi*x) / (a + b*e*math.Cos(2*math.Pi*x))
	}
	return u
}

func TestColeHopfExact(t *testing.T) {
	tests := []struct {
		n         int
		nu, dt, t float64
		tol       float64
	}{
		{256, Nu, DefaultDt, 0.1, 1e-7},
		{Points, Nu, DefaultDt, T, 1e-7},
		{512, 0.02, DefaultDt, 0.5, 1e-7}, // a sharper front
	}
	for _, tc := range tests {
		s, err := NewSolver(tc.n, tc.nu, tc.dt)
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.Solve(coleHopf(tc.n, tc.nu, 0), tc.t)
		if err != nil {
			t.Fatal(err)
		}
		want := coleHopf(tc.n, tc.nu, tc.t)
		d := maxAbsDiff(u, want) / maxAbsDiff(want, make([]float64, tc.n))
		t.Logf("n %d ν %v dt %v: max error %.3g of max |u| %.3g", tc.n, tc.nu, tc.dt, d, maxAbsDiff(want, make([]float64, tc.n)))
		if d > tc.tol {
			t.Errorf("n %d ν %v: max error %g of max |u| against Cole–Hopf, want ≤ %g", tc.n, tc.nu, d, tc.tol)
		}
	}
}

// The mean of u (mass) is conserved and the energy ∫u² decays; the default
// step is within float32 resolution (1e-7 of max |u|) of one 4 times
// smaller.
func TestConservationAndStep(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	u0 := GaussianField(Points, rng)
	for i := range u0 {
		u0[i] += 0.7
	}
	mean := func(u []float64) (m, e float64) {
		for _, x := range u {
			m += x
			e += x * x
		}
		return m / float64(len(u)), e / float64(len(u))
	}
	m0, e0 := mean(u0)
	s, _ := NewSolver(Points, Nu, DefaultDt)
	u1, err := s.Solve(u0, T)
	if err != nil {
		t.Fatal(err)
	}
	m1, e1 := mean(u1)
	if math.Abs(m1-m0) > 1e-13 {
		t.Errorf("mass %v → %v", m0, m1)
	}
	if !(e1 < e0) || e1 < m1*m1 {
		t.Errorf("energy %v → %v (mean² %v)", e0, e1, m1*m1)
	}
	h, _ := NewSolver(Points, Nu, DefaultDt/4)
	u2, err := h.Solve(u0, T)
	if err != nil {
		t.Fatal(err)
	}
	mx := maxAbsDiff(u2, make([]float64, Points))
	if d := maxAbsDiff(u1, u2); d > 1e-7*mx {
		t.Errorf("u(1) with step %g differs by %g from step %g (max |u| %g)", DefaultDt, d, DefaultDt/4, mx)
	}
	// the nonlinearity matters: the heat solution differs
	s.Nonlinear = false
	uh, _ := s.Solve(u0, T)
	if d := maxAbsDiff(u1, uh); d < 1e-3 {
		t.Errorf("Burgers and heat solutions differ by only %g", d)
	}
}

// The field has the covariance it claims: Var u0(x) = Σ_k 2σ_k²·½·2 … per
// point, Σ_{k≥1} 2σ_k² (cos² + sin² average to one each over the basis).
func TestGaussianFieldVariance(t *testing.T) {
	const n, draws = 128, 4000
	rng := rand.New(rand.NewPCG(3, 4))
	want := 0.0
	for k := 1; k < n/2; k++ {
		sk := 25 / (4*math.Pi*math.Pi*float64(k*k) + 25)
		want += 2 * sk * sk
	}
	var sum, ss float64
	for range draws {
		u := GaussianField(n, rng)
		m := 0.0
		for _, x := range u {
			m += x
		}
		if math.Abs(m/n) > 1e-12 {
			t.Fatalf("field mean %g, want 0", m/n)
		}
		sum += u[17]
		ss += u[17] * u[17]
	}
	v := ss/draws - (sum/draws)*(sum/draws)
	// the sample variance of 4000 normals has a relative sd of √(2/4000) ≈ 2.2%
	if math.Abs(v-want)/want > 0.1 {
		t.Errorf("pointwise variance %v, want %v", v, want)
	}
}

func TestBadSolver(t *testing.T) {
	for _, c := range []struct {
		n      int
		nu, dt float64
	}{{3, 0.1, 1e-3}, {0, 0.1, 1e-3}, {16, -1, 1e-3}, {16, 0.1, 0}, {16, math.NaN(), 1e-3}} {
		if _, err := NewSolver(c.n, c.nu, c.dt); err == nil {
			t.Errorf("NewSolver(%d, %v, %v) accepted", c.n, c.nu, c.dt)
		}
	}
	s, _ := NewSolver(16, 0.1, 0.1)
	if _, err := s.Solve(make([]float64, 8), 1); err == nil {
		t.Error("wrong-length u0 accepted")
	}
	if _, err := s.Solve(make([]float64, 16), 0.25); err == nil {
		t.Error("final time off the step grid accepted")
	}
}

func BenchmarkSample(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		if _, _, err := Sample(0, 0, i); err != nil {
			b.Fatal(err)
		}
	}
}
