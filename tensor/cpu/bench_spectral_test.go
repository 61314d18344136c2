package cpu_test

import (
	"fmt"
	"math"
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
// fft_conv1d: dilate the kernel (KronDilate, span S = d(k-1)+1), pad x, real
// FFT of x and of the flipped kernel zero-padded to m ≥ L + S - 1,
// contraction over input channels, inverse FFT, crop. Any m ≥ L + S - 1
// gives the same (exact, linear) result. flip is the k×k exchange matrix:
// flipping the undilated kernel and then dilating it equals flipping the
// dilated one.
func fftConv1d(x, w, flip *autograd.Var, d, m int) *autograd.Var {
	xs, ws := x.Shape(), w.Shape()
	L := xs[2]
	wf := autograd.MatMul(w, flip)
	if d > 1 {
		wf = autograd.KronDilate(wf, d)
	}
	S := wf.Shape()[2]
	pad := S / 2
	xp := autograd.Pad(x, []int{0, 0, pad}, []int{0, 0, m - L - pad})
	X := autograd.RFFT(xp)
	wp := autograd.Pad(wf, []int{0, 0, 0}, []int{0, 0, m - S})
	W := autograd.RFFT(wp)
	Y := autograd.ComplexContract(X, W)
	y := autograd.IRFFT(Y, m)
	return autograd.Crop(y, []int{0, 0, S - 1}, []int{xs[0], ws[0], L})
}

// BenchmarkFFTConv1dK11 reproduces torch_baseline.py's
// fftconv1d_B32_C64_L1000_k11_d{1,16}: fft_conv1d(x, w, d).sum().backward()
// with gradients for x and w, through the tensor and autograd ops. The m…
// cases use torch's FFT size L+S-1 (1010 = 2·5·101 and 1160 = 2³·5·29: large
// prime factors, Rader's algorithm); the smooth… cases pad to
// fft.NextSmooth(L+S-1) instead, which computes the same result.
func BenchmarkFFTConv1dK11(b *testing.B) {
	for _, d := range []int{1, 16} {
		m := 1000 + d*10
		b.Run(fmt.Sprintf("d%d_m%d", d, m), func(b *testing.B) { benchFFTConv1d(b, d, m) })
		s := fft.NextSmooth(m)
		b.Run(fmt.Sprintf("d%d_smooth%d", d, s), func(b *testing.B) { benchFFTConv1d(b, d, s) })
	}
}

func benchFFTConv1d(b *testing.B, d, m int) {
	be := cpu.New()
	r := rand.New(rand.NewPCG(3, 4))
	B, C, L, k := 32, 64, 1000, 11
	x := autograd.Leaf(tensor.FromFloat32(be, benchRand(r, B*C*L), B, C, L), true)
	w := autograd.Leaf(tensor.FromFloat32(be, benchRand(r, C*C*k), C, C, k), true)
	flip := autograd.Const(exchange(be, k))
	step := func() {
		loss := autograd.Sum(fftConv1d(x, w, flip, d, m), false)
		autograd.Backward(loss)
		autograd.Release(loss)
		x.ZeroGrad()
		w.ZeroGrad()
	}
	step() // warm-up, as the torch script does
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for b.Loop() {
		step()
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

// TestBenchFFTConv1dIsExact checks the benchmarked pipeline (flip before
// dilation, exact and smooth FFT sizes) against direct cross-correlation.
func TestBenchFFTConv1dIsExact(t *testing.T) {
	be := cpu.New()
	r := rand.New(rand.NewPCG(5, 6))
	B, C, O, L, k, d := 2, 3, 4, 50, 3, 4
	xs, ws := benchRand(r, B*C*L), benchRand(r, O*C*k)
	x := autograd.Const(tensor.FromFloat32(be, xs, B, C, L))
	w := autograd.Const(tensor.FromFloat32(be, ws, O, C, k))
	S := d*(k-1) + 1
	P := S / 2
	for _, m := range []int{L + S - 1, fft.NextSmooth(L + S - 1), 2 * L} {
		y := fftConv1d(x, w, autograd.Const(exchange(be, k)), d, m).Value.Float32s()
		for b := range B {
			for o := range O {
				for i := range L {
					var want float64
					for c := range C {
						for j := range k {
							if p := i + j*d - P; p >= 0 && p < L {
								want += float64(ws[(o*C+c)*k+j]) * float64(xs[(b*C+c)*L+p])
							}
						}
					}
					if got := y[(b*O+o)*L+i]; math.Abs(float64(got)-want) > 1e-4*(1+math.Abs(want)) {
						t.Fatalf("m=%d: y[%d,%d,%d] = %v, want %v", m, b, o, i, got, want)
					}
				}
			}
		}
	}
}
