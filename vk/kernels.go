//go:build cgo

package vk

import (
	"fmt"
	"math"

	"github.com/dash-go/dash/tensor"
)

// Reduce reduces [outer][n][inner] over the middle axis.
func (be *Backend) Reduce(op tensor.ReduceOp, dst, src tensor.Buffer, outer, n, inner int) {
	d, s := be.buf("Reduce", dst), be.buf("Reduce", src)
	if n <= 0 {
		panic(fmt.Sprintf("vk.Reduce: empty reduction axis (outer %d, n %d, inner %d)", outer, n, inner))
	}
	if op > tensor.ReduceArgMin {
		panic(fmt.Sprintf("vk.Reduce: unknown op %d", op))
	}
	need("Reduce", s, 0, outer*n*inner)
	need("Reduce", d, 0, outer*inner)
	if outer*inner == 0 {
		return
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	be.reduce(op, d, s, outer, n, inner) // reduce.go
}

// Random fills n elements at off with counter-based random numbers
// (tensor.HashUniform / tensor.HashNormal).
func (be *Backend) Random(dst tensor.Buffer, off, n int, dist tensor.Distribution, seed uint64, a, b float32) {
	d := be.buf("Random", dst)
	need("Random", d, off, n)
	if dist != tensor.Uniform && dist != tensor.Normal {
		panic(fmt.Sprintf("vk.Random: unknown distribution %d", dist))
	}
	if n == 0 {
		return
	}
	key := hash32(uint32(seed) ^ hash32(uint32(seed>>32)+0x9e3779b9))
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	be.c.chunks(n, 1, func(lo, cnt int) {
		g, eo := alignArg(be.c, sub(d, true, off+lo, cnt))
		push := pushBuf{}.i(cnt, eo, int(dist)).u(key).f(a, b).i(lo)
		be.c.dispatch("random", nil, be.groups1D(cnt, 256), push, g)
	})
}

func hash32(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return x
}

// MatMul computes batched C = alpha·op(A)·op(B) + beta·C.
func (be *Backend) MatMul(c, a, b tensor.Buffer, p tensor.MatMulParams) {
	cb, ab, bb := be.buf("MatMul", c), be.buf("MatMul", a), be.buf("MatMul", b)
	if p.M < 0 || p.K < 0 || p.N < 0 || p.Batch < 0 {
		panic(fmt.Sprintf("vk.MatMul: bad sizes %+v", p))
	}
	if p.Batch == 0 || p.M == 0 || p.N == 0 {
		return
	}
	last := p.Batch - 1
	need("MatMul", cb, p.COff+last*p.StrideC, p.M*p.N)
	need("MatMul", ab, p.AOff+last*p.StrideA, p.M*p.K)
	need("MatMul", bb, p.BOff+last*p.StrideB, p.K*p.N)
	ars, acs := p.K, 1
	if p.TransA {
		ars, acs = 1, p.M
	}
	brs, bcs := p.N, 1
	if p.TransB {
		brs, bcs = 1, p.K
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	be.gemm(gemmArgs{c: cb.a, a: ab.a, b: bb.a, batch: p.Batch, M: p.M, N: p.N, K: p.K,
		aOff: p.AOff, bOff: p.BOff, cOff: p.COff, sA: p.StrideA, sB: p.StrideB, sC: p.StrideC,
		ars: ars, acs: acs, brs: brs, bcs: bcs, crs: p.N, alpha: p.Alpha, beta: p.Beta})
}

// gemmArgs describes a batched GEMM with explicit strides (in elements):
// op(A)[m,k] = a[aOff + i·sA + m·ars + k·acs], op(B)[k,n] = b[bOff + i·sB +
// k·brs + n·bcs], C[m,n] = c[cOff + i·sC + m·crs + n].
type gemmArgs struct {
	c, a, b                 *allocation
	batch, M, N, K          int
	aOff, bOff, cOff        int
	sA, sB, sC              int
	ars, acs, brs, bcs, crs int
	alpha, beta             float32
}

// gemm records the tiled matmul shader, splitting batches and row tiles
// over several dispatches when they exceed the grid limits. Caller holds
// c.mu.
func (be *Backend) gemm(g gemmArgs) {
	if be.gemmVariant(g) { // matmul_variants.go
		return
	}
	lim := int(be.c.info.MaxComputeWorkGroupCount[1])
	zlim := int(be.c.info.MaxComputeWorkGroupCount[2])
	lim, zlim = min(lim, 65535), min(zlim, 65535)
	nt := (g.N + 63) / 64
	if nt > int(be.c.info.MaxComputeWorkGroupCount[0]) {
		panic(fmt.Sprintf("vk.MatMul: N = %d needs %d workgroups, over the device limit", g.N, nt))
	}
	mt := (g.M + 63) / 64
	spec := []uint32{be.tiledSpec(), g.vec()}
	for b0 := 0; b0 < g.batch; b0 += zlim {
		nb := min(zlim, g.batch-b0)
		for m0 := 0; m0 < mt; m0 += lim {
			nm := min(lim, mt-m0)
			push := pushBuf{}.i(g.M, g.N, g.K, g.aOff, g.bOff, g.cOff, g.sA, g.sB, g.sC, g.ars, g.acs, g.brs, g.bcs).
				f(g.alpha, g.beta).i(b0, m0*64, g.crs)
			be.c.dispatch("matmul", spec, [3]uint32{uint32(nt), uint32(nm), uint32(nb)}, push,
				arg{a: g.c, write: true}, arg{a: g.a}, arg{a: g.b})
		}
	}
}

// GatherCols writes dst[r] = src[r*cols+idx[r]].
func (be *Backend) GatherCols(dst, src, idx tensor.Buffer, rows, cols int) {
	be.gatherScatter("GatherCols", 0, dst, src, idx, rows, cols)
}

// ScatterAddCols adds src[r] into dst[r*cols+idx[r]]. Indices outside
// [0, cols) are clamped (the CPU backend panics on them; a shader cannot).
func (be *Backend) ScatterAddCols(dst, src, idx tensor.Buffer, rows, cols int) {
	be.gatherScatter("ScatterAddCols", 1, dst, src, idx, rows, cols)
}

func (be *Backend) gatherScatter(op string, mode int, dst, src, idx tensor.Buffer, rows, cols int) {
	d, s, ix := be.buf(op, dst), be.buf(op, src), be.buf(op, idx)
	need(op, ix, 0, rows)
	if mode == 0 {
		need(op, d, 0, rows)
		need(op, s, 0, rows*cols)
	} else {
		need(op, s, 0, rows)
		need(op, d, 0, rows*cols)
	}
	if rows == 0 {
		return
	}
	if cols <= 0 {
		panic(fmt.Sprintf("vk.%s: cols = %d", op, cols))
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	args := []arg{wr(d), rd(s), rd(ix)}
	if mode == 1 {
		args[0] = arg{a: d.a, write: true} // read-modify-write
	}
	be.c.dispatch("gather_cols", nil, be.groups1D(rows, 256), pushBuf{}.i(rows, cols, mode), args...)
}

// SGDStep updates n parameters in place.
func (be *Backend) SGDStep(p, g, m tensor.Buffer, n int, o tensor.SGDParams) {
	pb, gb := be.buf("SGDStep", p), be.buf("SGDStep", g)
	need("SGDStep", pb, 0, n)
	need("SGDStep", gb, 0, n)
	useM := o.Momentum != 0
	mb := pb
	if useM {
		mb = be.buf("SGDStep", m)
		need("SGDStep", mb, 0, n)
	}
	if n == 0 {
		return
	}
	nest := 0
	if o.Nesterov {
		nest = 1
	}
	um := 0
	if useM {
		um = 1
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	be.c.chunks(n, 1, func(lo, cnt int) {
		push := pushBuf{}.i(cnt, nest, um).f(o.LR, o.Momentum, o.WeightDecay)
		be.c.dispatch("sgd", nil, be.groups1D(cnt, 256), push, sub(pb, true, lo, cnt), sub(gb, false, lo, cnt), sub(mb, true, lo, cnt))
	})
}

// AdamStep updates n parameters in place (Adam, or AdamW when o.Decoupled).
func (be *Backend) AdamStep(p, g, m, v tensor.Buffer, n int, o tensor.AdamParams) {
	pb, gb, mb, vb := be.buf("AdamStep", p), be.buf("AdamStep", g), be.buf("AdamStep", m), be.buf("AdamStep", v)
	for _, b := range []*Buffer{pb, gb, mb, vb} {
		need("AdamStep", b, 0, n)
	}
	if n == 0 {
		return
	}
	bc1 := float32(1 - math.Pow(float64(o.Beta1), float64(o.Step)))
	bc2 := float32(1 - math.Pow(float64(o.Beta2), float64(o.Step)))
	dec := 0
	if o.Decoupled {
		dec = 1
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	be.c.chunks(n, 1, func(lo, cnt int) {
		push := pushBuf{}.i(cnt, dec).f(o.LR, o.Beta1, o.Beta2, o.Eps, o.WeightDecay, bc1, bc2)
		be.c.dispatch("adam", nil, be.groups1D(cnt, 256), push,
			sub(pb, true, lo, cnt), sub(gb, false, lo, cnt), sub(mb, true, lo, cnt), sub(vb, true, lo, cnt))
	})
}

// ---- convolution and pooling ----

func convPush(p tensor.ConvParams) pushBuf {
	return pushBuf{}.i(p.N, p.C, p.H, p.W, p.K, p.Groups, p.KH, p.KW, p.SH, p.SW, p.DH, p.DW, p.PH, p.PW, p.OH, p.OW)
}

func checkConv(op string, p tensor.ConvParams) {
	if p.Groups <= 0 || p.C%p.Groups != 0 || p.K%p.Groups != 0 || p.SH <= 0 || p.SW <= 0 || p.DH <= 0 || p.DW <= 0 ||
		p.N < 0 || p.C <= 0 || p.K <= 0 || p.KH <= 0 || p.KW <= 0 || p.OH < 0 || p.OW < 0 || p.H < 0 || p.W < 0 {
		panic(fmt.Sprintf("vk.%s: bad parameters %+v", op, p))
	}
}

// ConvForward computes a 2-D cross-correlation with groups.
func (be *Backend) ConvForward(p tensor.ConvParams, y, x, w tensor.Buffer) {
	checkConv("ConvForward", p)
	yb, xb, wb := be.buf("ConvForward", y), be.buf("ConvForward", x), be.buf("ConvForward", w)
	ny := p.N * p.K * p.OH * p.OW
	need("ConvForward", yb, 0, ny)
	need("ConvForward", xb, 0, p.N*p.C*p.H*p.W)
	need("ConvForward", wb, 0, p.K*(p.C/p.Groups)*p.KH*p.KW)
	if ny == 0 {
		return
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	if !be.directConv {
		be.convForward(p, yb.a, xb.a, wb.a)
		return
	}
	be.c.dispatch("conv_fwd", nil, be.groups1D(ny, 256), convPush(p), wr(yb), rd(xb), rd(wb))
}

// ConvBackwardData writes dx (overwriting) from dy and w.
func (be *Backend) ConvBackwardData(p tensor.ConvParams, dx, dy, w tensor.Buffer) {
	checkConv("ConvBackwardData", p)
	dxb, dyb, wb := be.buf("ConvBackwardData", dx), be.buf("ConvBackwardData", dy), be.buf("ConvBackwardData", w)
	nx := p.N * p.C * p.H * p.W
	need("ConvBackwardData", dxb, 0, nx)
	need("ConvBackwardData", dyb, 0, p.N*p.K*p.OH*p.OW)
	need("ConvBackwardData", wb, 0, p.K*(p.C/p.Groups)*p.KH*p.KW)
	if nx == 0 {
		return
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	if !be.directConv {
		be.convBackwardData(p, dxb.a, dyb.a, wb.a)
		return
	}
	be.c.dispatch("conv_bwd_data", nil, be.groups1D(nx, 256), convPush(p), wr(dxb), rd(dyb), rd(wb))
}

// ConvBackwardFilter writes dw (overwriting) from x and dy.
func (be *Backend) ConvBackwardFilter(p tensor.ConvParams, dw, x, dy tensor.Buffer) {
	checkConv("ConvBackwardFilter", p)
	dwb, xb, dyb := be.buf("ConvBackwardFilter", dw), be.buf("ConvBackwardFilter", x), be.buf("ConvBackwardFilter", dy)
	nw := p.K * (p.C / p.Groups) * p.KH * p.KW
	need("ConvBackwardFilter", dwb, 0, nw)
	need("ConvBackwardFilter", xb, 0, p.N*p.C*p.H*p.W)
	need("ConvBackwardFilter", dyb, 0, p.N*p.K*p.OH*p.OW)
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	if !be.directConv && nw > 0 {
		be.convBackwardFilter(p, dwb.a, xb.a, dyb.a)
		return
	}
	be.c.dispatch("conv_bwd_filter", nil, be.c.grid(uint64(nw)), convPush(p), wr(dwb), rd(xb), rd(dyb))
}

func poolPush(p tensor.PoolParams) pushBuf {
	return pushBuf{}.i(p.N, p.C, p.H, p.W, p.KH, p.KW, p.SH, p.SW, p.PH, p.PW, p.OH, p.OW)
}

func checkPool(op string, p tensor.PoolParams) {
	if p.KH <= 0 || p.KW <= 0 || p.SH <= 0 || p.SW <= 0 || p.N < 0 || p.C < 0 || p.OH < 0 || p.OW < 0 || p.PH < 0 || p.PW < 0 {
		panic(fmt.Sprintf("vk.%s: bad parameters %+v", op, p))
	}
}

// MaxPool writes y and the flat index of each maximum into idx.
func (be *Backend) MaxPool(p tensor.PoolParams, y, idx, x tensor.Buffer) {
	checkPool("MaxPool", p)
	yb, ib, xb := be.buf("MaxPool", y), be.buf("MaxPool", idx), be.buf("MaxPool", x)
	ny := p.N * p.C * p.OH * p.OW
	need("MaxPool", yb, 0, ny)
	need("MaxPool", ib, 0, ny)
	need("MaxPool", xb, 0, p.N*p.C*p.H*p.W)
	if ny == 0 {
		return
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	be.c.dispatch("maxpool", nil, be.groups1D(ny, 256), poolPush(p), wr(yb), wr(ib), rd(xb))
}

// MaxPoolBackward writes dx (overwriting) by routing dy through idx.
func (be *Backend) MaxPoolBackward(p tensor.PoolParams, dx, dy, idx tensor.Buffer) {
	checkPool("MaxPoolBackward", p)
	dxb, dyb, ib := be.buf("MaxPoolBackward", dx), be.buf("MaxPoolBackward", dy), be.buf("MaxPoolBackward", idx)
	nx := p.N * p.C * p.H * p.W
	need("MaxPoolBackward", dxb, 0, nx)
	need("MaxPoolBackward", dyb, 0, p.N*p.C*p.OH*p.OW)
	need("MaxPoolBackward", ib, 0, p.N*p.C*p.OH*p.OW)
	if nx == 0 {
		return
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	be.c.dispatch("maxpool_bwd", nil, be.groups1D(nx, 256), poolPush(p), wr(dxb), rd(dyb), rd(ib))
}

// AvgPool averages each window (padding counts as zeros).
func (be *Backend) AvgPool(p tensor.PoolParams, y, x tensor.Buffer) {
	checkPool("AvgPool", p)
	yb, xb := be.buf("AvgPool", y), be.buf("AvgPool", x)
	ny := p.N * p.C * p.OH * p.OW
	need("AvgPool", yb, 0, ny)
	need("AvgPool", xb, 0, p.N*p.C*p.H*p.W)
	if ny == 0 {
		return
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	be.c.dispatch("avgpool", nil, be.groups1D(ny, 256), poolPush(p), wr(yb), rd(xb))
}

// AvgPoolBackward writes dx (overwriting).
func (be *Backend) AvgPoolBackward(p tensor.PoolParams, dx, dy tensor.Buffer) {
	checkPool("AvgPoolBackward", p)
	dxb, dyb := be.buf("AvgPoolBackward", dx), be.buf("AvgPoolBackward", dy)
	nx := p.N * p.C * p.H * p.W
	need("AvgPoolBackward", dxb, 0, nx)
	need("AvgPoolBackward", dyb, 0, p.N*p.C*p.OH*p.OW)
	if nx == 0 {
		return
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	be.c.dispatch("avgpool_bwd", nil, be.groups1D(nx, 256), poolPush(p), wr(dxb), rd(dyb))
}
