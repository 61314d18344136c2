package cpu_test

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/internal/fft"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

func benchRand(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// benchContract times one ComplexContract call. Traffic counts each operand
// read once and the result written once; flops count 8 per complex
// multiply-add.
func benchContract(b *testing.B, mode tensor.ContractMode, B, I, O, F int) {
	be := cpu.New()
	r := rand.New(rand.NewPCG(1, 2))
	var na, nb, nc int
	switch mode {
	case tensor.ContractForward:
		na, nb, nc = B*I, O*I, B*O
	case tensor.ContractGradX:
		na, nb, nc = B*O, O*I, B*I
	default:
		na, nb, nc = B*O, B*I, O*I
	}
	a := &cpu.Buf{F: benchRand(r, na*F*2)}
	w := &cpu.Buf{F: benchRand(r, nb*F*2)}
	y := &cpu.Buf{F: make([]float32, nc*F*2)}
	bytes := float64(4 * 2 * F * (na + nb + nc))
	flops := 8 * float64(B) * float64(I) * float64(O) * float64(F)
	be.ComplexContract(mode, y, a, w, B, I, O, F) // warm the scratch caches
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for b.Loop() {
		be.ComplexContract(mode, y, a, w, B, I, O, F)
	}
	s := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(bytes/s/1e9, "GB/s")
	b.ReportMetric(flops/s/1e9, "GFLOP/s")
	b.ReportMetric((cpuSeconds()-cpu0)*1e3/float64(b.N), "cpu-ms/op")
}

// BenchmarkComplexContract is the channel contraction of the 1-D L1000 case
// padded to 1270 (F = 636 frequencies), B32, I = O = 64, in each mode, plus a
// few other channel counts in forward mode.
func BenchmarkComplexContract(b *testing.B) {
	for _, m := range []struct {
		name string
		mode tensor.ContractMode
	}{{"Forward", tensor.ContractForward}, {"GradX", tensor.ContractGradX}, {"GradW", tensor.ContractGradW}} {
		b.Run(fmt.Sprintf("%s_B32_C64_F636", m.name), func(b *testing.B) { benchContract(b, m.mode, 32, 64, 64, 636) })
	}
	for _, c := range []int{16, 256} {
		b.Run(fmt.Sprintf("Forward_B32_C%d_F636", c), func(b *testing.B) { benchContract(b, tensor.ContractForward, 32, c, c, 636) })
	}
	b.Run("Forward_B8_C512_F64", func(b *testing.B) { benchContract(b, tensor.ContractForward, 8, 512, 512, 64) })
}

// exchange returns the k×k anti-identity, so that MatMul(w, J) flips the
// last axis of w.
func exchange(be tensor.Backend, k int) *tensor.Tensor {
	v := make([]float32, k*k)
	for i := range k {
		v[i*k+k-1-i] = 1
	}
	return tensor.FromFloat32(be, v, k, k)
}

// fftConv1d is the 'same' cross-correlation of torch_baseline.py's
// fft_conv1d (dilation 1): pad x, real FFT of x and of the flipped kernel
// zero-padded to m ≥ L + k - 1, contraction over input channels, inverse
// FFT, crop. Any m ≥ L + k - 1 gives the same (exact, linear) result.
func fftConv1d(x, w *autograd.Var, j *autograd.Var, m int) *autograd.Var {
	xs, ws := x.Shape(), w.Shape()
	L, k := xs[2], ws[2]
	pad := k / 2
	xp := autograd.Pad(x, []int{0, 0, pad}, []int{0, 0, m - L - pad})
	X := autograd.RFFT(xp)
	wf := autograd.MatMul(w, j)
	wp := autograd.Pad(wf, []int{0, 0, 0}, []int{0, 0, m - k})
	W := autograd.RFFT(wp)
	Y := autograd.ComplexContract(X, W)
	y := autograd.IRFFT(Y, m)
	return autograd.Crop(y, []int{0, 0, k - 1}, []int{xs[0], ws[0], L})
}

// BenchmarkFFTConv1dK11 reproduces torch_baseline.py's
// fftconv1d_B32_C64_L1000_k11_d1: fft_conv1d(x, w).sum().backward() with
// gradients for x and w, through the tensor and autograd ops. m1010 uses
// torch's FFT size L+k-1 = 1010 = 2·5·101 (a prime factor: Rader's
// algorithm); smooth pads to fft.NextSmooth(1010) instead, which computes the
// same result.
func BenchmarkFFTConv1dK11(b *testing.B) {
	b.Run("m1010", func(b *testing.B) { benchFFTConv1d(b, 1010) })
	b.Run(fmt.Sprintf("smooth%d", fft.NextSmooth(1010)), func(b *testing.B) { benchFFTConv1d(b, fft.NextSmooth(1010)) })
}

func benchFFTConv1d(b *testing.B, m int) {
	be := cpu.New()
	r := rand.New(rand.NewPCG(3, 4))
	B, C, L, k := 32, 64, 1000, 11
	x := autograd.Leaf(tensor.FromFloat32(be, benchRand(r, B*C*L), B, C, L), true)
	w := autograd.Leaf(tensor.FromFloat32(be, benchRand(r, C*C*k), C, C, k), true)
	j := autograd.Const(exchange(be, k))
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for b.Loop() {
		loss := autograd.Sum(fftConv1d(x, w, j, m), false)
		autograd.Backward(loss)
		autograd.Release(loss)
		x.ZeroGrad()
		w.ZeroGrad()
	}
	b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/op")
	b.ReportMetric((cpuSeconds()-cpu0)*1e3/float64(b.N), "cpu-ms/op")
}

// cpuSeconds is the process's user+system CPU time: on a shared machine the
// CPU time per op is a steadier figure than the wall time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
