//go:build cgo

package vk

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/dash-go/dash/tensor"
)

// The FFT benchmarks report ms per rfft+irfft pair, GB/s of the minimal
// traffic (real input + half spectrum, read and written once per direction)
// and GFLOP/s by the 5·n·log2(n) convention per complex transform (2.5·n·log2 n
// per real transform of n points). "dft" runs the old direct O(n²) shader
// (dft.comp, kept as the baseline) on the same shape.
//
//	go test ./vk -run '^$' -bench FFT -benchtime 3x

// dftRows/dftCols record the old direct-DFT path (the pre-FFT spectral.go).
func (be *Backend) dftOld(dst, src *allocation, tw *allocation, rows, n, inner, mode, inverse int, scale float32, threads int) {
	push := pushBuf{}.i(rows, n, inner, mode, inverse).f(scale)
	be.c.dispatch("dft", nil, be.groups1D(threads, 256), push, arg{a: dst, write: true}, arg{a: src}, arg{a: tw})
}

func (be *Backend) oldRFFTPair(spec, x, y tensor.Buffer, batch, n int) {
	d, s, o := be.buf("", spec), be.buf("", x), be.buf("", y)
	nf := n/2 + 1
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	be.dftOld(d.a, s.a, be.twiddles(n), batch, n, 1, 0, 0, 1, batch*nf)
	be.dftOld(o.a, d.a, be.twiddles(n), batch, n, 1, 1, 0, 1/float32(n), batch*n)
}

func (be *Backend) oldRFFT2Pair(spec, x, y tensor.Buffer, batch, h, w int) {
	d, s, o := be.buf("", spec), be.buf("", x), be.buf("", y)
	nf := w/2 + 1
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	tmp := be.c.scratch(uint64(batch * h * nf * 8))
	be.dftOld(tmp, s.a, be.twiddles(w), batch*h, w, 1, 0, 0, 1, batch*h*nf)
	be.dftOld(d.a, tmp, be.twiddles(h), batch, h, nf, 2, 0, 1, batch*h*nf)
	be.dftOld(tmp, d.a, be.twiddles(h), batch, h, nf, 2, 1, 1/float32(h), batch*h*nf)
	be.dftOld(o.a, tmp, be.twiddles(w), batch*h, w, 1, 1, 0, 1/float32(w), batch*h*w)
	be.c.rec.free(tmp)
}

// benchPair times run (one rfft+irfft pair) and reports the metrics for
// batch real transforms of shape dims.
func benchPair(b *testing.B, be *Backend, batch int, dims []int, run func()) {
	n := 1
	for _, d := range dims {
		n *= d
	}
	nf := n / dims[len(dims)-1] * (dims[len(dims)-1]/2 + 1)
	run() // pipelines, plans, twiddles
	if err := be.Sync(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		run()
	}
	if err := be.Sync(); err != nil {
		b.Fatal(err)
	}
	sec := time.Since(start).Seconds() / float64(b.N)
	bytes := 2 * float64(batch) * (4*float64(n) + 8*float64(nf))
	flops := 2 * 2.5 * float64(batch) * float64(n) * math.Log2(float64(n))
	b.ReportMetric(sec*1e3, "ms/pair")
	b.ReportMetric(bytes/sec/1e9, "GB/s")
	b.ReportMetric(flops/sec/1e9, "GFLOP/s")
}

func benchFFT1D(b *testing.B, batch, n int, old bool) {
	be := benchBackend(b)
	r := rand.New(rand.NewSource(1))
	x, X, y := be.Alloc(batch*n), be.Alloc(batch*(n/2+1)*2), be.Alloc(batch*n)
	be.WriteFloat32(x, 0, randSlice(r, batch*n, -1, 1))
	benchPair(b, be, batch, []int{n}, func() {
		if old {
			be.oldRFFTPair(X, x, y, batch, n)
			return
		}
		be.RFFT(X, x, batch, n)
		be.IRFFT(y, X, batch, n)
	})
}

func benchFFT2D(b *testing.B, batch, h, w int, old bool) {
	be := benchBackend(b)
	r := rand.New(rand.NewSource(1))
	x, X, y := be.Alloc(batch*h*w), be.Alloc(batch*h*(w/2+1)*2), be.Alloc(batch*h*w)
	be.WriteFloat32(x, 0, randSlice(r, batch*h*w, -1, 1))
	benchPair(b, be, batch, []int{h, w}, func() {
		if old {
			be.oldRFFT2Pair(X, x, y, batch, h, w)
			return
		}
		be.RFFT2(X, x, batch, h, w)
		be.IRFFT2(y, X, batch, h, w)
	})
}

// BenchmarkFFT1D: batched rfft+irfft of length 1270 (torch_baseline.py's
// shape is 2048×1270; the DFT baseline runs a smaller batch on lavapipe).
// 1270 = 2·5·127 goes through Bluestein; 1280 is the even 7-smooth length
// DASH's Fourier convolution would pad to (dash.fftSize).
func BenchmarkFFT1D(b *testing.B) {
	b.Run("fft/2048x1270", func(b *testing.B) { benchFFT1D(b, 2048, 1270, false) })
	b.Run("fft/2048x1280", func(b *testing.B) { benchFFT1D(b, 2048, 1280, false) })
	b.Run("fft/128x1270", func(b *testing.B) { benchFFT1D(b, 128, 1270, false) })
	b.Run("dft/128x1270", func(b *testing.B) { benchFFT1D(b, 128, 1270, true) })
}

// BenchmarkFFT2D: batched rfft2+irfft2 of 152×152 (torch_baseline.py's shape
// is 512×152×152; 152 = 8·19 goes through Bluestein, 160 is dash.fftSize's
// padded length).
func BenchmarkFFT2D(b *testing.B) {
	b.Run("fft/512x152x152", func(b *testing.B) { benchFFT2D(b, 512, 152, 152, false) })
	b.Run("fft/512x160x160", func(b *testing.B) { benchFFT2D(b, 512, 160, 160, false) })
	b.Run("fft/16x152x152", func(b *testing.B) { benchFFT2D(b, 16, 152, 152, false) })
	b.Run("fft/16x160x160", func(b *testing.B) { benchFFT2D(b, 16, 160, 160, false) })
	b.Run("dft/16x152x152", func(b *testing.B) { benchFFT2D(b, 16, 152, 152, true) })
}

// BenchmarkFFTPath compares the shared-memory kernel with the global-memory
// passes per complex length (via rfft of 2n points, 2^20 points per call).
func BenchmarkFFTTune(b *testing.B) {
	for _, n := range []int{16, 256, 2048} {
		for _, lines := range []int{256, 1024, 4096} {
			for _, per := range []int{4, 8, 16, 32} {
				b.Run(fmt.Sprintf("n=%d/lines=%d/per=%d", n, lines, per), func(b *testing.B) {
					defer func(a, c int) { fftLinesPerGroup, fftPerThread = a, c }(fftLinesPerGroup, fftPerThread)
					defer func(v int) { fftSharedMax = v }(fftSharedMax)
					fftLinesPerGroup, fftPerThread, fftSharedMax = lines, per, 4096
					benchFFT1D(b, (1<<20)/(2*n), 2*n, false)
				})
			}
		}
	}
}

func BenchmarkFFTPath(b *testing.B) {
	for _, n := range []int{16, 64, 256, 1024, 2048, 4096} {
		for _, path := range []string{"shared", "global"} {
			b.Run(fmt.Sprintf("n=%d/%s", n, path), func(b *testing.B) {
				defer func(v int) { fftSharedMax = v }(fftSharedMax)
				fftSharedMax = 0
				if path == "shared" {
					fftSharedMax = 4096
				}
				benchFFT1D(b, (1<<20)/(2*n), 2*n, false)
			})
		}
	}
}

// BenchmarkFFTConvMul: the forward half of a depthwise Fourier convolution,
// B=32 C=64 n=1000 (DASH pads to even 7-smooth lengths): RFFT then
// ComplexMul by w[c][f] ("separate") vs RFFTMul ("fused").
func BenchmarkFFTConvMul(b *testing.B) {
	const B, C, n = 32, 64, 1000
	nf := n/2 + 1
	for _, fused := range []bool{false, true} {
		name := "separate"
		if fused {
			name = "fused"
		}
		b.Run(name, func(b *testing.B) {
			be := benchBackend(b)
			r := rand.New(rand.NewSource(1))
			x, w := be.Alloc(B*C*n), be.Alloc(C*nf*2)
			X, Y := be.Alloc(B*C*nf*2), be.Alloc(B*C*nf*2)
			be.WriteFloat32(x, 0, randSlice(r, B*C*n, -1, 1))
			be.WriteFloat32(w, 0, randSlice(r, C*nf*2, -1, 1))
			run := func() {
				if fused {
					be.RFFTMul(Y, x, w, B, C, n, false)
					return
				}
				be.RFFT(X, x, B*C, n)
				be.ComplexMul(Y, []int{B, C, nf}, X, 0, []int{C * nf, nf, 1}, w, 0, []int{0, nf, 1}, false)
			}
			run()
			be.Sync()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				run()
			}
			be.Sync()
			b.ReportMetric(time.Since(start).Seconds()*1e3/float64(b.N), "ms/op")
		})
	}
}
