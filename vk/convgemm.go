//go:build cgo

package vk

import "github.com/dash-go/dash/tensor"

// Convolutions lowered to GEMM (im2col): for each group g and chunk of ns
// samples, col [Cg·KH·KW][ns][OH·OW] is built on the device, then
//
//	forward:         y_s  = W_g · col_s                      (batched over s)
//	backward data:   dcol = W_gᵀ · dy_s, dx = col2im(dcol)
//	backward filter: dW_g += dyᵀ_g · colᵀ  with dy_g copied to [Kg][ns][OH·OW]
//
// so the work runs in the tiled matmul shader. When a single sample's col
// does not fit one binding the direct shaders are used instead.

// colBudget caps the scratch col buffer (bytes).
const colBudget = 64 << 20

// convChunk returns the samples per chunk, or 0 when im2col does not fit.
func (be *Backend) convChunk(p tensor.ConvParams) int {
	ckk := p.C / p.Groups * p.KH * p.KW
	per := ckk * p.OH * p.OW * 4
	kper := p.K / p.Groups * p.OH * p.OW * 4
	limit := min(uint64(colBudget), be.c.mem.maxRange-be.c.mem.align)
	if per == 0 || uint64(per) > limit || uint64(kper) > limit {
		return 0
	}
	return max(1, min(p.N, int(limit/uint64(max(per, kper)))))
}

func (be *Backend) im2col(p tensor.ConvParams, col, x *allocation, n0, ns, g, mode int, threads int) {
	push := convPush(p).i(n0, ns, g, mode)
	if mode == 0 {
		be.c.dispatch("im2col", nil, be.groups1D(threads, 256), push, arg{a: col, write: true}, arg{a: x})
	} else {
		be.c.dispatch("im2col", nil, be.groups1D(threads, 256), push, arg{a: x, write: true}, arg{a: col})
	}
}

// convForwardGEMM records the forward convolution; caller holds c.mu.
func (be *Backend) convForwardGEMM(p tensor.ConvParams, y, x, w *allocation, chunk int) {
	cg, kg := p.C/p.Groups, p.K/p.Groups
	ckk, ohw := cg*p.KH*p.KW, p.OH*p.OW
	col := be.c.scratch(uint64(ckk*chunk*ohw) * 4)
	defer be.c.rec.free(col)
	for n0 := 0; n0 < p.N; n0 += chunk {
		ns := min(chunk, p.N-n0)
		for g := 0; g < p.Groups; g++ {
			be.im2col(p, col, x, n0, ns, g, 0, ckk*ns*ohw)
			be.gemm(gemmArgs{c: y, a: w, b: col, batch: ns, M: kg, N: ohw, K: ckk,
				aOff: g * kg * ckk, ars: ckk, acs: 1,
				sB: ohw, brs: ns * ohw, bcs: 1,
				cOff: (n0*p.K + g*kg) * ohw, sC: p.K * ohw, crs: ohw, alpha: 1})
		}
	}
}

// convBackwardDataGEMM records dx = conv_transpose(dy, w); caller holds c.mu.
func (be *Backend) convBackwardDataGEMM(p tensor.ConvParams, dx, dy, w *allocation, chunk int) {
	cg, kg := p.C/p.Groups, p.K/p.Groups
	ckk, ohw := cg*p.KH*p.KW, p.OH*p.OW
	col := be.c.scratch(uint64(ckk*chunk*ohw) * 4)
	defer be.c.rec.free(col)
	for n0 := 0; n0 < p.N; n0 += chunk {
		ns := min(chunk, p.N-n0)
		for g := 0; g < p.Groups; g++ {
			be.gemm(gemmArgs{c: col, a: w, b: dy, batch: ns, M: ckk, N: ohw, K: kg,
				aOff: g * kg * ckk, ars: 1, acs: ckk,
				bOff: (n0*p.K + g*kg) * ohw, sB: p.K * ohw, brs: ohw, bcs: 1,
				sC: ohw, crs: ns * ohw, alpha: 1})
			be.im2col(p, col, dx, n0, ns, g, 1, ns*cg*p.H*p.W)
		}
	}
}

// convBackwardFilterGEMM records dw = Σ_n dy_n ⋆ x_n; caller holds c.mu.
func (be *Backend) convBackwardFilterGEMM(p tensor.ConvParams, dw, x, dy *allocation, chunk int) {
	cg, kg := p.C/p.Groups, p.K/p.Groups
	ckk, ohw := cg*p.KH*p.KW, p.OH*p.OW
	col := be.c.scratch(uint64(ckk*chunk*ohw) * 4)
	dyT := be.c.scratch(uint64(kg*chunk*ohw) * 4)
	defer be.c.rec.free(col)
	defer be.c.rec.free(dyT)
	for n0 := 0; n0 < p.N; n0 += chunk {
		ns := min(chunk, p.N-n0)
		for g := 0; g < p.Groups; g++ {
			be.im2col(p, col, x, n0, ns, g, 0, ckk*ns*ohw)
			// dyT[k][s][ohw] = dy[n0+s][g·Kg+k][ohw]
			sh := []int{kg, ns, ohw}
			push := pushBuf{}.i(kg*ns*ohw, 3, 0, (n0*p.K+g*kg)*ohw).arr(sh, 8).
				arr([]int{ns * ohw, ohw, 1}, 8).arr([]int{ohw, p.K * ohw, 1}, 8)
			be.c.dispatch("copy", nil, be.groups1D(kg*ns*ohw, 256), push, arg{a: dyT, write: true}, arg{a: dy})
			beta := float32(1)
			if n0 == 0 {
				beta = 0
			}
			be.gemm(gemmArgs{c: dw, a: dyT, b: col, batch: 1, M: kg, N: ckk, K: ns * ohw,
				ars: ns * ohw, acs: 1, brs: 1, bcs: ns * ohw,
				cOff: g * kg * ckk, crs: ckk, alpha: 1, beta: beta})
		}
	}
}
