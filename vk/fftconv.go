//go:build cgo

package vk

import (
	"fmt"

	"github.com/dash-go/dash/tensor"
)

// Fused kernels of the depthwise Fourier convolution (dash's aggregated
// conv on Vulkan; see NOTES.md, "FFT"). With x [B][C][n] real, H [C][F]
// complex (F = n/2+1) and G the gradient's spectrum:
//
//	forward:  X = RFFT(x), Y = X·conj(H)      RFFTMulSpec(Y, X, x, H, conj)
//	backward: G = RFFT(g), dX = G·H           RFFTMulSpec(dX, G, g, H)
//	          dH = Σ_b X·conj(G)              ComplexMulSum(dH, X, G, B, C·F, true)
//
// Each is one pass through the spectrum: the multiply (and the second
// store of the plain spectrum) happens in the real FFT's post-processing
// pass, and the batch sum never materialises the [B][C][F] product.

// RFFTMulSpec is RFFTMul that also stores the unmultiplied spectrum
// RFFT(src) into spec ([batch][chans][n/2+1] interleaved complex) in the
// same pass; spec nil stores only dst.
func (be *Backend) RFFTMulSpec(dst, spec, src, w tensor.Buffer, batch, chans, n int, conjW bool) {
	spectralSizes("RFFTMulSpec", batch, chans, n)
	d, s, wb := be.buf("RFFTMulSpec", dst), be.buf("RFFTMulSpec", src), be.buf("RFFTMulSpec", w)
	var sp *Buffer
	if spec != nil {
		sp = be.buf("RFFTMulSpec", spec)
	}
	if batch == 0 || chans == 0 || n == 0 {
		return
	}
	nf := n/2 + 1
	need("RFFTMulSpec", s, 0, batch*chans*n)
	need("RFFTMulSpec", wb, 0, chans*nf*2)
	need("RFFTMulSpec", d, 0, batch*chans*nf*2)
	var spa *allocation
	if sp != nil {
		need("RFFTMulSpec", sp, 0, batch*chans*nf*2)
		if sp.a == d.a {
			panic("vk.RFFTMulSpec: spec and dst are the same buffer")
		}
		spa = sp.a
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	be.rfftRowsMulSpec(d.a, spa, s.a, wb.a, batch*chans, n, chans, conjW)
}

// ComplexMulSum writes dst[j] = Σ_b a[b][j]·c[b][j] (c conjugated when
// conjC) for interleaved complex a, c [batch][n] and dst [n]: a product
// summed over the batch in one pass (the kernel gradient of a depthwise
// Fourier convolution). dst is overwritten; batch 0 writes zeros.
func (be *Backend) ComplexMulSum(dst, a, c tensor.Buffer, batch, n int, conjC bool) {
	if batch < 0 || n < 0 {
		panic(fmt.Sprintf("vk.ComplexMulSum: negative size batch=%d n=%d", batch, n))
	}
	d, x, y := be.buf("ComplexMulSum", dst), be.buf("ComplexMulSum", a), be.buf("ComplexMulSum", c)
	need("ComplexMulSum", d, 0, 2*n)
	need("ComplexMulSum", x, 0, 2*batch*n)
	need("ComplexMulSum", y, 0, 2*batch*n)
	if n == 0 {
		return
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	if batch == 0 {
		be.c.fillBytes(d.a, 0, uint64(8*n), 0)
		return
	}
	wg := be.wgSize(256)
	// Columns in chunks whose [batch][cols] slab fits a binding: rows of a
	// and c are bound as one range from the chunk's first column of row 0 to
	// its last column of the last row (the chunk columns of every row lie
	// inside it).
	maxF := be.bindFloats()
	cols := n
	if 2*batch*n > maxF {
		// span of a chunk of cols columns: 2·((batch−1)·n + cols) floats
		cols = (maxF/2 - (batch-1)*n)
		if cols < 1 {
			// Even one column spans more than a binding: chunk the batch
			// instead, accumulating in dst (Σ over row blocks).
			be.complexMulSumRows(d, x, y, batch, n, conjC, wg)
			return
		}
	}
	for j0 := 0; j0 < n; j0 += cols {
		cnt := min(cols, n-j0)
		span := 2 * ((batch-1)*n + cnt)
		ga, ao := alignArg(be.c, sub(x, false, 2*j0, span))
		gc, co := alignArg(be.c, sub(y, false, 2*j0, span))
		gd, do := alignArg(be.c, sub(d, true, 2*j0, 2*cnt))
		push := pushBuf{}.i(cnt, batch, ao/2, co/2, do/2, n, 0)
		be.c.dispatch("reduce_cmul", []uint32{uint32(wg), uint32(b2i(conjC))}, be.groups1D(cnt, wg), push, gd, ga, gc)
	}
}

// complexMulSumRows is ComplexMulSum over blocks of whole rows, the first
// block overwriting dst and the others accumulating (for rows longer than
// a binding allows with the column chunks).
func (be *Backend) complexMulSumRows(d, x, y *Buffer, batch, n int, conjC bool, wg int) {
	maxF := be.bindFloats()
	cols := min(n, maxF/2)
	rows := max(1, maxF/(2*n))
	for j0 := 0; j0 < n; j0 += cols {
		cnt := min(cols, n-j0)
		for b0 := 0; b0 < batch; b0 += rows {
			nb := min(rows, batch-b0)
			span := 2 * ((nb-1)*n + cnt)
			ga, ao := alignArg(be.c, sub(x, false, 2*(b0*n+j0), span))
			gc, co := alignArg(be.c, sub(y, false, 2*(b0*n+j0), span))
			gd, do := alignArg(be.c, sub(d, true, 2*j0, 2*cnt))
			push := pushBuf{}.i(cnt, nb, ao/2, co/2, do/2, n, b2i(b0 > 0))
			be.c.dispatch("reduce_cmul", []uint32{uint32(wg), uint32(b2i(conjC))}, be.groups1D(cnt, wg), push, gd, ga, gc)
		}
	}
}

// bindFloats is the most 4-byte elements one sub-range binding may cover
// (see Context.chunkElems), kept even so that complex values never straddle
// two chunks.
func (be *Backend) bindFloats() int {
	return be.c.chunkElems() &^ 1
}

// wgSize is a 1-D workgroup size for kernels whose size is a specialisation
// constant: want, within the device's invocation and x-size limits.
func (be *Backend) wgSize(want int) int {
	i := be.c.info
	return max(1, min(want, int(i.MaxComputeWorkGroupInvocations), int(i.MaxComputeWorkGroupSize[0])))
}
