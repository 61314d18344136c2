package darcy

import (
	"errors"
	"fmt"
	"math"
)

// SolveInfo reports how a linear solve went.
type SolveInfo struct {
	Iterations  int     // preconditioned CG iterations
	RelResidual float64 // ‖f − A u‖₂ / ‖f‖₂ over the interior nodes, recomputed at the end
	Levels      int     // multigrid levels used by the preconditioner
}

// DefaultTol is the relative residual the recipe asks for.
const DefaultTol = 1e-8

// maxIter bounds the CG iterations; with the multigrid preconditioner a
// solve takes about ten.
const maxIter = 500

// level is one grid of the multigrid hierarchy: (n+1)×(n+1) nodes, n
// intervals, h = 1/n, Dirichlet-zero boundary nodes kept in the arrays so
// that stencils need no bounds checks.
type level struct {
	n       int
	ke, kn  []float64 // unscaled face coefficients: east face (i,j)-(i,j+1), north face (i,j)-(i+1,j)
	ce, cn  []float64 // scaled face coefficients (κ·n²)
	diag    []float64
	u, f, r []float64
	chol    *bandChol // exact solver on the coarsest level
	factor  int       // coarsening factor from the next finer level
	sweeps  int       // Gauss–Seidel sweeps before and after the coarse correction
}

func newLevel(n int, ke, kn []float64) *level {
	m := (n + 1) * (n + 1)
	l := &level{n: n, ke: ke, kn: kn,
		ce: make([]float64, m), cn: make([]float64, m), diag: make([]float64, m),
		u: make([]float64, m), f: make([]float64, m), r: make([]float64, m)}
	s := float64(n) * float64(n)
	for i := range ke {
		l.ce[i] = ke[i] * s
		l.cn[i] = kn[i] * s
	}
	w := n + 1
	for i := 1; i < n; i++ {
		for j := 1; j < n; j++ {
			p := i*w + j
			l.diag[p] = l.ce[p] + l.ce[p-1] + l.cn[p] + l.cn[p-w]
		}
	}
	return l
}

// apply computes y = A x on the interior nodes (boundary entries of y are 0).
func (l *level) apply(x, y []float64) {
	n, w := l.n, l.n+1
	ce, cn, d := l.ce, l.cn, l.diag
	for i := 1; i < n; i++ {
		row := i * w
		for j := 1; j < n; j++ {
			p := row + j
			y[p] = d[p]*x[p] - ce[p]*x[p+1] - ce[p-1]*x[p-1] - cn[p]*x[p+w] - cn[p-w]*x[p-w]
		}
	}
}

// gsForward and gsBackward are lexicographic Gauss–Seidel sweeps in opposite
// orders; used as pre- and post-smoother they keep the V-cycle symmetric.
func (l *level) gsForward() {
	n, w := l.n, l.n+1
	ce, cn, d, u, f := l.ce, l.cn, l.diag, l.u, l.f
	for i := 1; i < n; i++ {
		row := i * w
		for j := 1; j < n; j++ {
			p := row + j
			u[p] = (f[p] + ce[p]*u[p+1] + ce[p-1]*u[p-1] + cn[p]*u[p+w] + cn[p-w]*u[p-w]) / d[p]
		}
	}
}

func (l *level) gsBackward() {
	n, w := l.n, l.n+1
	ce, cn, d, u, f := l.ce, l.cn, l.diag, l.u, l.f
	for i := n - 1; i >= 1; i-- {
		row := i * w
		for j := n - 1; j >= 1; j-- {
			p := row + j
			u[p] = (f[p] + ce[p]*u[p+1] + ce[p-1]*u[p-1] + cn[p]*u[p+w] + cn[p-w]*u[p-w]) / d[p]
		}
	}
}

func harm(a, b float64) float64 { return 2 * a * b / (a + b) }

// coarsen builds the next coarser level with n/k intervals (k divides n).
// Coarse face coefficients are operator-dependent: the k fine faces a coarse
// face spans are combined in series (harmonic mean), and the 2k−1 fine rows
// it covers are averaged with hat weights (k−|d|)/k².
func (l *level) coarsen(k int) *level {
	nc := l.n / k
	wf, wc := l.n+1, nc+1
	ke := make([]float64, wc*wc)
	kn := make([]float64, wc*wc)
	fk := float64(k)
	for I := 1; I < nc; I++ {
		for J := 0; J < nc; J++ {
			v := 0.0
			for d := -(k - 1); d < k; d++ {
				q := (k*I+d)*wf + k*J
				inv := 0.0
				for t := 0; t < k; t++ {
					inv += 1 / l.ke[q+t]
				}
				v += (fk - math.Abs(float64(d))) / (fk * fk) * fk / inv
			}
			ke[I*wc+J] = v
		}
	}
	for I := 0; I < nc; I++ {
		for J := 1; J < nc; J++ {
			v := 0.0
			for d := -(k - 1); d < k; d++ {
				q := k*I*wf + k*J + d
				inv := 0.0
				for t := 0; t < k; t++ {
					inv += 1 / l.kn[q+t*wf]
				}
				v += (fk - math.Abs(float64(d))) / (fk * fk) * fk / inv
			}
			kn[I*wc+J] = v
		}
	}
	c := newLevel(nc, ke, kn)
	c.factor = k
	return c
}

// hat returns the interpolation weights (k−|a|)/k for a = −(k−1)…k−1.
func hat(k int) []float64 {
	w := make([]float64, 2*k-1)
	for a := -(k - 1); a < k; a++ {
		w[a+k-1] = float64(k-abs(a)) / float64(k)
	}
	return w
}

func abs(a int) int {
	if a < 0 {
		return -a
	}
	return a
}

// restrict writes the coarse right-hand side c.f = R l.r with R = Pᵀ/k²
// (full weighting for k = 2).
func (l *level) restrict(c *level) {
	k := c.factor
	wf, wc := l.n+1, c.n+1
	r := l.r
	if k == 2 {
		for I := 1; I < c.n; I++ {
			for J := 1; J < c.n; J++ {
				p := 2*I*wf + 2*J
				c.f[I*wc+J] = (4*r[p] + 2*(r[p-1]+r[p+1]+r[p-wf]+r[p+wf]) + r[p-wf-1] + r[p-wf+1] + r[p+wf-1] + r[p+wf+1]) / 16
			}
		}
		return
	}
	w := hat(k)
	inv := 1 / float64(k*k)
	for I := 1; I < c.n; I++ {
		for J := 1; J < c.n; J++ {
			s := 0.0
			for a := -(k - 1); a < k; a++ {
				row := (k*I+a)*wf + k*J
				wa := w[a+k-1]
				for b := -(k - 1); b < k; b++ {
					s += wa * w[b+k-1] * r[row+b]
				}
			}
			c.f[I*wc+J] = s * inv
		}
	}
}

// prolongAdd adds the bilinear interpolation of c.u to l.u.
func (l *level) prolongAdd(c *level) {
	k := c.factor
	wf, wc := l.n+1, c.n+1
	u, e := l.u, c.u
	fk := float64(k)
	for I := 0; I < c.n; I++ {
		for J := 0; J < c.n; J++ {
			q := I*wc + J
			e00, e01, e10, e11 := e[q], e[q+1], e[q+wc], e[q+wc+1]
			for a := 0; a < k; a++ {
				ta := float64(a) / fk
				row := (k*I+a)*wf + k*J
				for b := 0; b < k; b++ {
					tb := float64(b) / fk
					u[row+b] += (1-ta)*((1-tb)*e00+tb*e01) + ta*((1-tb)*e10+tb*e11)
				}
			}
		}
	}
	// Fine boundary nodes only receive interpolated boundary values of e,
	// which are zero.
}

func (l *level) clearBoundary(v []float64) {
	n, w := l.n, l.n+1
	for j := 0; j <= n; j++ {
		v[j] = 0
		v[n*w+j] = 0
	}
	for i := 0; i <= n; i++ {
		v[i*w] = 0
		v[i*w+n] = 0
	}
}

// Hierarchy is a multigrid hierarchy for one coefficient field.
type hierarchy struct {
	levels []*level
}

// newHierarchy builds the levels for a coefficient field a on s×s nodes.
// While the number of intervals n is at least 8, the grid is coarsened by
// its smallest prime factor k ≤ 7 (421 nodes: 420 → 210 → 105 → 35 → 7);
// the coarsest system is factored by a banded Cholesky.
func newHierarchy(a []float64, s int) (*hierarchy, error) {
	n := s - 1
	w := s
	ke := make([]float64, s*s)
	kn := make([]float64, s*s)
	for i := 0; i < s; i++ {
		for j := 0; j < s; j++ {
			p := i*w + j
			if j+1 < s {
				ke[p] = 0.5 * (a[p] + a[p+1])
			}
			if i+1 < s {
				kn[p] = 0.5 * (a[p] + a[p+w])
			}
		}
	}
	h := &hierarchy{levels: []*level{newLevel(n, ke, kn)}}
	for {
		l := h.levels[len(h.levels)-1]
		k := coarseningFactor(l.n)
		if k == 0 {
			break
		}
		l.sweeps = smoothingSweeps(k)
		h.levels = append(h.levels, l.coarsen(k))
	}
	c := h.levels[len(h.levels)-1]
	ch, err := newBandChol(c)
	if err != nil {
		return nil, err
	}
	c.chol = ch
	return h, nil
}

// coarseningFactor returns the factor to coarsen n intervals by, or 0 to
// stop: the smallest of 2, 3, 5, 7 dividing n, while n ≥ 8.
func coarseningFactor(n int) int {
	if n < 8 {
		return 0
	}
	for _, k := range []int{2, 3, 5, 7} {
		if n%k == 0 {
			return k
		}
	}
	return 0
}

// smoothingSweeps is the number of pre- and post-smoothing sweeps on a level
// coarsened by k (sweepsOverride, for tuning experiments, replaces it).
func smoothingSweeps(k int) int {
	if sweepsOverride != nil {
		return sweepsOverride(k)
	}
	// Measured on 421² Darcy samples (CPU time per solve): one sweep on the
	// factor-2 levels and four on the factor-3/5 levels is the fastest.
	if k == 2 {
		return 1
	}
	return 4
}

var sweepsOverride func(k int) int

// vcycle solves approximately A u = f on level k starting from u = 0.
func (h *hierarchy) vcycle(k int) {
	l := h.levels[k]
	if l.chol != nil {
		l.chol.solve(l.f, l.u)
		return
	}
	clear(l.u)
	for range l.sweeps {
		l.gsForward()
	}
	l.apply(l.u, l.r)
	for i := range l.r {
		l.r[i] = l.f[i] - l.r[i]
	}
	l.clearBoundary(l.r)
	c := h.levels[k+1]
	l.restrict(c)
	h.vcycle(k + 1)
	l.prolongAdd(c)
	for range l.sweeps {
		l.gsBackward()
	}
}

// precondition computes z = B r with one symmetric V-cycle.
func (h *hierarchy) precondition(r, z []float64) {
	l := h.levels[0]
	copy(l.f, r)
	h.vcycle(0)
	copy(z, l.u)
}

// bandChol is a banded Cholesky factorisation of a level's operator on its
// interior nodes (row-major ordering, half-bandwidth n−1).
type bandChol struct {
	m, b int
	l    []float64 // row i holds L(i, i−b … i) at l[i*(b+1) : (i+1)*(b+1)]
	y    []float64
	n    int
}

func newBandChol(lv *level) (*bandChol, error) {
	n := lv.n
	k := n - 1
	m := k * k
	b := k
	bw := b + 1
	c := &bandChol{m: m, b: b, l: make([]float64, m*bw), y: make([]float64, m), n: n}
	w := n + 1
	at := func(i, j int) float64 { // A(i, j) for j ≤ i, j ≥ i−b
		pi := (i/k+1)*w + i%k + 1
		switch i - j {
		case 0:
			return lv.diag[pi]
		case 1:
			if i%k != 0 {
				return -lv.ce[pi-1]
			}
		case b:
			return -lv.cn[pi-w]
		}
		return 0
	}
	L := c.l
	for i := 0; i < m; i++ {
		ri := L[i*bw : (i+1)*bw]
		j0 := max(0, i-b)
		for j := j0; j <= i; j++ {
			rj := L[j*bw : (j+1)*bw]
			// Σ_{p=j0'}^{j-1} L(i,p) L(j,p), p ≥ max(i−b, j−b) = i−b.
			s := at(i, j)
			p0 := max(j0, j-b)
			for p := p0; p < j; p++ {
				s -= ri[p-i+b] * rj[p-j+b]
			}
			if j == i {
				if s <= 0 {
					return nil, errors.New("darcy: coarse operator is not positive definite")
				}
				ri[b] = math.Sqrt(s)
			} else {
				ri[j-i+b] = s / rj[b]
			}
		}
	}
	return c, nil
}

// solve writes the exact coarse solution of A u = f (grid layout) into u.
func (c *bandChol) solve(f, u []float64) {
	k, w, b, bw := c.n-1, c.n+1, c.b, c.b+1
	L, y := c.l, c.y
	for i := 0; i < c.m; i++ {
		s := f[(i/k+1)*w+i%k+1]
		ri := L[i*bw : (i+1)*bw]
		for p := max(0, i-b); p < i; p++ {
			s -= ri[p-i+b] * y[p]
		}
		y[i] = s / ri[b]
	}
	// Back substitution with Lᵀ: x_i = (y_i − Σ_{q>i} L(q,i) x_q) / L(i,i).
	for i := c.m - 1; i >= 0; i-- {
		s := y[i]
		for q := i + 1; q <= min(c.m-1, i+b); q++ {
			s -= L[q*bw+i-q+b] * y[q]
		}
		y[i] = s / L[i*bw+b]
	}
	clear(u)
	for i := 0; i < c.m; i++ {
		u[(i/k+1)*w+i%k+1] = y[i]
	}
}

// Solve solves −∇·(a∇u) = f with u = 0 on the boundary of the unit square,
// discretised on s×s nodes (h = 1/(s−1)) by the 5-point scheme with face
// coefficients equal to the mean of the two neighbouring nodes. a and f are
// row-major s×s (boundary values of f are ignored); the result has zeros on
// the boundary. The solve stops when ‖f − A u‖₂ ≤ tol·‖f‖₂ on the interior.
func Solve(a, f []float64, s int, tol float64) ([]float64, SolveInfo, error) {
	if s < 3 {
		return nil, SolveInfo{}, fmt.Errorf("darcy: grid size %d too small (need ≥ 3)", s)
	}
	if len(a) != s*s || len(f) != s*s {
		return nil, SolveInfo{}, fmt.Errorf("darcy: field lengths %d, %d do not match %d×%d grid", len(a), len(f), s, s)
	}
	for _, v := range a {
		if !(v > 0) || math.IsInf(v, 0) {
			return nil, SolveInfo{}, fmt.Errorf("darcy: coefficient %v is not positive and finite", v)
		}
	}
	h, err := newHierarchy(a, s)
	if err != nil {
		return nil, SolveInfo{}, err
	}
	l0 := h.levels[0]
	m := s * s
	b := make([]float64, m)
	copy(b, f)
	l0.clearBoundary(b)
	x := make([]float64, m)
	r := make([]float64, m)
	copy(r, b)
	z := make([]float64, m)
	p := make([]float64, m)
	q := make([]float64, m)
	bnorm := math.Sqrt(dot(b, b))
	info := SolveInfo{Levels: len(h.levels)}
	if bnorm == 0 {
		return x, info, nil
	}
	h.precondition(r, z)
	copy(p, z)
	rz := dot(r, z)
	restarts := 0
	for it := 1; it <= maxIter; it++ {
		l0.apply(p, q)
		alpha := rz / dot(p, q)
		for i := range x {
			x[i] += alpha * p[i]
			r[i] -= alpha * q[i]
		}
		info.Iterations = it
		h.precondition(r, z)
		if math.Sqrt(dot(r, r)) <= tol*bnorm {
			// Confirm with the true residual: the recurrence drifts near the
			// round-off floor. If it is not met, restart from the true residual
			// (a few times at most).
			info.RelResidual = Residual(a, f, x, s)
			if info.RelResidual <= tol {
				return x, info, nil
			}
			if restarts++; restarts > 3 {
				break
			}
			l0.apply(x, q)
			for i := range r {
				r[i] = b[i] - q[i]
			}
			l0.clearBoundary(r)
			h.precondition(r, z)
			copy(p, z)
			rz = dot(r, z)
			continue
		}
		rzNew := dot(r, z)
		beta := rzNew / rz
		rz = rzNew
		for i := range p {
			p[i] = z[i] + beta*p[i]
		}
	}
	info.RelResidual = Residual(a, f, x, s)
	if info.RelResidual <= tol {
		return x, info, nil
	}
	return x, info, fmt.Errorf("darcy: CG did not reach relative residual %g in %d iterations (got %g)", tol, maxIter, info.RelResidual)
}

// Residual returns ‖f − A u‖₂ / ‖f‖₂ over the interior nodes for the 5-point
// operator of Solve, computed directly from a (independent of the multigrid
// hierarchy).
func Residual(a, f, u []float64, s int) float64 {
	n := float64(s - 1)
	sc := n * n
	var num, den float64
	for i := 1; i < s-1; i++ {
		for j := 1; j < s-1; j++ {
			p := i*s + j
			ke := 0.5 * (a[p] + a[p+1])
			kw := 0.5 * (a[p] + a[p-1])
			kn := 0.5 * (a[p] + a[p+s])
			ks := 0.5 * (a[p] + a[p-s])
			au := sc * (ke*(u[p]-u[p+1]) + kw*(u[p]-u[p-1]) + kn*(u[p]-u[p+s]) + ks*(u[p]-u[p-s]))
			d := f[p] - au
			num += d * d
			den += f[p] * f[p]
		}
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

func dot(a, b []float64) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}
