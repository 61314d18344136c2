package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dash-go/dash/internal/testenv"
	"github.com/dash-go/dash/tensor"
)

// winoCases are 3×3 stride-1 convolutions of awkward shapes: odd and tiny
// maps (the last tile row/column partial, or a single partial tile),
// padding 0, 1, 2 and asymmetric (the output size given by the padding
// after), channels not multiples of the micro-tile, batch 1 and 3.
var winoCases = []convCase{
	// n, c, h, w, k, g, kh, kw, sh, sw, dh, dw, phb, pha, pwb, pwa
	{1, 1, 7, 7, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
	{3, 3, 5, 9, 17, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
	{1, 17, 1, 1, 3, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},    // 1×1 map, padding 1
	{3, 64, 2, 3, 64, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},   // 2×3 map
	{3, 17, 7, 7, 64, 1, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0},   // padding 0: 5×5 output
	{1, 64, 5, 9, 17, 1, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2},   // padding 2 ('full'): 7×11
	{3, 3, 7, 7, 1, 1, 3, 3, 1, 1, 1, 1, 2, 0, 0, 1},     // asymmetric padding
	{1, 64, 9, 6, 64, 1, 3, 3, 1, 1, 1, 1, 1, 2, 2, 1},   // asymmetric, C = K = 64
	{3, 300, 4, 4, 9, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},   // C > convKC: two k blocks
	{2, 20, 13, 15, 50, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, // several chunks, K not a multiple of 8
}

// TestWinogradAgainstNaive checks the forward, data-gradient and
// filter-gradient results of both Winograd algorithms, with the Go and the
// assembly transforms, against the float64 naive convolution, to within
// tol·Σ|terms| + 1e-6 per value. The transforms add a few roundings of
// values of the size of the terms, scaled by the transform matrices'
// coefficients: for F(2×2, 3×3) (coefficients ±1, ½) tol = 1e-5 (the
// other paths' tolerance), for F(4×4, 3×3) (coefficients up to 8 and
// 1/24, the usual fp32 error a few times larger) tol = 1e-4, while a wrong
// tap or a missing tile is off by whole terms.
func TestWinogradAgainstNaive(t *testing.T) {
	if !winogradEligible(&tensor.ConvParams{Groups: 1, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1}) {
		testenv.Skip(t, "the SGEMM micro-kernel is not AVX-512's 8×48: the Winograd path is off")
	}
	savedF, savedO, savedG, savedA := forceWino, winoOff, winoUseGo, forceAlg
	defer func() { forceWino, winoOff, winoUseGo, forceAlg = savedF, savedO, savedG, savedA }()
	forceWino, winoOff = true, false
	r := rand.New(rand.NewPCG(11, 12))
	for _, al := range []struct {
		*winoAlg
		tol float64
	}{{wino2, 1e-5}, {wino4, 1e-4}} {
		forceAlg = al.winoAlg
		for _, useGo := range []bool{true, false} {
			winoUseGo = useGo
			kern := al.kernels().name
			for _, threads := range []int{1, 2, 3} {
				if useGo && threads == 3 {
					continue
				}
				be := &Backend{threads: threads}
				for i, cc := range winoCases {
					p := cc.params()
					for _, op := range []convOp{opForward, opData, opFilter} {
						if !winogradOK(&p, op) {
							t.Fatalf("case %d %+v: Winograd not selected", i, p)
						}
					}
					name := fmt.Sprintf("%s/%s/t%d/case%d_%+v", al.name, kern, threads, i, p)
					x := randSlice(r, p.N*p.C*p.H*p.W)
					w := randSlice(r, p.K*p.C*9)
					dy := randSlice(r, p.N*p.K*p.OH*p.OW)
					y, dx, dw, ya, dxa, dwa := naiveConv(p, x, w, dy)
					yb := &Buf{F: randSlice(r, len(y))}
					dxb := &Buf{F: randSlice(r, len(dx))}
					dwb := &Buf{F: randSlice(r, len(dw))}
					be.ConvForward(p, yb, &Buf{F: x}, &Buf{F: w})
					be.ConvBackwardData(p, dxb, &Buf{F: dy}, &Buf{F: w})
					be.ConvBackwardFilter(p, dwb, &Buf{F: x}, &Buf{F: dy})
					winoCompare(t, name+"/y", yb.F, y, ya, al.tol)
					winoCompare(t, name+"/dx", dxb.F, dx, dxa, al.tol)
					winoCompare(t, name+"/dw", dwb.F, dw, dwa, al.tol)
				}
			}
		}
	}
	if asmWinoKernels == nil {
		testenv.Skip(t, "no AVX-512: the assembly transforms of the Winograd convolution were not tested (the Go ones were)")
	}
}

// winoCompare checks got against want to within tol·scale + 1e-6 and
// reports the largest error relative to scale.
func winoCompare(t *testing.T, what string, got []float32, want, scale []float64, tol float64) {
	t.Helper()
	bad, worst := 0, 0.0
	for i := range want {
		d := math.Abs(float64(got[i]) - want[i])
		worst = max(worst, d/scale[i])
		if d > tol*scale[i]+1e-6 || math.IsNaN(float64(got[i])) {
			if bad < 5 {
				t.Errorf("%s[%d] = %v, want %v (tol %.3g)", what, i, got[i], want[i], tol*scale[i]+1e-6)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values wrong", what, bad, len(want))
	}
	if testing.Verbose() && worst > tol/10 {
		t.Logf("%s: largest error %.3g·Σ|terms|", what, worst)
	}
}

// TestWinogradMatchesDefault compares the Winograd path with the path the
// backend takes without it (direct or implicit GEMM) on a WRN-like layer.
func TestWinogradMatchesDefault(t *testing.T) {
	savedF, savedO := forceWino, winoOff
	defer func() { forceWino, winoOff = savedF, savedO }()
	p := convCase{16, 64, 14, 14, 64, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}.params()
	r := rand.New(rand.NewPCG(3, 4))
	x := &Buf{F: randSlice(r, p.N*p.C*p.H*p.W)}
	w := &Buf{F: randSlice(r, p.K*p.C*9)}
	dy := &Buf{F: randSlice(r, p.N*p.K*p.OH*p.OW)}
	run := func() (y, dx, dw []float32) {
		be := New()
		yb, dxb, dwb := be.Alloc(p.N*p.K*p.OH*p.OW), be.Alloc(p.N*p.C*p.H*p.W), be.Alloc(p.K*p.C*9)
		be.ConvForward(p, yb, x, w)
		be.ConvBackwardData(p, dxb, dy, w)
		be.ConvBackwardFilter(p, dwb, x, dy)
		return buf(yb), buf(dxb), buf(dwb)
	}
	forceWino, winoOff = true, false
	y1, dx1, dw1 := run()
	forceWino, winoOff = false, true
	y2, dx2, dw2 := run()
	for _, c := range []struct {
		name string
		a, b []float32
	}{{"y", y1, y2}, {"dx", dx1, dx2}, {"dw", dw1, dw2}} {
		var num, den float64
		for i := range c.a {
			d := float64(c.a[i] - c.b[i])
			num += d * d
			den += float64(c.b[i]) * float64(c.b[i])
		}
		// both are fp32 sums of 576 (y, dx) or 12544 (dw) products
		if rel := num / den; rel > 1e-10 {
			t.Errorf("%s: relative squared difference %.3g between Winograd and the default path", c.name, rel)
		}
	}
}

// TestWinogradSelection checks which WRN-16-4 and WRN-16-1 convs take the
// Winograd path, with which algorithm (so that a change to the rule cannot
// silently fall back), and that ineligible shapes do not.
func TestWinogradSelection(t *testing.T) {
	if asmWinoKernels == nil || !winogradEligible(&tensor.ConvParams{Groups: 1, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1}) {
		testenv.Skip(t, "no AVX-512: the Winograd path is off")
	}
	// WRN-16-4 at batch 64: the 3×3 stride-1 convs on 28×28 (16→64 and
	// 64→64) and 14×14 (128→128), not the 1→16 stem; the filter gradient
	// not for 16→64
	type want struct {
		fwd, data, filter *winoAlg // nil: not Winograd
	}
	got := map[string]int{}
	for _, p := range wrnConvs(64, 4, nil) {
		var w want
		if p.KH == 3 && p.SH == 1 && p.OH >= 14 && p.C >= 16 {
			w.fwd, w.data, w.filter = wino4, wino4, wino4
			if p.OH < 28 {
				w.filter = wino2
			}
			if p.C < 64 {
				w.filter = nil
			}
		}
		for _, o := range []struct {
			op   convOp
			name string
			al   *winoAlg
		}{{opForward, "forward", w.fwd}, {opData, "data", w.data}, {opFilter, "filter", w.filter}} {
			ok := winogradOK(&p, o.op)
			if ok != (o.al != nil) {
				t.Errorf("%+v %s: Winograd selected %v, want %v", p, o.name, ok, o.al != nil)
				continue
			}
			if ok {
				if al := winoAlgFor(&p, o.op); al != o.al {
					t.Errorf("%+v %s: Winograd %s, want %s", p, o.name, al.name, o.al.name)
				}
				got[o.name]++
			}
		}
	}
	if got["forward"] != 7 || got["data"] != 7 || got["filter"] != 6 {
		t.Errorf("WRN-16-4 convs on the Winograd path: %v, want 7 forward, 7 data, 6 filter", got)
	}
	// A batch that is not a multiple of 16 (padded to 16 lanes): 16→64
	// keeps the other paths forward, not for the data gradient.
	p := convCase{10, 16, 85, 85, 64, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}.params()
	if winogradOK(&p, opForward) || !winogradOK(&p, opData) {
		t.Errorf("%+v: Winograd forward %v, data %v; want false, true", p, winogradOK(&p, opForward), winogradOK(&p, opData))
	}
	// WRN-16-1 at batch 32 keeps the other paths.
	for _, p := range wrnConvs(32, 1, nil) {
		for _, op := range []convOp{opForward, opData, opFilter} {
			if winogradOK(&p, op) {
				t.Errorf("WRN-16-1 %+v op %d: Winograd selected", p, op)
			}
		}
	}
	for _, cc := range []convCase{
		{64, 64, 14, 14, 64, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},  // stride 2
		{64, 64, 14, 14, 64, 1, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},  // dilation 2
		{64, 64, 14, 14, 64, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},  // groups
		{64, 64, 14, 14, 64, 1, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2},  // 5×5
		{64, 64, 14, 14, 64, 1, 3, 3, 1, 1, 1, 1, 3, 3, 3, 3},  // padding 3
		{64, 64, 14, 14, 64, 1, 1, 3, 1, 1, 1, 1, 0, 0, 1, 1},  // 1×3
		{64, 64, 14, 14, 64, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, // depthwise
	} {
		p := cc.params()
		if winogradOK(&p, opForward) || winogradOK(&p, opData) || winogradOK(&p, opFilter) {
			t.Errorf("%+v: Winograd selected for an ineligible shape", p)
		}
	}
}

// BenchmarkWinogradLayer times the Winograd path on one WRN-16-4
// layer with the forward and filter GEMMs, for profiling the transforms.
func BenchmarkWinogradLayer(b *testing.B) {
	for _, cc := range []convCase{
		{64, 64, 28, 28, 64, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
		{64, 128, 14, 14, 128, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
		{64, 256, 7, 7, 256, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
	} {
		p := cc.params()
		be := New()
		r := rand.New(rand.NewPCG(1, 1))
		x := randSlice(r, p.N*p.C*p.H*p.W)
		w := randSlice(r, p.K*p.C*9)
		y := make([]float32, p.N*p.K*p.OH*p.OW)
		dy := randSlice(r, len(y))
		dw := make([]float32, len(w))
		name := fmt.Sprintf("C%dK%d_%d", p.C, p.K, p.H)
		b.Run(name+"/fwd", func(b *testing.B) {
			for b.Loop() {
				be.winogradForward(&p, y, x, w)
			}
		})
		b.Run(name+"/filter", func(b *testing.B) {
			for b.Loop() {
				be.winogradBackwardFilter(&p, dw, x, dy)
			}
		})
	}
}
