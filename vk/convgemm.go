//go:build cgo

package vk

import "github.com/dash-go/dash/tensor"

// Convolutions as implicit GEMM (shaders/conv_gemm.comp): the GEMM operands
// are gathered from x, w and dy as the tiles are loaded, so no im2col
// buffer exists. Per group g:
//
//	forward:         y_g[m][(n,p)]  = Σ_(c,kh,kw) w_g · X        (M = K/G)
//	backward data:   dx_g[m][(n,q)] = Σ_(k,kh,kw) w_gᵀ · dY      (M = C/G)
//	backward filter: dw_g[m][(c,kh,kw)] = Σ_(n,p) dy_g · Xᵀ      (M = K/G)
//
// All groups run in one dispatch (grid z). The filter gradient's reduction
// runs over N·OH·OW: it is split over the batch (split-K) into partial
// results when the output alone has too few tiles to fill the device, and
// the partials are summed by conv_splitsum. Depthwise convolutions (one
// input and one output channel per group: a single GEMM row) use the direct
// kernel conv_dw instead.

// convTarget is the number of workgroups a filter-gradient dispatch aims
// for before its reduction is split: a few waves on a large GPU. CPU
// devices run a handful of threads, so splitting only adds the final sum.
func (be *Backend) convTarget() int {
	if be.c.info.Type == TypeCPU {
		return 4
	}
	return 512
}

// convLoopLimit bounds the reduction length one invocation walks. llvmpipe
// (lavapipe) ends every shader loop after 65535 iterations in all (its
// guard against endless loops), silently, so on CPU devices longer
// reductions are split and accumulated over several dispatches; GPUs have
// no such limit.
func (be *Backend) convLoopLimit() int {
	if convRLimit > 0 {
		return convRLimit
	}
	if be.c.info.Type == TypeCPU {
		return 1 << 15
	}
	return 1 << 30
}

// Test hooks: convRLimit (> 0) overrides convLoopLimit; convSplitsForce
// (> 0) forces the filter gradient's parallel splits.
var convRLimit, convSplitsForce = 0, 0

// depthwise reports the convolutions conv_dw handles.
func depthwise(p tensor.ConvParams) bool {
	return p.Groups == p.C && p.Groups == p.K && p.Groups > 1
}

// splitPlan divides a reduction of length R into splits of rPer; cnt of
// them run side by side (partial results in a scratch of cnt·outN floats,
// then summed), in passes that accumulate.
type splitPlan struct{ rPer, n, cnt int }

// convPlan returns the split plan of a reduction of length R whose dispatch has
// groups workgroups per split and outN outputs; parallel allows side-by-side
// splits (filter gradients), perInv is the iterations per element of R an
// invocation walks (the loop limit's unit).
func (be *Backend) convPlan(R, groups, outN int, parallel bool, perInv float64) splitPlan {
	R = max(R, 1)
	rPer := R
	want := 1
	if parallel {
		want = max(1, (be.convTarget()+groups-1)/groups)
		if convSplitsForce > 0 {
			want = convSplitsForce
		}
		rPer = max((R+want-1)/want, min(R, 256))
		if convSplitsForce > 0 {
			rPer = (R + want - 1) / want
		}
	}
	rPer = max(1, min(rPer, int(float64(be.convLoopLimit())/perInv)))
	n := (R + rPer - 1) / rPer
	cnt := 1
	if parallel {
		limit := int(min(be.c.mem.maxRange, 64<<20) / 4)
		cnt = max(1, min(n, want, limit/max(outN, 1)))
	}
	return splitPlan{rPer: rPer, n: n, cnt: cnt}
}

// convRun records the plan's passes: pass(s0, cnt, accum, out) records one
// dispatch of splits s0…s0+cnt−1 into out; with side-by-side splits the
// partials are summed into dst at the end. Caller holds c.mu.
func (be *Backend) convRun(sp splitPlan, dst *allocation, outN int, pass func(s0, cnt int, accum bool, out *allocation)) {
	out := dst
	if sp.cnt > 1 {
		out = be.c.scratch(uint64(sp.cnt*outN) * 4)
		defer be.c.rec.free(out)
	}
	for s0 := 0; s0 < sp.n; s0 += sp.cnt {
		pass(s0, min(sp.cnt, sp.n-s0), s0 > 0, out)
	}
	if sp.cnt > 1 {
		be.c.dispatch("conv_splitsum", nil, be.groups1D(outN, 128), pushBuf{}.i(outN, sp.cnt),
			arg{a: dst, write: true}, arg{a: out})
	}
}

// convGEMM records one implicit-GEMM convolution (mode 0 forward, 1 backward
// data, 2 backward filter); caller holds c.mu.
func (be *Backend) convGEMM(mode int, p tensor.ConvParams, dst, a, b *allocation) {
	cg, kg := p.C/p.Groups, p.K/p.Groups
	khw := p.KH * p.KW
	var M, NC, R, outN int
	switch mode {
	case 0:
		M, NC, R, outN = kg, p.N*p.OH*p.OW, cg*khw, p.N*p.K*p.OH*p.OW
	case 1:
		M, NC, R, outN = cg, p.N*p.H*p.W, kg*khw, p.N*p.C*p.H*p.W
	default:
		M, NC, R, outN = kg, cg*khw, p.N*p.OH*p.OW, p.K*cg*khw
	}
	mt, nt := (M+63)/64, (NC+63)/64
	sp := be.convPlan(R, mt*nt*p.Groups, outN, mode == 2, 1)
	zlim := min(int(be.c.info.MaxComputeWorkGroupCount[2]), 65535)
	grid := be.c.grid(uint64(mt) * uint64(nt))
	be.convRun(sp, dst, outN, func(s0, cnt int, accum bool, out *allocation) {
		gper := max(1, zlim/cnt) // groups per dispatch
		for g0 := 0; g0 < p.Groups; g0 += gper {
			ng := min(gper, p.Groups-g0)
			grid[2] = uint32(ng * cnt)
			push := convPush(p).i(nt, g0, cnt, sp.rPer, outN, s0, b2i(accum))
			be.c.dispatch("conv_gemm", []uint32{uint32(mode), be.tiledSpec()}, grid, push,
				arg{a: out, write: true}, arg{a: a}, arg{a: b})
		}
	})
}

// convDW records the depthwise kernel (mode 0 forward, 1 backward data, 2
// backward filter); caller holds c.mu.
func (be *Backend) convDW(mode int, p tensor.ConvParams, dst, a, b *allocation) {
	khw := p.KH * p.KW
	tBlocks := (khw + 7) / 8
	if mode != 2 {
		pTiles := (p.OH*p.OW + 511) / 512
		if mode == 1 {
			pTiles = (p.H*p.W + 511) / 512
		}
		push := convPush(p).i(pTiles, 1, 1, tBlocks, 0, 0)
		be.c.dispatch("conv_dw", []uint32{uint32(mode)}, be.c.grid(uint64(p.N*p.C)*uint64(pTiles)), push,
			arg{a: dst, write: true}, arg{a: a}, arg{a: b})
		return
	}
	outN := p.C * khw
	// An invocation walks rPer/128 positions, 8 taps each.
	sp := be.convPlan(p.N*p.OH*p.OW, p.C*tBlocks, outN, true, 8.0/128)
	be.convRun(sp, dst, outN, func(s0, cnt int, accum bool, out *allocation) {
		push := convPush(p).i(1, cnt, sp.rPer, tBlocks, s0, b2i(accum))
		be.c.dispatch("conv_dw", []uint32{2}, be.c.grid(uint64(cnt*p.C)*uint64(tBlocks)), push,
			arg{a: out, write: true}, arg{a: a}, arg{a: b})
	})
}

// convForward records y = conv(x, w); caller holds c.mu.
func (be *Backend) convForward(p tensor.ConvParams, y, x, w *allocation) {
	if depthwise(p) {
		be.convDW(0, p, y, x, w)
		return
	}
	be.convGEMM(0, p, y, w, x)
}

// convBackwardData records dx = conv_transpose(dy, w); caller holds c.mu.
func (be *Backend) convBackwardData(p tensor.ConvParams, dx, dy, w *allocation) {
	if depthwise(p) {
		be.convDW(1, p, dx, dy, w)
		return
	}
	be.convGEMM(1, p, dx, w, dy)
}

// convBackwardFilter records dw = Σ_n dy_n ⋆ x_n; caller holds c.mu.
func (be *Backend) convBackwardFilter(p tensor.ConvParams, dw, x, dy *allocation) {
	if depthwise(p) {
		be.convDW(2, p, dw, x, dy)
		return
	}
	be.convGEMM(2, p, dw, dy, x)
}
