package cpu

import (
	"fmt"
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
// filter-gradient results of the Winograd path against the float64 naive
// convolution. The tolerance is compare's 1e-5·Σ|terms| + 1e-6: the
// transforms add a few roundings of values of the size of the terms (the
// transformed tiles are sums of up to 16 products), so F(2×2, 3×3) in fp32
// stays well inside it, while a wrong tap or a missing tile is off by
// whole terms.
func TestWinogradAgainstNaive(t *testing.T) {
	if !winogradEligible(&tensor.ConvParams{Groups: 1, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1}) {
		testenv.Skip(t, "the SGEMM micro-kernel is not AVX-512's 8×48: the Winograd path is off")
	}
	savedF, savedO, savedK := forceWino, winoOff, winoKernels
	defer func() { forceWino, winoOff, winoKernels = savedF, savedO, savedK }()
	forceWino, winoOff = true, false
	sets := []*winoKernelSet{goWinoKernels}
	if asmWinoKernels != nil {
		sets = append(sets, asmWinoKernels)
	}
	r := rand.New(rand.NewPCG(11, 12))
	for _, set := range sets {
		winoKernels = set
		for _, threads := range []int{1, 2, 3} {
			be := &Backend{threads: threads}
			for i, cc := range winoCases {
				p := cc.params()
				for _, op := range []convOp{opForward, opData, opFilter} {
					if !winogradOK(&p, op) {
						t.Fatalf("case %d %+v: Winograd not selected", i, p)
					}
				}
				name := fmt.Sprintf("%s/t%d/case%d_%+v", set.name, threads, i, p)
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
				compare(t, name+"/y", yb.F, y, ya)
				compare(t, name+"/dx", dxb.F, dx, dxa)
				compare(t, name+"/dw", dwb.F, dw, dwa)
			}
		}
	}
	if asmWinoKernels == nil {
		testenv.Skip(t, "no AVX-512: the assembly transforms of the Winograd convolution were not tested (the Go ones were)")
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

// TestWinogradSelection checks that the WRN-16-4 3×3 stride-1 layers with
// 64+ channels take the Winograd path for all three kernels (so a change to
// the rule cannot silently fall back), and that other shapes do not.
func TestWinogradSelection(t *testing.T) {
	if asmWinoKernels == nil || !winogradEligible(&tensor.ConvParams{Groups: 1, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1}) {
		testenv.Skip(t, "no AVX-512: the Winograd path is off")
	}
	n := 0
	for _, p := range wrnConvs(64, 4, nil) {
		want := p.KH == 3 && p.SH == 1 && p.C >= 64 && p.OH >= 14
		for _, op := range []convOp{opForward, opData, opFilter} {
			if got := winogradOK(&p, op); got != want {
				t.Errorf("%+v op %d: Winograd selected %v, want %v", p, op, got, want)
			}
		}
		if want {
			n++
		}
	}
	if n != 6 {
		t.Errorf("%d WRN-16-4 layers take Winograd, want 6", n)
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
