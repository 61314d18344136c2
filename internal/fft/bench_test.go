package fft

import (
	"fmt"
	"math/rand"
	"syscall"
	"testing"
)

// cpuTimer reports process CPU time per op (user+sys, all threads), which is
// less sensitive than wall time to other load on a shared machine.
type cpuTimer struct{ start int64 }

func cpuNow() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func startCPU(b *testing.B) *cpuTimer {
	b.ResetTimer()
	return &cpuTimer{cpuNow()}
}

func (c *cpuTimer) stop(b *testing.B) {
	b.StopTimer()
	b.ReportMetric(float64(cpuNow()-c.start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkRFFTRoundTrip1D_2048x1270 matches PyTorch's
// torch.fft.irfft(torch.fft.rfft(r1), n=1270) with r1 of shape 2048×1270.
func BenchmarkRFFTRoundTrip1D_2048x1270(b *testing.B) {
	const batch, n = 2048, 1270
	rng := rand.New(rand.NewSource(1))
	src := randF32(rng, batch*n)
	spec := make([]float32, batch*(n/2+1)*2)
	dst := make([]float32, batch*n)
	b.SetBytes(int64(4 * batch * n))
	ct := startCPU(b)
	for i := 0; i < b.N; i++ {
		RFFT(spec, src, batch, n)
		IRFFT(dst, spec, batch, n)
	}
	ct.stop(b)
}

// BenchmarkRFFTRoundTrip2D_512x152x152 matches PyTorch's
// torch.fft.irfft2(torch.fft.rfft2(r2), s=(152, 152)) with r2 of shape 512×152×152.
func BenchmarkRFFTRoundTrip2D_512x152x152(b *testing.B) {
	const batch, h, w = 512, 152, 152
	rng := rand.New(rand.NewSource(1))
	src := randF32(rng, batch*h*w)
	spec := make([]float32, batch*h*(w/2+1)*2)
	dst := make([]float32, batch*h*w)
	b.SetBytes(int64(4 * batch * h * w))
	ct := startCPU(b)
	for i := 0; i < b.N; i++ {
		RFFT2(spec, src, batch, h, w)
		IRFFT2(dst, spec, batch, h, w)
	}
	ct.stop(b)
}

func benchComplex(b *testing.B, batch, n int) {
	rng := rand.New(rand.NewSource(1))
	src := randF32(rng, batch*n*2)
	dst := make([]float32, len(src))
	b.SetBytes(int64(8 * batch * n))
	ct := startCPU(b)
	for i := 0; i < b.N; i++ {
		FFT(dst, src, batch, n, false)
	}
	ct.stop(b)
}

// BenchmarkFFT1024 is a forward complex FFT of a [1024][1024] batch.
func BenchmarkFFT1024(b *testing.B) { benchComplex(b, 1024, 1024) }

// BenchmarkFFT4096 is a forward complex FFT of a [256][4096] batch.
func BenchmarkFFT4096(b *testing.B) { benchComplex(b, 256, 4096) }

// BenchmarkFFTSingle times single transforms of various lengths on one goroutine.
func BenchmarkFFTSingle(b *testing.B) {
	for _, n := range []int{76, 152, 635, 1024, 1280, 4096} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			rng := rand.New(rand.NewSource(1))
			src := randF32(rng, n*2)
			dst := make([]float32, len(src))
			pl := PlanFor(n)
			w := getWork()
			pl.exec(dst, src, 1, 0, 1, false, w)
			b.SetBytes(int64(8 * n))
			ct := startCPU(b)
			for i := 0; i < b.N; i++ {
				pl.exec(dst, src, 1, 0, 1, false, w)
			}
			ct.stop(b)
		})
	}
}

// BenchmarkLanes times lane-vectorised transforms ([n][v] layout) on one goroutine.
func BenchmarkLanes(b *testing.B) {
	for _, c := range [][2]int{{76, 8}, {152, 77}, {635, 8}, {205, 103}, {1024, 8}, {4096, 8}} {
		n, v := c[0], c[1]
		b.Run(fmt.Sprintf("%dx%d", n, v), func(b *testing.B) {
			rng := rand.New(rand.NewSource(1))
			src := randF32(rng, n*v*2)
			dst := make([]float32, len(src))
			pl := PlanFor(n)
			w := getWork()
			pl.exec(dst, src, v, 0, v, false, w)
			b.SetBytes(int64(8 * n * v))
			ct := startCPU(b)
			for i := 0; i < b.N; i++ {
				pl.exec(dst, src, v, 0, v, false, w)
			}
			ct.stop(b)
		})
	}
}
