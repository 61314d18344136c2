package autograd_test

import (
	"fmt"
	"testing"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

func specRnd(seed uint64, shape ...int) *tensor.Tensor {
	return tensor.RandNormal(cpu.Default(), seed, 0, 1, shape...)
}

// specCheck runs GradCheck probing every element (the shapes are small), so
// that the DC and Nyquist bins are always exercised.
func specCheck(t *testing.T, name string, f func(in []*autograd.Var) *autograd.Var, in ...*tensor.Tensor) {
	t.Helper()
	if err := autograd.GradCheck(f, in, autograd.GradCheckOptions{MaxPerVar: 1000, Tol: 5e-3, Seed: 3}); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}

func TestSpectralGradients(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 8, 16, 17} {
		specCheck(t, fmt.Sprintf("rfft n=%d", n), func(in []*autograd.Var) *autograd.Var {
			return autograd.RFFT(in[0])
		}, specRnd(uint64(n), 2, 3, n))
		specCheck(t, fmt.Sprintf("irfft n=%d", n), func(in []*autograd.Var) *autograd.Var {
			return autograd.IRFFT(in[0], n)
		}, specRnd(uint64(n)+100, 3, n/2+1, 2))
	}
	for _, hw := range [][2]int{{1, 1}, {1, 4}, {3, 1}, {3, 4}, {4, 5}, {5, 5}, {6, 6}, {2, 7}} {
		h, w := hw[0], hw[1]
		specCheck(t, fmt.Sprintf("rfft2 %dx%d", h, w), func(in []*autograd.Var) *autograd.Var {
			return autograd.RFFT2(in[0])
		}, specRnd(uint64(h*w), 2, h, w))
		specCheck(t, fmt.Sprintf("irfft2 %dx%d", h, w), func(in []*autograd.Var) *autograd.Var {
			return autograd.IRFFT2(in[0], h, w)
		}, specRnd(uint64(h*w)+100, 2, h, w/2+1, 2))
	}
	// a round trip through both directions
	specCheck(t, "irfft(rfft(x)·y)", func(in []*autograd.Var) *autograd.Var {
		return autograd.IRFFT(autograd.ComplexMul(autograd.RFFT(in[0]), in[1], false), 10)
	}, specRnd(1, 2, 10), specRnd(2, 6, 2))

	for _, s := range [][]int{{2, 3, 4, 5}, {1, 1, 1, 1}, {3, 2, 5, 7}} {
		B, I, O, F := s[0], s[1], s[2], s[3]
		specCheck(t, fmt.Sprintf("contract %v", s), func(in []*autograd.Var) *autograd.Var {
			return autograd.ComplexContract(in[0], in[1])
		}, specRnd(5, B, I, F, 2), specRnd(6, O, I, F, 2))
	}
	specCheck(t, "contract 2-D grid", func(in []*autograd.Var) *autograd.Var {
		return autograd.ComplexContract(in[0], in[1])
	}, specRnd(7, 2, 3, 3, 2, 2), specRnd(8, 4, 3, 3, 2, 2))
	// the GEMM path of the CPU kernel (channels ≥ 32)
	specCheck(t, "contract gemm path", func(in []*autograd.Var) *autograd.Var {
		return autograd.ComplexContract(in[0], in[1])
	}, specRnd(9, 2, 32, 3, 2), specRnd(10, 33, 32, 3, 2))

	for _, conj := range []bool{false, true} {
		for _, sh := range [][2][]int{{{3, 4, 2}, {3, 4, 2}}, {{2, 1, 4, 2}, {3, 1, 2}}, {{4, 2}, {2, 3, 4, 2}}} {
			specCheck(t, fmt.Sprintf("cmul %v conj=%v", sh, conj), func(in []*autograd.Var) *autograd.Var {
				return autograd.ComplexMul(in[0], in[1], conj)
			}, specRnd(11, sh[0]...), specRnd(12, sh[1]...))
		}
	}

	specCheck(t, "kron 1-D", func(in []*autograd.Var) *autograd.Var {
		return autograd.KronDilate(in[0], 3)
	}, specRnd(13, 2, 3, 4))
	specCheck(t, "kron 2-D", func(in []*autograd.Var) *autograd.Var {
		return autograd.KronDilate(in[0], 2, 3)
	}, specRnd(14, 2, 3, 3))
}

// TestFourierConvGradients differentiates the whole DASH Fourier convolution
// (dilate → pad → RFFT → contract → IRFFT → crop) with respect to the input
// and the undilated kernel, in 1-D and 2-D.
func TestFourierConvGradients(t *testing.T) {
	be := cpu.Default()
	flip := func(k int) *autograd.Var {
		v := make([]float32, k*k)
		for i := range k {
			v[i*k+k-1-i] = 1
		}
		return autograd.Const(tensor.FromFloat32(be, v, k, k))
	}
	specCheck(t, "fftconv1d", func(in []*autograd.Var) *autograd.Var {
		x, w := in[0], in[1]
		B, C, L := x.Shape()[0], x.Shape()[1], x.Shape()[2]
		O := w.Shape()[0]
		wd := autograd.KronDilate(w, 2) // k=3 → S=5
		S := 5
		P := S / 2
		m := L + S - 1
		X := autograd.RFFT(autograd.Pad(x, []int{0, 0, P}, []int{0, 0, S - 1 - P}))
		wf := autograd.MatMul(wd, flip(S))
		W := autograd.RFFT(autograd.Pad(wf, []int{0, 0, 0}, []int{0, 0, m - S}))
		y := autograd.IRFFT(autograd.ComplexContract(X, W), m)
		_ = C
		return autograd.Crop(y, []int{0, 0, S - 1}, []int{B, O, L})
	}, specRnd(15, 2, 3, 9), specRnd(16, 2, 3, 3))
	specCheck(t, "fftconv2d", func(in []*autograd.Var) *autograd.Var {
		x, w := in[0], in[1]
		B, H, W := x.Shape()[0], x.Shape()[2], x.Shape()[3]
		O := w.Shape()[0]
		wd := autograd.KronDilate(w, 1, 2) // 2×2 → 2×3
		SH, SW := 2, 3
		mh, mw := H+SH-1, W+SW-1
		X := autograd.RFFT2(autograd.Pad(x, []int{0, 0, SH / 2, SW / 2}, []int{0, 0, SH - 1 - SH/2, SW - 1 - SW/2}))
		Wf := autograd.RFFT2(autograd.Pad(wd, []int{0, 0, 0, 0}, []int{0, 0, mh - SH, mw - SW}))
		y := autograd.IRFFT2(autograd.ComplexContract(X, Wf), mh, mw)
		return autograd.Crop(y, []int{0, 0, SH - 1, SW - 1}, []int{B, O, H, W})
	}, specRnd(17, 2, 2, 4, 5), specRnd(18, 3, 2, 2, 2))
}
