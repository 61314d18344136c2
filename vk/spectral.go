//go:build cgo

package vk

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/dash-go/dash/tensor"
)

// The real FFTs run as direct O(n²) DFTs with a float64-accurate twiddle
// table cached per length: correct for every length, but slow for long
// transforms. The Stockham FFT of issue 4 replaces this path.

// twiddles returns the cached table tw[m] = (cos 2πm/n, −sin 2πm/n), m < n.
// Caller holds c.mu.
func (be *Backend) twiddles(n int) *allocation {
	if be.tw == nil {
		be.tw = map[int]*allocation{}
	}
	if a, ok := be.tw[n]; ok {
		return a
	}
	t := make([]float32, 2*n)
	for m := 0; m < n; m++ {
		s, c := math.Sincos(2 * math.Pi * float64(m) / float64(n))
		t[2*m], t[2*m+1] = float32(c), float32(-s)
	}
	a := be.c.alloc(uint64(8 * n))
	be.c.upload(a, 0, unsafe.Pointer(&t[0]), uint64(8*n))
	be.tw[n] = a
	return a
}

func (be *Backend) dft(dst, src *allocation, tw *allocation, rows, n, inner, mode, inverse int, scale float32, threads int) {
	push := pushBuf{}.i(rows, n, inner, mode, inverse).f(scale)
	be.c.dispatch("dft", nil, be.groups1D(threads, 256), push, arg{a: dst, write: true}, arg{a: src}, arg{a: tw})
}

func spectralSizes(op string, dims ...int) {
	for _, d := range dims {
		if d < 0 {
			panic(fmt.Sprintf("vk.%s: negative size in %v", op, dims))
		}
	}
}

// RFFT computes batch real transforms of length n (unnormalised).
func (be *Backend) RFFT(dst, src tensor.Buffer, batch, n int) {
	spectralSizes("RFFT", batch, n)
	d, s := be.buf("RFFT", dst), be.buf("RFFT", src)
	if batch == 0 || n == 0 {
		return
	}
	nf := n/2 + 1
	need("RFFT", s, 0, batch*n)
	need("RFFT", d, 0, batch*nf*2)
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	be.dft(d.a, s.a, be.twiddles(n), batch, n, 1, 0, 0, 1, batch*nf)
}

// IRFFT computes batch inverse real transforms of length n, normalised by 1/n.
func (be *Backend) IRFFT(dst, src tensor.Buffer, batch, n int) {
	spectralSizes("IRFFT", batch, n)
	d, s := be.buf("IRFFT", dst), be.buf("IRFFT", src)
	if batch == 0 || n == 0 {
		return
	}
	nf := n/2 + 1
	need("IRFFT", s, 0, batch*nf*2)
	need("IRFFT", d, 0, batch*n)
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	be.dft(d.a, s.a, be.twiddles(n), batch, n, 1, 1, 0, 1/float32(n), batch*n)
}

// RFFT2 computes batch 2-D real transforms (numpy rfft2), unnormalised.
func (be *Backend) RFFT2(dst, src tensor.Buffer, batch, h, w int) {
	spectralSizes("RFFT2", batch, h, w)
	d, s := be.buf("RFFT2", dst), be.buf("RFFT2", src)
	if batch == 0 || h == 0 || w == 0 {
		return
	}
	nf := w/2 + 1
	need("RFFT2", s, 0, batch*h*w)
	need("RFFT2", d, 0, batch*h*nf*2)
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	tmp := be.c.scratch(uint64(batch * h * nf * 8))
	be.dft(tmp, s.a, be.twiddles(w), batch*h, w, 1, 0, 0, 1, batch*h*nf)
	be.dft(d.a, tmp, be.twiddles(h), batch, h, nf, 2, 0, 1, batch*h*nf)
	be.c.rec.free(tmp)
}

// IRFFT2 is the inverse of RFFT2, normalised by 1/(h·w) (numpy irfft2).
func (be *Backend) IRFFT2(dst, src tensor.Buffer, batch, h, w int) {
	spectralSizes("IRFFT2", batch, h, w)
	d, s := be.buf("IRFFT2", dst), be.buf("IRFFT2", src)
	if batch == 0 || h == 0 || w == 0 {
		return
	}
	nf := w/2 + 1
	need("IRFFT2", s, 0, batch*h*nf*2)
	need("IRFFT2", d, 0, batch*h*w)
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	tmp := be.c.scratch(uint64(batch * h * nf * 8))
	be.dft(tmp, s.a, be.twiddles(h), batch, h, nf, 2, 1, 1/float32(h), batch*h*nf)
	be.dft(d.a, tmp, be.twiddles(w), batch*h, w, 1, 1, 0, 1/float32(w), batch*h*w)
	be.c.rec.free(tmp)
}
