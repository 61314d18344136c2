package darcy

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"
)

func TestCosineMatrixOrthonormal(t *testing.T) {
	for _, s := range []int{5, 17, 85} {
		c := cosineMatrix(s)
		for i := 0; i < s; i++ {
			for j := 0; j < s; j++ {
				d := 0.0
				for k := 0; k < s; k++ {
					d += c[i*s+k] * c[j*s+k]
				}
				want := 0.0
				if i == j {
					want = 1
				}
				if math.Abs(d-want) > 1e-12 {
					t.Fatalf("s=%d: (C Cᵀ)[%d][%d] = %g, want %g", s, i, j, d, want)
				}
			}
		}
	}
}

func TestResidualBothResolutions(t *testing.T) {
	tests := []struct {
		name string
		r    Resolution
		idx  []int
	}{
		{"direct85", Direct85, []int{0, 1, 2, 3}},
		{"r421", Resolution421, []int{0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, i := range tc.idx {
				t0 := time.Now()
				a, u, info, err := Sample(tc.r, 7, Train, i)
				if err != nil {
					t.Fatal(err)
				}
				s := tc.r.SolveSize()
				f := make([]float64, s*s)
				for k := range f {
					f[k] = 1
				}
				res := Residual(a, f, u, s)
				t.Logf("%s sample %d: %d CG iterations, %d levels, residual %.3g, %v", tc.name, i, info.Iterations, info.Levels, res, time.Since(t0))
				if res > 1e-8 {
					t.Errorf("relative residual %g > 1e-8", res)
				}
				if info.Iterations > 30 {
					t.Errorf("%d CG iterations: preconditioner is not working", info.Iterations)
				}
				for k := 0; k < s; k++ {
					if u[k] != 0 || u[(s-1)*s+k] != 0 || u[k*s] != 0 || u[k*s+s-1] != 0 {
						t.Fatal("boundary values are not zero")
					}
				}
				// −∇·(a∇u) = 1 > 0 with zero boundary: u > 0 inside (maximum principle).
				if u[(s/2)*s+s/2] <= 0 {
					t.Errorf("u at the centre = %g, want > 0", u[(s/2)*s+s/2])
				}
			}
		})
	}
}

// manufactured solution u* = sin(πx)sin(πy) with a = 1 + x² + y.
func manufactured(s int) (a, f, uex []float64) {
	a = make([]float64, s*s)
	f = make([]float64, s*s)
	uex = make([]float64, s*s)
	h := 1 / float64(s-1)
	pi := math.Pi
	for i := 0; i < s; i++ {
		y := float64(i) * h
		for j := 0; j < s; j++ {
			x := float64(j) * h
			p := i*s + j
			av := 1 + x*x + y
			a[p] = av
			ux := pi * math.Cos(pi*x) * math.Sin(pi*y)
			uy := pi * math.Sin(pi*x) * math.Cos(pi*y)
			uu := math.Sin(pi*x) * math.Sin(pi*y)
			uex[p] = uu
			// −(a_x u_x + a_y u_y + a Δu), Δu = −2π² u
			f[p] = -(2*x*ux + 1*uy) + 2*pi*pi*av*uu
		}
	}
	return
}

func TestSecondOrderConvergence(t *testing.T) {
	// Powers of two coarsen by 2 only; the second series (30, 60, 120
	// intervals) exercises the factor-3 and factor-5 levels used at 421².
	for _, sizes := range [][]int{{33, 65, 129, 257}, {31, 61, 121}} {
		var errs []float64
		for _, s := range sizes {
			a, f, uex := manufactured(s)
			u, info, err := Solve(a, f, s, 1e-10)
			if err != nil {
				t.Fatal(err)
			}
			e := 0.0
			for k := range u {
				e = math.Max(e, math.Abs(u[k]-uex[k]))
			}
			errs = append(errs, e)
			t.Logf("s=%d h=1/%d: max error %.4g (%d iterations, %d levels)", s, s-1, e, info.Iterations, info.Levels)
		}
		for k := 1; k < len(errs); k++ {
			ratio := errs[k-1] / errs[k]
			t.Logf("error ratio h=1/%d → 1/%d: %.3f", sizes[k-1]-1, sizes[k]-1, ratio)
			if ratio < 3.5 || ratio > 4.5 {
				t.Errorf("error ratio %.3f not ≈ 4 (second order)", ratio)
			}
		}
	}
}

// TestPreconditionerSymmetric checks ⟨r₂, B r₁⟩ = ⟨r₁, B r₂⟩ and ⟨r, B r⟩ > 0
// for the V-cycle (CG needs a symmetric positive-definite preconditioner),
// on hierarchies with factor-2, 3 and 5 levels.
func TestPreconditionerSymmetric(t *testing.T) {
	for _, s := range []int{33, 85, 121, 151} {
		a := Threshold(GaussianField(s, rand.New(rand.NewPCG(3, uint64(s)))))
		h, err := newHierarchy(a, s)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(4, 4))
		vec := func() []float64 {
			v := make([]float64, s*s)
			for i := range v {
				v[i] = rng.NormFloat64()
			}
			h.levels[0].clearBoundary(v)
			return v
		}
		r1, r2 := vec(), vec()
		z1, z2 := make([]float64, s*s), make([]float64, s*s)
		h.precondition(r1, z1)
		h.precondition(r2, z2)
		a12, a21 := dot(r2, z1), dot(r1, z2)
		if math.Abs(a12-a21) > 1e-9*math.Abs(a12) {
			t.Errorf("s=%d (%d levels): ⟨r2,Br1⟩ = %.12g, ⟨r1,Br2⟩ = %.12g", s, len(h.levels), a12, a21)
		}
		if dot(r1, z1) <= 0 {
			t.Errorf("s=%d: ⟨r,Br⟩ ≤ 0", s)
		}
	}
}

func TestCoefficientFieldStatistics(t *testing.T) {
	// The share of 12 over many samples is ≈ ½ (g is symmetric around 0), and
	// the field is smooth: neighbouring nodes rarely fall on different sides.
	const samples = 40
	tests := []int{85, 141}
	for _, s := range tests {
		var pos, total, jumps, pairs float64
		var corr, variance float64
		for i := 0; i < samples; i++ {
			rng := rand.New(rand.NewPCG(11, uint64(i)))
			g := GaussianField(s, rng)
			a := Threshold(g)
			for p, v := range a {
				if v == APos {
					pos++
				} else if v != ANeg {
					t.Fatalf("coefficient value %g not in {3, 12}", v)
				}
				total++
				if (p+1)%s != 0 {
					pairs++
					if a[p] != a[p+1] {
						jumps++
					}
					corr += g[p] * g[p+1]
					variance += g[p] * g[p]
				}
			}
		}
		share := pos / total
		jumpRate := jumps / pairs
		rho := corr / variance
		t.Logf("s=%d: share of 12 = %.3f, neighbour jump rate = %.4f, neighbour correlation of g = %.4f", s, share, jumpRate, rho)
		if share < 0.4 || share > 0.6 {
			t.Errorf("share of 12 = %.3f, want ≈ 0.5", share)
		}
		if jumpRate > 0.05 {
			t.Errorf("neighbour jump rate %.4f: field is not smooth", jumpRate)
		}
		if rho < 0.98 {
			t.Errorf("neighbour correlation %.4f: field is not smooth", rho)
		}
	}
	// The zero mode is removed: each field has mean ≈ 0 exactly.
	g := GaussianField(85, rand.New(rand.NewPCG(1, 1)))
	m := 0.0
	for _, v := range g {
		m += v
	}
	if math.Abs(m/float64(len(g))) > 1e-12 {
		t.Errorf("field mean %g, want 0 (L(0,0) = 0)", m/float64(len(g)))
	}
}

func TestCacheReuse(t *testing.T) {
	dir := t.TempDir()
	o := Options{Resolution: Direct85, NTrain: 6, NTest: 2, Seed: 3, CacheDir: dir, Workers: 2}
	before := SamplesSolved()
	r1, err := Generate(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := SamplesSolved() - before; got != 8 {
		t.Fatalf("first call solved %d samples, want 8", got)
	}
	if r1.FromCache {
		t.Fatal("first call reported FromCache")
	}
	if r1.MaxResidual > 1e-8 || r1.MaxResidual == 0 {
		t.Fatalf("max residual %g", r1.MaxResidual)
	}
	for _, p := range r1.Paths {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("cache file: %v", err)
		}
	}
	before = SamplesSolved()
	r2, err := Generate(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := SamplesSolved() - before; got != 0 {
		t.Fatalf("second call solved %d samples, want 0 (cache reuse)", got)
	}
	if !r2.FromCache {
		t.Fatal("second call not from cache")
	}
	for k := range r1.Train.U {
		if r1.Train.U[k] != r2.Train.U[k] || r1.Train.A[k] != r2.Train.A[k] {
			t.Fatalf("cached train data differs at %d", k)
		}
	}
	for k := range r1.Test.U {
		if r1.Test.U[k] != r2.Test.U[k] {
			t.Fatalf("cached test data differs at %d", k)
		}
	}
	// Train and test streams are different samples.
	same := true
	for k := 0; k < OutSize*OutSize; k++ {
		if r1.Train.A[k] != r1.Test.A[k] {
			same = false
			break
		}
	}
	if same {
		t.Fatal("first train and test samples are identical")
	}
	// A smaller set is the prefix of a cached larger one: no solves.
	before = SamplesSolved()
	small, err := Generate(context.Background(), Options{Resolution: Direct85, NTrain: 4, NTest: 1, Seed: 3, CacheDir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := SamplesSolved() - before; got != 0 || !small.FromCache {
		t.Fatalf("prefix of cached set: solved %d samples, FromCache %v", got, small.FromCache)
	}
	if small.Train.N != 4 || !slices.Equal(small.Train.U, r1.Train.U[:4*OutSize*OutSize]) || !slices.Equal(small.Test.A, r1.Test.A[:OutSize*OutSize]) {
		t.Fatal("smaller set is not the prefix of the cached one")
	}
	// A corrupt cache file is regenerated, not fatal.
	if err := os.WriteFile(r1.Paths[1], []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	before = SamplesSolved()
	if _, err := Generate(context.Background(), o, nil); err != nil {
		t.Fatal(err)
	}
	if got := SamplesSolved() - before; got != 2 {
		t.Fatalf("corrupt test cache: solved %d samples, want 2", got)
	}
}

func TestGenerateCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Generate(ctx, Options{Resolution: Direct85, NTrain: 50, NTest: 1, NoCache: true}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestDeterministicSamples(t *testing.T) {
	a1, u1, _, err := Sample(Direct85, 5, Test, 3)
	if err != nil {
		t.Fatal(err)
	}
	a2, u2, _, err := Sample(Direct85, 5, Test, 3)
	if err != nil {
		t.Fatal(err)
	}
	for k := range a1 {
		if a1[k] != a2[k] || u1[k] != u2[k] {
			t.Fatal("same seed and index gave different samples")
		}
	}
}

// BenchmarkSample421 measures one faithful 421×421 sample (field + solve);
// cpu-s/op is the process CPU time per sample, which is what matters when
// samples are solved in parallel on every core (and is robust to other load
// on the machine).
func BenchmarkSample421(b *testing.B) { benchSample(b, Resolution421) }

// BenchmarkSample85 measures one Direct85 sample.
func BenchmarkSample85(b *testing.B) { benchSample(b, Direct85) }

func benchSample(b *testing.B, r Resolution) {
	c0 := processCPU()
	i := 0
	for b.Loop() {
		if _, _, _, err := Sample(r, 1, Train, i); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric((processCPU()-c0).Seconds()/float64(i), "cpu-s/op")
}

func TestUnwritableCacheStillGenerates(t *testing.T) {
	file := t.TempDir() + "/not-a-dir"
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Generate(context.Background(), Options{Resolution: Direct85, NTrain: 2, NTest: 1, CacheDir: file}, nil)
	if err != nil {
		t.Fatalf("unwritable cache should only warn: %v", err)
	}
	if r.Train.N != 2 || r.Test.N != 1 || r.FromCache {
		t.Fatalf("result %+v", r)
	}
}

// TestTorsionCentre checks a known physical value: for a ≡ 1 and f = 1 the
// solution at the centre of the unit square is 0.0736713… (the torsion
// function of the square).
func TestTorsionCentre(t *testing.T) {
	s := 129
	a := make([]float64, s*s)
	f := make([]float64, s*s)
	for i := range a {
		a[i], f[i] = 1, 1
	}
	u, _, err := Solve(a, f, s, DefaultTol)
	if err != nil {
		t.Fatal(err)
	}
	c := u[(s/2)*s+s/2]
	if math.Abs(c-0.0736713)/0.0736713 > 2e-4 {
		t.Fatalf("u(½,½) = %.7f, want 0.0736713", c)
	}
}
