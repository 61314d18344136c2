package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"testing"
)

// naiveGemm is the float64 reference for gemm: a plain triple loop.
func naiveGemm(ta, tb bool, batch, m, n, k int, alpha float32, a []float32, aOff, sa int, b []float32, bOff, sb int, beta float32, c []float32, cOff, sc int) []float64 {
	out := make([]float64, len(c))
	for i, v := range c {
		out[i] = float64(v)
	}
	for bi := 0; bi < batch; bi++ {
		ao, bo, co := aOff+bi*sa, bOff+bi*sb, cOff+bi*sc
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				var s float64
				for p := 0; p < k; p++ {
					var av, bv float32
					if ta {
						av = a[ao+p*m+i]
					} else {
						av = a[ao+i*k+p]
					}
					if tb {
						bv = b[bo+j*k+p]
					} else {
						bv = b[bo+p*n+j]
					}
					s += float64(av) * float64(bv)
				}
				r := float64(alpha) * s
				if beta != 0 {
					r += float64(beta) * float64(c[co+i*n+j])
				}
				out[co+i*n+j] = r
			}
		}
	}
	return out
}

func sgemmRand(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

type gemmCase struct {
	ta, tb      bool
	batch       int
	m, n, k     int
	alpha, beta float32
	sa, sb, sc  int // batch strides; -1 means "dense" (the matrix size)
	aOff        int
	bOff        int
	cOff        int
}

func (tc gemmCase) String() string {
	return fmt.Sprintf("ta=%v,tb=%v,b=%d,%dx%dx%d,a=%g,b=%g,s=%d/%d/%d,off=%d/%d/%d",
		tc.ta, tc.tb, tc.batch, tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.sa, tc.sb, tc.sc, tc.aOff, tc.bOff, tc.cOff)
}

// checkGemm runs one case with kernel kn and compares with naiveGemm.
func checkGemm(t *testing.T, kn *sgemmKernel, tc gemmCase, threads int) {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(tc.m*131+tc.n*17+tc.k), uint64(tc.batch)))
	sa, sb, sc := tc.sa, tc.sb, tc.sc
	if sa < 0 {
		sa = tc.m * tc.k
	}
	if sb < 0 {
		sb = tc.k * tc.n
	}
	if sc < 0 {
		sc = tc.m * tc.n
	}
	na := tc.aOff + (tc.batch-1)*sa + tc.m*tc.k + 3
	nb := tc.bOff + (tc.batch-1)*sb + tc.k*tc.n + 5
	nc := tc.cOff + (tc.batch-1)*sc + tc.m*tc.n + 7
	a, b := sgemmRand(r, na), sgemmRand(r, nb)
	c := sgemmRand(r, nc)
	if tc.beta == 0 {
		for i := range c {
			c[i] = float32(math.NaN())
		}
	}
	// Elements outside the C matrices must not change.
	inside := make([]bool, nc)
	for bi := 0; bi < tc.batch; bi++ {
		for i := 0; i < tc.m*tc.n; i++ {
			inside[tc.cOff+bi*sc+i] = true
		}
	}
	want := naiveGemm(tc.ta, tc.tb, tc.batch, tc.m, tc.n, tc.k, tc.alpha, a, tc.aOff, sa, b, tc.bOff, sb, tc.beta, c, tc.cOff, sc)
	got := append([]float32(nil), c...)
	gemmBatch(kn, tc.ta, tc.tb, tc.batch, tc.m, tc.n, tc.k, tc.alpha, a, tc.aOff, sa, b, tc.bOff, sb, tc.beta, got, tc.cOff, sc, threads)
	tol := 1e-5 * math.Sqrt(float64(tc.k)+1) * 4
	bad := 0
	for i := range got {
		g, w := float64(got[i]), want[i]
		if !inside[i] {
			if math.Float32bits(got[i]) != math.Float32bits(c[i]) {
				t.Fatalf("%s: %v: element %d outside C changed: %v -> %v", kn.name, tc, i, c[i], got[i])
			}
			continue
		}
		scale := math.Max(1, math.Abs(w))
		if math.IsNaN(g) || math.Abs(g-w) > tol*scale*math.Max(1, math.Abs(float64(tc.alpha))+math.Abs(float64(tc.beta))) {
			if bad++; bad <= 3 {
				t.Errorf("%s threads=%d %v: c[%d] = %v, want %v", kn.name, threads, tc, i, g, w)
			}
		}
	}
	if bad > 3 {
		t.Errorf("%s %v: %d mismatches", kn.name, tc, bad)
	}
}

func gemmCases() []gemmCase {
	var cases []gemmCase
	shapes := [][3]int{
		{1, 1, 1}, {1, 1, 7}, {2, 3, 4}, {7, 13, 17}, {1, 33, 5}, {33, 1, 5},
		{4, 4, 4}, {5, 17, 3}, {6, 16, 8}, {8, 48, 9}, {12, 32, 31}, {13, 49, 257},
		{7, 15, 256}, {9, 97, 513}, {47, 65, 255}, {150, 100, 300},
		{64, 200, 70}, {300, 500, 257}, {145, 1600, 40}, {1, 3100, 3},
		{8, 6000, 16}, {6000, 8, 16}, // several dynamically scheduled chunks
	}
	params := [][2]float32{{1, 0}, {2.5, 0}, {1, 1}, {-0.5, 0.75}, {0, 0.5}, {0, 0}}
	for si, s := range shapes {
		for tr := 0; tr < 4; tr++ {
			p := params[(si+tr)%len(params)]
			cases = append(cases, gemmCase{
				ta: tr&1 != 0, tb: tr&2 != 0, batch: 1,
				m: s[0], n: s[1], k: s[2], alpha: p[0], beta: p[1],
				sa: -1, sb: -1, sc: -1,
			})
		}
	}
	// Every alpha/beta pair on one awkward shape.
	for _, p := range params {
		cases = append(cases, gemmCase{batch: 1, m: 19, n: 53, k: 37, alpha: p[0], beta: p[1], sa: -1, sb: -1, sc: -1})
	}
	// K = 0, and zero-size outputs.
	cases = append(cases,
		gemmCase{batch: 1, m: 5, n: 6, k: 0, alpha: 1, beta: 0, sa: -1, sb: -1, sc: -1},
		gemmCase{batch: 1, m: 5, n: 6, k: 0, alpha: 1, beta: 3, sa: -1, sb: -1, sc: -1},
		gemmCase{batch: 2, m: 0, n: 6, k: 3, alpha: 1, beta: 0, sa: -1, sb: -1, sc: -1},
	)
	// Batches with shared (stride 0) and dense operands, and offsets.
	for _, tr := range []int{0, 1, 2, 3} {
		ta, tb := tr&1 != 0, tr&2 != 0
		cases = append(cases,
			gemmCase{ta: ta, tb: tb, batch: 3, m: 11, n: 21, k: 9, alpha: 1, beta: 0, sa: 0, sb: -1, sc: -1, aOff: 3, bOff: 5, cOff: 2},
			gemmCase{ta: ta, tb: tb, batch: 4, m: 11, n: 21, k: 9, alpha: 1.5, beta: 1, sa: -1, sb: 0, sc: -1, aOff: 1},
			gemmCase{ta: ta, tb: tb, batch: 5, m: 20, n: 37, k: 70, alpha: 1, beta: 0.5, sa: 2000, sb: 3000, sc: 1000, cOff: 9},
			gemmCase{ta: ta, tb: tb, batch: 3, m: 70, n: 90, k: 80, alpha: 1, beta: 0, sa: -1, sb: 0, sc: -1, bOff: 4},
		)
	}
	return cases
}

func TestGemmKernels(t *testing.T) {
	for _, kn := range supportedKernels() {
		t.Run(kn.name, func(t *testing.T) {
			for _, tc := range gemmCases() {
				for _, th := range []int{1, 2, 3} {
					checkGemm(t, kn, tc, th)
				}
			}
		})
	}
}

// TestGemmBlocking forces tiny cache blocks so that every blocking loop
// (several kc, mc and nc blocks and their edges) runs on small shapes.
func TestGemmBlocking(t *testing.T) {
	for _, base := range supportedKernels() {
		for _, inL1 := range []bool{false, true} {
			kn := &sgemmKernel{name: fmt.Sprintf("%s-tiny-aInL1=%v", base.name, inL1), mr: base.mr, nr: base.nr,
				kc: 10, mc: 2 * base.mr, nc: 3*base.nr - 1, aInL1: inL1, fn: base.fn, tr: base.tr}
			testBlocking(t, kn)
		}
	}
}

func testBlocking(t *testing.T, kn *sgemmKernel) {
	t.Run(kn.name, func(t *testing.T) {
		for _, s := range [][3]int{{3 * kn.mr, 4 * kn.nr, 16}, {2*kn.mr + 1, 7*kn.nr - 1, 11}, {kn.mr + 3, kn.nr + 5, 23}, {20, 20, 31}} {
			for tr := 0; tr < 4; tr++ {
				for _, beta := range []float32{0, 0.5} {
					tc := gemmCase{ta: tr&1 != 0, tb: tr&2 != 0, batch: 1, m: s[0], n: s[1], k: s[2],
						alpha: 1.25, beta: beta, sa: -1, sb: -1, sc: -1}
					checkGemm(t, kn, tc, 1)
					checkGemm(t, kn, tc, 2)
				}
			}
		}
	})
}

// TestGemmDefault checks the gemm entry point with the selected kernel.
func TestGemmDefault(t *testing.T) {
	t.Logf("kernel %s", bestKernel.name)
	m, n, k := 33, 70, 45
	r := rand.New(rand.NewPCG(1, 2))
	a, b := sgemmRand(r, m*k), sgemmRand(r, k*n)
	c := make([]float32, m*n)
	for i := range c {
		c[i] = float32(math.NaN())
	}
	want := naiveGemm(false, true, 1, m, n, k, 1, a, 0, 0, b, 0, 0, 0, c, 0, 0)
	gemm(false, true, 1, m, n, k, 1, a, 0, 0, b, 0, 0, 0, c, 0, 0, 2)
	for i := range c {
		if math.Abs(float64(c[i])-want[i]) > 1e-4*math.Max(1, math.Abs(want[i])) {
			t.Fatalf("c[%d] = %v, want %v", i, c[i], want[i])
		}
	}
}

// TestGemmNoAlloc checks that steady-state calls do not allocate.
func TestGemmNoAlloc(t *testing.T) {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				t.Skip("sync.Pool drops items at random under the race detector")
			}
		}
	}
	m, n, k := 64, 96, 80
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	f := func() { gemm(false, false, 1, m, n, k, 1, a, 0, 0, b, 0, 0, 0, c, 0, 0, 1) }
	f()
	if got := testing.AllocsPerRun(20, f); got > 0 {
		t.Errorf("gemm allocated %v times per call", got)
	}
}
