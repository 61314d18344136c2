//go:build cgo

package vk

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/dash-go/dash/tensor"
)

func convOut(in, k, s, d, pb, pa int) int { return (in+pb+pa-d*(k-1)-1)/s + 1 }

func TestConvConformance(t *testing.T) {
	// The implicit GEMM and depthwise kernels in both variants (shared-memory
	// tiles, registers only), the filter gradient split over the batch, and
	// the direct shaders.
	for _, v := range []struct {
		name                  string
		direct                bool
		tiled, splits, rLimit int
		big                   bool
	}{
		{"tiled", false, 1, 0, 0, false},
		{"registers", false, 0, 0, 0, true},
		// The filter gradient's reduction in 3 parallel splits; then every
		// reduction cut at 40 (passes that accumulate, as on lavapipe past
		// its loop limit), with 2 side-by-side splits per pass.
		{"split3", false, 1, 3, 0, false},
		{"rlimit40", false, 0, 2, 40, false},
		{"direct", true, -1, 0, 0, false},
	} {
		t.Run(v.name, func(t *testing.T) {
			be := shared(t)
			be.directConv, gemmTiledMode, convSplitsForce, convRLimit = v.direct, v.tiled, v.splits, v.rLimit
			defer func() { be.directConv, gemmTiledMode, convSplitsForce, convRLimit = false, -1, 0, 0 }()
			testConv(t, be, v.big && !testing.Short())
		})
	}
}

func testConv(t *testing.T, be *Backend, big bool) {
	r := rand.New(rand.NewSource(10))
	type cc struct {
		n, c, h, w, k, g, kh, kw, sh, sw, dh, dw, ph, pw, pha, pwa int
	}
	cases := []cc{
		{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},
		{2, 3, 7, 9, 5, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},      // same
		{3, 4, 11, 13, 6, 2, 3, 5, 2, 3, 1, 1, 1, 2, 0, 1},    // groups, stride, asymmetric pad
		{2, 6, 13, 17, 6, 6, 3, 3, 1, 1, 2, 3, 2, 3, 2, 3},    // depthwise, dilation
		{2, 5, 1, 101, 7, 1, 1, 11, 1, 1, 1, 4, 0, 20, 0, 20}, // 1-D, dilated same
		{1, 3, 1, 97, 2, 1, 1, 4, 1, 1, 1, 1, 0, 3, 0, 0},     // causal, even kernel
		{4, 8, 16, 16, 16, 4, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3},   // big-ish, strided
		{2, 3, 5, 5, 4, 1, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0},      // valid
		{1, 2, 300, 300, 2, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},  // many workgroups
		{3, 5, 9, 11, 5, 5, 3, 3, 2, 2, 1, 2, 1, 2, 1, 2},     // depthwise, strided
		{2, 8, 1, 203, 8, 8, 1, 11, 1, 1, 1, 4, 0, 20, 0, 20}, // depthwise 1-D, dilated same (DASH)
		{2, 3, 7, 7, 6, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},      // channel multiplier 2 (not depthwise)
		{2, 70, 9, 9, 67, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},    // M > one tile, many K tiles
		{5, 3, 4, 4, 2, 1, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0},      // filter gradient over an odd batch
	}
	if big {
		// > 65535 workgroups (depthwise planes). The implicit GEMM needs 4.2M
		// output pixels for as many tiles (~60 s on lavapipe): not run.
		cases = append(cases, cc{64, 1100, 1, 3, 1100, 1100, 1, 3, 1, 1, 1, 1, 0, 1, 0, 1})
	}
	for ci, cs := range cases {
		p := tensor.ConvParams{N: cs.n, C: cs.c, H: cs.h, W: cs.w, K: cs.k, Groups: cs.g, KH: cs.kh, KW: cs.kw,
			SH: cs.sh, SW: cs.sw, DH: cs.dh, DW: cs.dw, PH: cs.ph, PW: cs.pw}
		p.OH = convOut(cs.h, cs.kh, cs.sh, cs.dh, cs.ph, cs.pha)
		p.OW = convOut(cs.w, cs.kw, cs.sw, cs.dw, cs.pw, cs.pwa)
		what := fmt.Sprintf("conv case %d %+v", ci, p)
		x := mkpair(be, randSlice(r, p.N*p.C*p.H*p.W, -1, 1))
		w := mkpair(be, randSlice(r, p.K*(p.C/p.Groups)*p.KH*p.KW, -1, 1))
		y := mkpair(be, randSlice(r, p.N*p.K*p.OH*p.OW, -1, 1))
		dy := mkpair(be, randSlice(r, p.N*p.K*p.OH*p.OW, -1, 1))
		dx := mkpair(be, randSlice(r, x.n, -1, 1))
		dw := mkpair(be, randSlice(r, w.n, -1, 1))
		be.ConvForward(p, y.g, x.g, w.g)
		ref.ConvForward(p, y.c, x.c, w.c)
		red := float64(p.C / p.Groups * p.KH * p.KW)
		y.check(t, be, what+" fwd", 1e-5*math.Sqrt(red), 1e-5)
		be.ConvBackwardData(p, dx.g, dy.g, w.g)
		ref.ConvBackwardData(p, dx.c, dy.c, w.c)
		dx.check(t, be, what+" bwd data", 1e-5*math.Sqrt(red), 1e-5)
		be.ConvBackwardFilter(p, dw.g, x.g, dy.g)
		ref.ConvBackwardFilter(p, dw.c, x.c, dy.c)
		dw.check(t, be, what+" bwd filter", 1e-5*math.Sqrt(float64(p.N*p.OH*p.OW)), 1e-5)
		for _, b := range []pair{x, w, y, dy, dx, dw} {
			b.free(be)
		}
	}
}

func TestPoolConformance(t *testing.T) {
	be := shared(t)
	r := rand.New(rand.NewSource(11))
	type pc struct{ n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow int }
	cases := []pc{
		{1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1},
		{2, 3, 8, 8, 2, 2, 2, 2, 0, 0, 4, 4},
		{2, 3, 7, 9, 3, 3, 2, 2, 1, 1, 4, 5},
		{1, 4, 1, 101, 1, 5, 1, 3, 0, 2, 1, 34},
		{3, 2, 5, 5, 3, 3, 1, 1, 1, 1, 5, 5},
		{1, 1, 4, 4, 3, 3, 3, 3, 2, 2, 2, 2}, // windows of padding only
		{64, 64, 32, 32, 2, 2, 2, 2, 0, 0, 16, 16},
	}
	for ci, cs := range cases {
		p := tensor.PoolParams{N: cs.n, C: cs.c, H: cs.h, W: cs.w, KH: cs.kh, KW: cs.kw, SH: cs.sh, SW: cs.sw, PH: cs.ph, PW: cs.pw, OH: cs.oh, OW: cs.ow}
		what := fmt.Sprintf("pool case %d %+v", ci, p)
		nx, ny := p.N*p.C*p.H*p.W, p.N*p.C*p.OH*p.OW
		x := mkpair(be, randSlice(r, nx, -1, 1))
		y := mkpair(be, make([]float32, ny))
		idx := mkpair(be, make([]float32, ny))
		dy := mkpair(be, randSlice(r, ny, -1, 1))
		dx := mkpair(be, randSlice(r, nx, -1, 1))
		be.MaxPool(p, y.g, idx.g, x.g)
		ref.MaxPool(p, y.c, idx.c, x.c)
		y.check(t, be, what+" max", 0, 0)
		idx.checkInt(t, be, what+" argmax")
		be.MaxPoolBackward(p, dx.g, dy.g, idx.g)
		ref.MaxPoolBackward(p, dx.c, dy.c, idx.c)
		dx.check(t, be, what+" max bwd", 1e-6, 1e-6)
		be.AvgPool(p, y.g, x.g)
		ref.AvgPool(p, y.c, x.c)
		y.check(t, be, what+" avg", 1e-6, 1e-5)
		be.AvgPoolBackward(p, dx.g, dy.g)
		ref.AvgPoolBackward(p, dx.c, dy.c)
		dx.check(t, be, what+" avg bwd", 1e-6, 1e-5)
		for _, b := range []pair{x, y, idx, dy, dx} {
			b.free(be)
		}
	}
}
