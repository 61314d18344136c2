// Package darcy generates the Darcy-flow data set of the Fourier Neural
// Operator paper, as used by NAS-Bench-360 and DASH:
//
//	−∇·(a∇u) = 1 on (0,1)², u = 0 on the boundary,
//
// where a is a piecewise-constant coefficient (12 or 3) obtained by
// thresholding a Gaussian random field g ~ N(0, (−Δ+9I)^(−2)) at zero.
//
// The recipe (see ../shared/reference/datasets.md) is followed exactly: the
// field is sampled in the cosine basis, the PDE is discretised with the
// second-order 5-point finite-difference scheme on an s×s grid with face
// coefficients equal to the mean of the two neighbouring nodes, scaled by
// (s−1)², and the linear system is solved to a relative residual of 1e-8.
// The solver is a conjugate-gradient method preconditioned by a geometric
// multigrid V-cycle, so a 421×421 solve takes a fraction of a second.
package darcy

import (
	"math"
	"math/rand/v2"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// Field parameters of the recipe: g ~ N(0, τ^(2α−2)(−Δ+τ²I)^(−α)) with
// α = 2 and τ = 3, thresholded to aPos where g ≥ 0 and aNeg elsewhere.
const (
	tau  = 3.0
	alph = 2.0
	// APos is the coefficient value where the random field is non-negative.
	APos = 12.0
	// ANeg is the coefficient value where the random field is negative.
	ANeg = 3.0
)

var (
	cosMu    sync.Mutex
	cosCache = map[int][]float64{}
)

// cosineMatrix returns the s×s orthonormal DCT-II matrix C (row k, column n):
// C[k][n] = w_k cos(π(2n+1)k/(2s)), w_0 = √(1/s), w_k = √(2/s).
// The inverse orthonormal 2-D DCT of L is Cᵀ L C.
func cosineMatrix(s int) []float64 {
	cosMu.Lock()
	defer cosMu.Unlock()
	if c, ok := cosCache[s]; ok {
		return c
	}
	c := make([]float64, s*s)
	for k := 0; k < s; k++ {
		w := math.Sqrt(2 / float64(s))
		if k == 0 {
			w = math.Sqrt(1 / float64(s))
		}
		for n := 0; n < s; n++ {
			c[k*s+n] = w * math.Cos(math.Pi*float64((2*n+1)*k)/float64(2*s))
		}
	}
	cosCache[s] = c
	return c
}

// GaussianField samples g ~ N(0, (−Δ+9I)^(−2)) (Neumann Laplacian) on an s×s
// grid, row-major, exactly as the recipe: coef(k1,k2) = 3·(π²(k1²+k2²)+9)^(−1),
// L = s·coef·ξ with ξ standard normal, L(0,0) = 0, g = orthonormal inverse 2-D
// DCT of L.
func GaussianField(s int, rng *rand.Rand) []float64 {
	l := make([]float64, s*s)
	for k1 := 0; k1 < s; k1++ {
		for k2 := 0; k2 < s; k2++ {
			// τ^(α−1)·(π²(k1²+k2²)+τ²)^(−α/2)
			coef := math.Pow(tau, alph-1) * math.Pow(math.Pi*math.Pi*float64(k1*k1+k2*k2)+tau*tau, -alph/2)
			l[k1*s+k2] = float64(s) * coef * rng.NormFloat64()
		}
	}
	l[0] = 0
	c := cosineMatrix(s)
	cm := blas64.General{Rows: s, Cols: s, Stride: s, Data: c}
	lm := blas64.General{Rows: s, Cols: s, Stride: s, Data: l}
	tmp := blas64.General{Rows: s, Cols: s, Stride: s, Data: make([]float64, s*s)}
	g := blas64.General{Rows: s, Cols: s, Stride: s, Data: make([]float64, s*s)}
	// tmp = Cᵀ L ; g = tmp C
	blas64.Gemm(blas.Trans, blas.NoTrans, 1, cm, lm, 0, tmp)
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, tmp, cm, 0, g)
	return g.Data
}

// Threshold maps a field to the piecewise-constant coefficient of the recipe:
// APos where g ≥ 0 and ANeg where g < 0.
func Threshold(g []float64) []float64 {
	a := make([]float64, len(g))
	for i, v := range g {
		if v >= 0 {
			a[i] = APos
		} else {
			a[i] = ANeg
		}
	}
	return a
}
