package cpu

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"
)

// benchGemm times one GEMM shape with kernel kn. It reports the mean
// GFLOP/s and, since the machine may be shared, also the median and best of
// the individually timed calls.
func benchGemm(b *testing.B, kn *sgemmKernel, ta, tb bool, m, n, k, threads int) {
	r := rand.New(rand.NewPCG(1, 1))
	x, y := sgemmRand(r, m*k), sgemmRand(r, k*n)
	c := make([]float32, m*n)
	gemmBatch(kn, ta, tb, 1, m, n, k, 1, x, 0, 0, y, 0, 0, 0, c, 0, 0, threads)
	var ts []time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		gemmBatch(kn, ta, tb, 1, m, n, k, 1, x, 0, 0, y, 0, 0, 0, c, 0, 0, threads)
		ts = append(ts, time.Since(t0))
	}
	flop := 2 * float64(m) * float64(n) * float64(k)
	b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	slices.Sort(ts)
	b.ReportMetric(flop/ts[len(ts)/2].Seconds()/1e9, "median-GFLOP/s")
	b.ReportMetric(flop/ts[0].Seconds()/1e9, "best-GFLOP/s")
}

// BenchmarkMatMul1024 is a square 1024³ product on all cores with the
// selected kernel.
func BenchmarkMatMul1024(b *testing.B) {
	benchGemm(b, bestKernel, false, false, 1024, 1024, 1024, runtime.GOMAXPROCS(0))
}

// BenchmarkMatMulConv is the im2col GEMM of a convolution layer
// (64 filters, K = 704, 32000 output pixels) and its two gradient GEMMs.
func BenchmarkMatMulConv(b *testing.B) {
	th := runtime.GOMAXPROCS(0)
	b.Run("fwd_64x32000x704", func(b *testing.B) { benchGemm(b, bestKernel, false, false, 64, 32000, 704, th) })
	b.Run("dW_64x704x32000_NT", func(b *testing.B) { benchGemm(b, bestKernel, false, true, 64, 704, 32000, th) })
	b.Run("dX_704x32000x64_TN", func(b *testing.B) { benchGemm(b, bestKernel, true, false, 704, 32000, 64, th) })
}

// BenchmarkMatMulKernels compares every supported kernel on a few shapes,
// single-threaded and on all cores.
func BenchmarkMatMulKernels(b *testing.B) {
	for _, kn := range supportedKernels() {
		for _, th := range []int{1, runtime.GOMAXPROCS(0)} {
			for _, s := range [][3]int{{1024, 1024, 1024}, {64, 32000, 704}, {256, 256, 256}} {
				b.Run(fmt.Sprintf("%s/t%d/%dx%dx%d", kn.name, th, s[0], s[1], s[2]), func(b *testing.B) {
					benchGemm(b, kn, false, false, s[0], s[1], s[2], th)
				})
			}
		}
	}
}
