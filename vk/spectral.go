//go:build cgo

package vk

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/dash-go/dash/tensor"
)

// The real FFTs run on the device FFT of fft.go: even lengths through a
// half-length complex FFT plus a post-/pre-processing pass, odd lengths
// through a full complex FFT of the real data; 2-D adds a strided column
// FFT over [batch][h][w/2+1].

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
	be.rfftRows(d.a, s.a, batch, n)
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
	be.irfftRows(d.a, s.a, batch, n, 1/float32(n))
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
	be.rfftRows(tmp, s.a, batch*h, w)
	be.cfft(d.a, tmp, batch, h, nf, false, 1)
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
	be.cfft(tmp, s.a, batch, h, nf, true, 1/float32(h))
	be.irfftRows(d.a, tmp, batch*h, w, 1/float32(w))
	be.c.rec.free(tmp)
}

// RFFTMul computes dst[b][c][k] = RFFT(src[b][c][:])[k]·w[c][k] for src
// [batch][chans][n] and w [chans][n/2+1] interleaved complex (conjugated
// when conjW): the forward half of a depthwise Fourier convolution with the
// multiply fused into the real-FFT post-processing pass (one pass through
// the spectrum fewer than RFFT followed by ComplexMul).
func (be *Backend) RFFTMul(dst, src, w tensor.Buffer, batch, chans, n int, conjW bool) {
	spectralSizes("RFFTMul", batch, chans, n)
	d, s, wb := be.buf("RFFTMul", dst), be.buf("RFFTMul", src), be.buf("RFFTMul", w)
	if batch == 0 || chans == 0 || n == 0 {
		return
	}
	nf := n/2 + 1
	need("RFFTMul", s, 0, batch*chans*n)
	need("RFFTMul", wb, 0, chans*nf*2)
	need("RFFTMul", d, 0, batch*chans*nf*2)
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	be.rfftRowsMulSpec(d.a, nil, s.a, wb.a, batch*chans, n, chans, conjW)
}
