//go:build cgo

package vk

import (
	"fmt"

	"github.com/dash-go/dash/tensor"
)

// ComplexContract contracts interleaved complex tensors over channels for
// every frequency (tensor.ContractMode); dst is overwritten.
func (be *Backend) ComplexContract(mode tensor.ContractMode, dst, a, b tensor.Buffer, B, I, O, F int) {
	d, x, y := be.buf("ComplexContract", dst), be.buf("ComplexContract", a), be.buf("ComplexContract", b)
	if B < 0 || I < 0 || O < 0 || F < 0 {
		panic(fmt.Sprintf("vk.ComplexContract: negative size B=%d I=%d O=%d F=%d", B, I, O, F))
	}
	var M, N, K, sAm, sAk, sBk, sBn, conj, na, nb, nc int
	switch mode {
	case tensor.ContractForward:
		M, K, N = B, I, O
		sAm, sAk, sBk, sBn = I, 1, 1, I
		na, nb, nc = B*I, O*I, B*O
	case tensor.ContractGradX:
		M, K, N = B, O, I
		sAm, sAk, sBk, sBn = O, 1, I, 1
		conj = 1
		na, nb, nc = B*O, O*I, B*I
	case tensor.ContractGradW:
		M, K, N = O, B, I
		sAm, sAk, sBk, sBn = 1, O, I, 1
		conj = 1
		na, nb, nc = B*O, B*I, O*I
	default:
		panic(fmt.Sprintf("vk.ComplexContract: unknown mode %d", mode))
	}
	need("ComplexContract", x, 0, 2*na*F)
	need("ComplexContract", y, 0, 2*nb*F)
	need("ComplexContract", d, 0, 2*nc*F)
	if nc == 0 || F == 0 {
		return
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	if K == 0 {
		be.c.fillBytes(d.a, 0, uint64(8*nc*F), 0)
		return
	}
	// contract.comp: tiles of 8 frequencies × 16×16 (m, n) outputs.
	fTiles, mTiles, nTiles := (F+7)/8, (M+15)/16, (N+15)/16
	push := pushBuf{}.i(M, N, K, F, sAm, sAk, sBk, sBn, conj, fTiles, nTiles)
	be.c.dispatch("contract", []uint32{be.tiledSpec()}, be.c.grid(uint64(fTiles)*uint64(mTiles)*uint64(nTiles)), push, wr(d), rd(x), rd(y))
}

// ComplexMul multiplies interleaved complex elements with broadcasting.
func (be *Backend) ComplexMul(dst tensor.Buffer, shape []int, a tensor.Buffer, aOff int, aStrides []int, b tensor.Buffer, bOff int, bStrides []int, conjB bool) {
	d, x, y := be.buf("ComplexMul", dst), be.buf("ComplexMul", a), be.buf("ComplexMul", b)
	if len(aStrides) != len(shape) || len(bStrides) != len(shape) || len(shape) > tensor.MaxRank {
		panic(fmt.Sprintf("vk.ComplexMul: shape %v with strides %v/%v", shape, aStrides, bStrides))
	}
	n := numel(shape)
	if n == 0 {
		return
	}
	need("ComplexMul", d, 0, 2*n)
	for _, v := range []struct {
		b   *Buffer
		off int
		st  []int
	}{{x, aOff, aStrides}, {y, bOff, bStrides}} {
		lo, hi := viewSpan(0, shape, v.st)
		if v.off+2*lo < 0 || v.off+2*hi+2 > v.b.n {
			panic(fmt.Sprintf("vk.ComplexMul: view (off %d, shape %v, strides %v) outside a buffer of %d floats", v.off, shape, v.st, v.b.n))
		}
	}
	ds := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		ds[i] = acc
		acc *= shape[i]
	}
	sh, st := collapse(shape, ds, aStrides, bStrides)
	cj := 0
	if conjB {
		cj = 1
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	push := pushBuf{}.i(n, len(sh), aOff, bOff, cj).arr(sh, 8).arr(st[1], 8).arr(st[2], 8)
	be.c.dispatch("complex_mul", nil, be.groups1D(n, 256), push, wr(d), rd(x), rd(y))
}

func kronDims(op string, k, d []int) (kh, kw, dh, dw int) {
	if len(k) != len(d) || len(k) < 1 || len(k) > 2 {
		panic(fmt.Sprintf("vk.%s: k %v and d %v must both have length 1 or 2", op, k, d))
	}
	for i := range k {
		if k[i] < 1 || d[i] < 1 {
			panic(fmt.Sprintf("vk.%s: bad kernel size %v or dilation %v", op, k, d))
		}
	}
	if len(k) == 1 {
		return 1, k[0], 1, d[0]
	}
	return k[0], k[1], d[0], d[1]
}

// KronDilate scatters kernels [rows][k...] into dilated kernels
// [rows][d(k-1)+1 ...] with zeros between taps (dst overwritten).
func (be *Backend) KronDilate(dst, src tensor.Buffer, rows int, k, d []int) {
	be.kron("KronDilate", 0, dst, src, rows, k, d)
}

// KronGather is the adjoint of KronDilate.
func (be *Backend) KronGather(dst, src tensor.Buffer, rows int, k, d []int) {
	be.kron("KronGather", 1, dst, src, rows, k, d)
}

func (be *Backend) kron(op string, mode int, dst, src tensor.Buffer, rows int, k, d []int) {
	kh, kw, dh, dw := kronDims(op, k, d)
	if rows < 0 {
		panic(fmt.Sprintf("vk.%s: rows = %d", op, rows))
	}
	db, sb := be.buf(op, dst), be.buf(op, src)
	small, big := rows*kh*kw, rows*(dh*(kh-1)+1)*(dw*(kw-1)+1)
	n := big
	if mode == 0 {
		need(op, sb, 0, small)
		need(op, db, 0, big)
	} else {
		need(op, sb, 0, big)
		need(op, db, 0, small)
		n = small
	}
	if n == 0 {
		return
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	be.c.dispatch("kron", nil, be.groups1D(n, 256), pushBuf{}.i(rows, kh, kw, dh, dw, mode), wr(db), rd(sb))
}
