//go:build cgo

package vk

import (
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/tensor"
)

// TestMatMulVariantSelection: the choice between the variants and the
// fallback for fake feature sets — a missing feature always falls back,
// even when the variant is forced or opted into.
func TestMatMulVariantSelection(t *testing.T) {
	lim := matmulFeatures{maxRange: 1 << 30, maxGroup: [3]uint32{65535, 65535, 65535}}
	with := func(f func(*matmulFeatures)) matmulFeatures { m := lim; f(&m); return m }
	all := with(func(m *matmulFeatures) { m.subgroupArith, m.storage16 = true, true })
	gemv := gemmArgs{batch: 1, M: 1, N: 4096, K: 4096}
	wgrad := gemmArgs{batch: 1, M: 64, N: 64, K: 4096}
	square := gemmArgs{batch: 1, M: 512, N: 512, K: 512}
	shortK := gemmArgs{batch: 1, M: 1, N: 4096, K: 64}
	huge := gemmArgs{batch: 1, M: 1 << 16, N: 64, K: 1 << 16} // fp16 pack of A: 8 GiB
	for _, c := range []struct {
		name string
		f    matmulFeatures
		g    gemmArgs
		want matmulVariant
	}{
		{"no features, gemv", lim, gemv, mmTiled},
		{"no features, fp16 opted in", with(func(m *matmulFeatures) { m.fp16 = true }), square, mmTiled},
		{"no features, subgroup forced", with(func(m *matmulFeatures) { m.force, m.forced = mmSubgroup, true }), gemv, mmTiled},
		{"no 16-bit storage, fp16 forced", with(func(m *matmulFeatures) { m.subgroupArith, m.force, m.forced = true, mmFP16, true }), square, mmTiled},
		{"subgroup, gemv", all, gemv, mmSubgroup},
		{"subgroup, weight gradient", all, wgrad, mmSubgroup},
		{"subgroup, square: tiles win", all, square, mmTiled},
		{"subgroup, short K", all, shortK, mmTiled},
		{"subgroup, many batches of small outputs", all, gemmArgs{batch: 64, M: 64, N: 64, K: 4096}, mmTiled},
		{"16-bit storage, not opted in", all, square, mmTiled},
		{"fp16 opted in", with(func(m *matmulFeatures) { m.storage16, m.fp16 = true, true }), square, mmFP16},
		{"fp16 opted in, pack over the binding limit", with(func(m *matmulFeatures) { m.storage16, m.fp16 = true, true }), huge, mmTiled},
		{"fp16 opted in, subgroup too, gemv: split-K", with(func(m *matmulFeatures) { m.storage16, m.fp16, m.subgroupArith = true, true, true }), gemv, mmSubgroup},
		{"fp16 opted in, subgroup too, square: fp16", with(func(m *matmulFeatures) { m.storage16, m.fp16, m.subgroupArith = true, true, true }), square, mmFP16},
		{"fp16 opted in, no subgroup, gemv: fp16", with(func(m *matmulFeatures) { m.storage16, m.fp16 = true, true }), gemv, mmFP16},
		{"tiled forced", with(func(m *matmulFeatures) { m.subgroupArith, m.force, m.forced = true, mmTiled, true }), gemv, mmTiled},
		{"subgroup forced on a square", with(func(m *matmulFeatures) { m.subgroupArith, m.force, m.forced = true, mmSubgroup, true }), square, mmSubgroup},
		{"subgroup forced, K past llvmpipe's loop limit", with(func(m *matmulFeatures) { m.subgroupArith, m.force, m.forced = true, mmSubgroup, true }), gemmArgs{batch: 1, M: 1, N: 1, K: sgMaxK + 1}, mmTiled},
	} {
		if got := chooseMatmul(c.f, c.g); got != c.want {
			t.Errorf("%s: chose %v, want %v", c.name, got, c.want)
		}
	}
	for _, s := range []string{"", "auto", "tiled", "subgroup", "fp16"} {
		if _, _, err := parseMatmulVariant(s); err != nil {
			t.Errorf("parseMatmulVariant(%q): %v", s, err)
		}
	}
	if _, _, err := parseMatmulVariant("coopmat"); err == nil {
		t.Error(`parseMatmulVariant("coopmat"): no error`)
	}
}

// forceVariant forces v for the test and fails it when the device lacks v
// (lavapipe has both features: every variant runs there).
func forceVariant(t *testing.T, be *Backend, v matmulVariant) {
	t.Helper()
	be.c.mu.Lock()
	f := be.c.mm
	be.c.mu.Unlock()
	if (v == mmSubgroup && !f.subgroupArith) || (v == mmFP16 && !f.storage16) {
		t.Fatalf("%s lacks the features of the %v matmul variant (%+v)", be.c.info.Name, v, f)
	}
	matmulForce = v
	t.Cleanup(func() { matmulForce = -1 })
}

// variantRuns returns the number of GEMMs recorded with v so far.
func variantRuns(be *Backend, v matmulVariant) int {
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	return be.c.mm.runs[v]
}

// absProducts returns Σ_k |alpha·a_mk·b_kn| for every output (the scale of
// the rounding error of a product of rounded operands), on the CPU backend.
func absProducts(a, b pair, p tensor.MatMulParams, cn int) []float32 {
	abs := func(x pair) tensor.Buffer {
		v := readC(x.c)
		for i := range v {
			v[i] = float32(math.Abs(float64(v[i])))
		}
		out := ref.Alloc(len(v))
		ref.WriteFloat32(out, 0, v)
		return out
	}
	q := p
	q.Alpha, q.Beta = float32(math.Abs(float64(p.Alpha))), 0
	c := ref.Alloc(cn)
	ref.MatMul(c, abs(a), abs(b), q)
	return readC(c)
}

type mmCase struct{ batch, m, k, n, off int }

// mmCases: 1, primes, odd sizes, more than one workgroup or tile, batches
// with a shared B (batch 2) or a shared A (batch 4), offsets that do and do
// not allow vec4 loads.
var mmCases = []mmCase{
	{1, 1, 1, 1, 0}, {1, 1, 4099, 257, 0}, {1, 257, 4099, 1, 3}, {2, 1, 300, 31, 0},
	{3, 65, 129, 67, 0}, {2, 33, 20, 7, 8}, {1, 128, 1000, 40, 1}, {1, 64, 2048, 64, 0},
	{2, 5, 7, 3, 4}, {1, 17, 1, 13, 0}, {4, 9, 300, 5, 0}, {4, 1, 515, 2, 0},
}

// runMatMulCases runs every case and transposition on the device and the
// CPU backend; tol(k) is the allowed error per unit of Σ|alpha·a·b|.
func runMatMulCases(t *testing.T, be *Backend, cases []mmCase, tol func(k int) float64) {
	t.Helper()
	r := rand.New(rand.NewSource(29))
	for _, cs := range cases {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				beta := float32(0)
				if ta != tb {
					beta = 0.25
				}
				p := tensor.MatMulParams{Batch: cs.batch, M: cs.m, K: cs.k, N: cs.n, TransA: ta, TransB: tb,
					AOff: cs.off, BOff: 2 * cs.off, COff: 3 * cs.off, StrideA: cs.m * cs.k, StrideB: cs.k * cs.n,
					StrideC: cs.m * cs.n, Alpha: 1.25, Beta: beta}
				switch cs.batch {
				case 2:
					p.StrideB = 0 // shared B
				case 4:
					p.StrideA = 0 // shared A
				}
				a := mkpair(be, randSlice(r, cs.off+cs.batch*cs.m*cs.k, -1, 1))
				b := mkpair(be, randSlice(r, 2*cs.off+cs.batch*cs.k*cs.n, -1, 1))
				c := mkpair(be, randSlice(r, 3*cs.off+cs.batch*cs.m*cs.n, -1, 1))
				scale := absProducts(a, b, p, c.n)
				be.MatMul(c.g, a.g, b.g, p)
				ref.MatMul(c.c, a.c, b.c, p)
				got, want := readG(be, c.g), readC(c.c)
				bad := 0
				for i := range got {
					lim := tol(cs.k)*float64(scale[i]) + 1e-6*(1+math.Abs(float64(want[i])))
					if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= lim) {
						if bad < 3 {
							t.Errorf("matmul %+v ta=%v tb=%v: [%d] = %g, want %g (error %.3g > %.3g)", cs, ta, tb, i, got[i], want[i], d, lim)
						}
						bad++
					}
				}
				if bad > 0 {
					t.Errorf("matmul %+v ta=%v tb=%v: %d of %d elements differ", cs, ta, tb, bad, len(got))
				}
				a.free(be)
				b.free(be)
				c.free(be)
			}
		}
	}
}

// fp32Tol is the fp32 kernels' error bound per unit of Σ|a·b|: K roundings
// of the accumulation (in any order) at 2⁻²⁴, with room.
func fp32Tol(k int) float64 { return 2e-7 * float64(k+2) }

// fp16Tol adds the operands' rounding to float16: (1+δa)(1+δb), |δ| ≤ 2⁻¹¹.
func fp16Tol(k int) float64 { return 2.1*math.Ldexp(1, -11) + fp32Tol(k) }

// TestMatMulSubgroup: matmul_sg.comp (split-K, subgroupAdd) forced on every
// shape, against the CPU backend, including grids past 65535 workgroups
// along N (1×16 blocks) and along M (4×4 blocks).
func TestMatMulSubgroup(t *testing.T) {
	be := shared(t)
	forceVariant(t, be, mmSubgroup)
	n0 := variantRuns(be, mmSubgroup)
	cases := append([]mmCase{}, mmCases...)
	cases = append(cases, mmCase{1, 1, 3, 16*65535 + 21, 0}, mmCase{1, 4*65535 + 7, 2, 3, 0})
	runMatMulCases(t, be, cases, fp32Tol)
	if got := variantRuns(be, mmSubgroup) - n0; got != 4*len(cases) {
		t.Errorf("the subgroup variant ran %d times, want %d", got, 4*len(cases))
	}
}

// TestMatMulFP16: the fp16 variant (operands packed to float16, fp32
// accumulation) forced, in its shared-memory and register forms, against
// the CPU backend within the error fp16 operands allow.
func TestMatMulFP16(t *testing.T) {
	be := shared(t)
	forceVariant(t, be, mmFP16)
	for _, mode := range []int{1, 0} {
		t.Run(fmt.Sprintf("tiled=%d", mode), func(t *testing.T) {
			gemmTiledMode = mode
			defer func() { gemmTiledMode = -1 }()
			n0 := variantRuns(be, mmFP16)
			runMatMulCases(t, be, mmCases, fp16Tol)
			if got := variantRuns(be, mmFP16) - n0; got != 4*len(mmCases) {
				t.Errorf("the fp16 variant ran %d times, want %d", got, 4*len(mmCases))
			}
		})
	}
}

// TestMatMulFP16Accuracy documents the fp16 variant's accuracy on random
// data (uniform in [-1, 1], K = 1024): the relative Frobenius error against
// a float64 product. Rounding both operands to float16 (unit roundoff 2⁻¹¹
// ≈ 4.9e-4) gives ≈ 4e-4; the fp32 kernel ≈ 1e-7. The bound 2e-3 passes
// both and fails a wrong kernel (a zero or a transposed operand is off by
// ~1); the lower bound 3e-5 proves the fp16 path ran.
func TestMatMulFP16Accuracy(t *testing.T) {
	be := shared(t)
	const m, k, n = 96, 1024, 80
	r := rand.New(rand.NewSource(5))
	av, bv := randSlice(r, m*k, -1, 1), randSlice(r, k*n, -1, 1)
	exact := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for l := 0; l < k; l++ {
			x := float64(av[i*k+l])
			for j := 0; j < n; j++ {
				exact[i*n+j] += x * float64(bv[l*n+j])
			}
		}
	}
	rel := func(v matmulVariant) float64 {
		forceVariant(t, be, v)
		defer func() { matmulForce = -1 }()
		a, b := be.Alloc(m*k), be.Alloc(k*n)
		c := be.Alloc(m * n)
		defer func() { be.Free(a); be.Free(b); be.Free(c) }()
		be.WriteFloat32(a, 0, av)
		be.WriteFloat32(b, 0, bv)
		be.MatMul(c, a, b, tensor.MatMulParams{Batch: 1, M: m, K: k, N: n, Alpha: 1})
		got := readG(be, c)
		var num, den float64
		for i, e := range exact {
			d := float64(got[i]) - e
			num += d * d
			den += e * e
		}
		return math.Sqrt(num / den)
	}
	e32, e16 := rel(mmTiled), rel(mmFP16)
	t.Logf("relative Frobenius error vs float64, %d×%d×%d uniform[-1,1]: fp32 %.3g, fp16 operands %.3g", m, k, n, e32, e16)
	if !(e32 < 2e-3) || !(e16 < 2e-3) {
		t.Errorf("relative error fp32 %.3g, fp16 %.3g: want both < 2e-3", e32, e16)
	}
	if !(e16 > 3e-5) {
		t.Errorf("fp16 relative error %.3g: want > 3e-5 (fp16 rounding of the operands); did the fp16 kernel run?", e16)
	}
}

// TestMatMulVariantGradients: autograd's MatMul (forward, and the
// gradients, which are matmuls with transposed operands and a broadcast
// batch) and Linear on Vulkan against the CPU backend with each variant
// forced: the variants run through Backend.MatMul as training uses it.
func TestMatMulVariantGradients(t *testing.T) {
	be := shared(t)
	shapes := []struct{ batch, m, k, n int }{{1, 1, 1, 1}, {3, 5, 7, 11}, {2, 33, 300, 17}, {1, 1, 4099, 257}, {4, 64, 520, 3}}
	for _, v := range []matmulVariant{mmTiled, mmSubgroup, mmFP16} {
		t.Run(v.String(), func(t *testing.T) {
			forceVariant(t, be, v)
			n0 := variantRuns(be, v)
			tol := 1e-5
			if v == mmFP16 {
				tol = 2e-3
			}
			r := rand.New(rand.NewSource(71))
			for _, s := range shapes {
				xd := randSlice(r, s.batch*s.m*s.k, -1, 1)
				wd := randSlice(r, s.k*s.n, -1, 1)
				ld := randSlice(r, s.n*s.k, -1, 1)
				rd := randSlice(r, s.batch*s.m*s.n, -1, 1)
				type res struct{ loss, y, z, gx, gw, gl []float32 }
				run := func(b tensor.Backend) res {
					x := autograd.Leaf(tensor.FromFloat32(b, xd, s.batch, s.m, s.k), true)
					w := autograd.Leaf(tensor.FromFloat32(b, wd, s.k, s.n), true)
					lw := autograd.Leaf(tensor.FromFloat32(b, ld, s.n, s.k), true) // Linear's [out, in]
					rv := autograd.Const(tensor.FromFloat32(b, rd, s.batch, s.m, s.n))
					y := autograd.MatMul(x, w)       // batch-broadcast w: its gradient sums over the batch
					z := autograd.Linear(x, lw, nil) // x·lwᵀ
					l := autograd.Add(autograd.Sum(autograd.Mul(y, rv), false), autograd.Sum(autograd.Mul(z, rv), false))
					autograd.Backward(l)
					out := res{l.Value.Float32s(), y.Value.Float32s(), z.Value.Float32s(), x.Grad.Float32s(), w.Grad.Float32s(), lw.Grad.Float32s()}
					autograd.Release(l)
					return out
				}
				got, want := run(be), run(ref)
				what := fmt.Sprintf("%v %+v", v, s)
				// the loss sums products of both signs: its error is
				// relative to Σ|y·r|, not to the (cancelled) sum
				var scale float64
				for i, r := range rd {
					scale += math.Abs(float64(want.y[i])*float64(r)) + math.Abs(float64(want.z[i])*float64(r))
				}
				if d := math.Abs(float64(got.loss[0] - want.loss[0])); !(d <= tol*scale) {
					t.Errorf("loss %s: %g, want %g (error %.3g > %.3g)", what, got.loss[0], want.loss[0], d, tol*scale)
				}
				checkRel(t, "y "+what, got.y, want.y, tol)
				checkRel(t, "z "+what, got.z, want.z, tol)
				checkRel(t, "dx "+what, got.gx, want.gx, tol)
				checkRel(t, "dw "+what, got.gw, want.gw, tol)
				checkRel(t, "dlinear "+what, got.gl, want.gl, tol)
			}
			if variantRuns(be, v) == n0 {
				t.Errorf("the %v variant never ran", v)
			}
		})
	}
}

// TestSetFP16MatMul: the opt-in switches the device's choice to the fp16
// variant without forcing, off switches it back, and a device without
// 16-bit storage refuses it.
func TestSetFP16MatMul(t *testing.T) {
	be := shared(t)
	p := tensor.MatMulParams{Batch: 1, M: 9, K: 33, N: 10, Alpha: 1}
	a, b, c := be.Alloc(9*33), be.Alloc(33*10), be.Alloc(9*10)
	defer func() { be.Free(a); be.Free(b); be.Free(c) }()
	be.c.mu.Lock()
	was := be.c.mm.fp16 // DASH_VK_FP16=1 may have set it
	be.c.mu.Unlock()
	t.Cleanup(func() { be.c.mu.Lock(); be.c.mm.fp16 = was; be.c.mu.Unlock() })
	for _, on := range []bool{true, false} {
		if err := be.SetFP16MatMul(on); err != nil {
			t.Fatalf("SetFP16MatMul(%v) on %s: %v", on, be.c.info.Name, err)
		}
		n16, nt := variantRuns(be, mmFP16), variantRuns(be, mmTiled)
		be.MatMul(c, a, b, p)
		if got16, gott := variantRuns(be, mmFP16)-n16, variantRuns(be, mmTiled)-nt; on && got16 != 1 || !on && gott != 1 {
			t.Errorf("fp16 %v: %d fp16 and %d tiled GEMMs, want the %s one", on, got16, gott, map[bool]string{true: "fp16", false: "tiled"}[on])
		}
	}
	be.c.mu.Lock()
	saved := be.c.mm.storage16
	be.c.mm.storage16 = false
	be.c.mu.Unlock()
	err := be.SetFP16MatMul(true)
	be.c.mu.Lock()
	be.c.mm.storage16 = saved
	be.c.mu.Unlock()
	if err == nil || !strings.Contains(err.Error(), "storageBuffer16BitAccess") {
		t.Errorf("SetFP16MatMul(true) without 16-bit storage: error %v, want one naming storageBuffer16BitAccess", err)
	}
}

// BenchmarkMatMulVariant times each matmul variant (forced) and the
// device's choice on a square GEMM, a weight-gradient shape (small output,
// long K), a batch-1 GEMV and its transposed-weight form (Linear's x·Wᵀ).
// Run: go test -run '^$' -bench MatMulVariant ./vk
func BenchmarkMatMulVariant(b *testing.B) {
	be := benchBackend(b)
	cases := []struct {
		name    string
		m, k, n int
		tb      bool
	}{
		{"512x512x512", 512, 512, 512, false},
		{"wgrad_64x4096x64", 64, 4096, 64, false},
		{"gemv_1x4096x4096", 1, 4096, 4096, false},
		{"gemv_1x4096x4096_Bt", 1, 4096, 4096, true},
	}
	r := rand.New(rand.NewSource(1))
	for _, cs := range cases {
		a, bb, c := be.Alloc(cs.m*cs.k), be.Alloc(cs.k*cs.n), be.Alloc(cs.m*cs.n)
		be.WriteFloat32(a, 0, randSlice(r, cs.m*cs.k, -1, 1))
		be.WriteFloat32(bb, 0, randSlice(r, cs.k*cs.n, -1, 1))
		p := tensor.MatMulParams{Batch: 1, M: cs.m, K: cs.k, N: cs.n, TransB: cs.tb, Alpha: 1}
		for _, v := range []matmulVariant{-1, mmTiled, mmSubgroup, mmFP16} {
			name := "auto"
			if v >= 0 {
				name = v.String()
			}
			b.Run(cs.name+"/"+name, func(b *testing.B) {
				matmulForce = v
				defer func() { matmulForce = -1 }()
				be.MatMul(c, a, bb, p) // compile the pipelines
				if err := be.Sync(); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				start := time.Now()
				for i := 0; i < b.N; i++ {
					be.MatMul(c, a, bb, p)
				}
				if err := be.Sync(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(2*float64(cs.m*cs.k*cs.n)*float64(b.N)/time.Since(start).Seconds()/1e9, "GFLOP/s")
			})
		}
		be.Free(a)
		be.Free(bb)
		be.Free(c)
	}
}
