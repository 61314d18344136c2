package autograd

import (
	"fmt"
	"slices"

	"github.com/dash-go/dash/tensor"
)

// Spectral ops with gradients. Complex values are float32 tensors whose last
// axis is 2 (real, imaginary); the gradient of a complex tensor holds
// (∂L/∂re, ∂L/∂im) in the same layout, i.e. G = ∂L/∂re + i·∂L/∂im.
//
// For a real FFT of length N the half spectrum counts every bin but DC and
// (even N) Nyquist twice: irfft(Y)_n = (1/N) Σ_k w_k·Re(Y_k e^{2πikn/N}) with
// w_k = 1 at DC and Nyquist and 2 otherwise. Hence
//
//	y = rfft(x):     dx = N·irfft(G / w)
//	y = irfft(Y, N): dY = (w/N)·rfft(g), with the (ignored) imaginary parts
//	                 of DC and Nyquist getting no gradient.
//
// In 2-D the first axis is a full complex FFT, whose adjoint is the inverse
// transform times its length, so the same formulas hold with N = h·w and the
// weights on the last frequency axis only.

// halfWeights returns a [nf, 2] tensor holding, for the half spectrum of a
// length-n real transform, scale/w_k on the real parts and on the imaginary
// parts (with zeroImEdges, 0 on the imaginary parts of DC and Nyquist).
func halfWeights(be tensor.Backend, n int, scale float32, inverseW, zeroImEdges bool) *tensor.Tensor {
	nf := n/2 + 1
	v := make([]float32, 2*nf)
	for k := range nf {
		edge := k == 0 || (n%2 == 0 && k == n/2)
		w := float32(2)
		if edge {
			w = 1
		}
		if inverseW {
			w = 1 / w
		}
		v[2*k] = scale * w
		v[2*k+1] = scale * w
		if edge && zeroImEdges {
			v[2*k+1] = 0
		}
	}
	return tensor.FromFloat32(be, v, nf, 2)
}

// RFFT is the real FFT over the last axis: x [..., n] → [..., n/2+1, 2]
// (numpy.fft.rfft).
func RFFT(x *Var) *Var {
	y := tensor.RFFT(x.Value)
	n := x.Value.Dim(-1)
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		wt := halfWeights(g.Backend(), n, float32(n), true, false)
		gw := tensor.Mul(g, wt)
		wt.Release()
		d := tensor.IRFFT(gw, n)
		gw.Release()
		return []*tensor.Tensor{d}
	})
}

// IRFFT is the inverse real FFT of length n over the last complex axis:
// x [..., n/2+1, 2] → [..., n] (numpy.fft.irfft(x, n)).
func IRFFT(x *Var, n int) *Var {
	y := tensor.IRFFT(x.Value, n)
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		f := tensor.RFFT(g)
		wt := halfWeights(g.Backend(), n, 1/float32(n), false, true)
		d := tensor.Mul(f, wt)
		f.Release()
		wt.Release()
		return []*tensor.Tensor{d}
	})
}

// RFFT2 is the 2-D real FFT over the last two axes: x [..., h, w] →
// [..., h, w/2+1, 2] (numpy.fft.rfft2).
func RFFT2(x *Var) *Var {
	y := tensor.RFFT2(x.Value)
	h, w := x.Value.Dim(-2), x.Value.Dim(-1)
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		wt := halfWeights(g.Backend(), w, float32(h*w), true, false)
		gw := tensor.Mul(g, wt)
		wt.Release()
		d := tensor.IRFFT2(gw, h, w)
		gw.Release()
		return []*tensor.Tensor{d}
	})
}

// IRFFT2 is the inverse 2-D real FFT for size h×w: x [..., h, w/2+1, 2] →
// [..., h, w] (numpy.fft.irfft2(x, s=(h, w))).
func IRFFT2(x *Var, h, w int) *Var {
	y := tensor.IRFFT2(x.Value, h, w)
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		f := tensor.RFFT2(g)
		// Only the imaginary parts of the DC and Nyquist columns of the
		// (1-D) last-axis inverse are ignored, and those are mixtures of
		// several input bins, so no input imaginary part is masked here.
		wt := halfWeights(g.Backend(), w, 1/float32(h*w), false, false)
		d := tensor.Mul(f, wt)
		f.Release()
		wt.Release()
		return []*tensor.Tensor{d}
	})
}

// ComplexContract is the per-frequency channel contraction of the Fourier
// convolution: x [B,I,F...,2], w [O,I,F...,2] → y [B,O,F...,2] with
// y[b,o,f] = Σ_i x[b,i,f]·w[o,i,f] (tensor.ContractForward).
func ComplexContract(x, w *Var) *Var {
	y := tensor.ComplexContract(tensor.ContractForward, x.Value, w.Value)
	return NewOp(y, []*Var{x, w}, func(g *tensor.Tensor) []*tensor.Tensor {
		var gx, gw *tensor.Tensor
		if x.requires {
			gx = tensor.ComplexContract(tensor.ContractGradX, g, w.Value)
		}
		if w.requires {
			gw = tensor.ComplexContract(tensor.ContractGradW, g, x.Value)
		}
		return []*tensor.Tensor{gx, gw}
	})
}

// ComplexMul multiplies complex tensors elementwise with broadcasting over
// the complex shape: a·b, or a·conj(b) with conjB.
func ComplexMul(a, b *Var, conjB bool) *Var {
	y := tensor.ComplexMul(a.Value, b.Value, conjB)
	return NewOp(y, []*Var{a, b}, func(g *tensor.Tensor) []*tensor.Tensor {
		var ga, gb *tensor.Tensor
		if a.requires {
			// y = a·b: dA = G·conj(b); y = a·conj(b): dA = G·b.
			t := tensor.ComplexMul(g, b.Value, !conjB)
			ga = unbroadcast(t, a.Value.Shape())
			t.Release()
		}
		if b.requires {
			// y = a·b: dB = G·conj(a); y = a·conj(b): dB = a·conj(G).
			var t *tensor.Tensor
			if conjB {
				t = tensor.ComplexMul(a.Value, g, true)
			} else {
				t = tensor.ComplexMul(g, a.Value, true)
			}
			gb = unbroadcast(t, b.Value.Shape())
			t.Release()
		}
		return []*tensor.Tensor{ga, gb}
	})
}

// KronDilate dilates the kernels on the last len(d) axes (1 or 2) of w by
// inserting d-1 zeros between taps ([..., k] → [..., d(k-1)+1]); its
// gradient gathers the taps back (tensor.KronGather).
func KronDilate(w *Var, d ...int) *Var {
	if len(d) < 1 || len(d) > 2 || w.Value.Rank() < len(d) {
		panic(fmt.Sprintf("autograd.KronDilate: dilation %v for shape %v", d, w.Value.Shape()))
	}
	y := tensor.KronDilate(w.Value, d...)
	shape := w.Value.Shape()
	k := slices.Clone(shape[len(shape)-len(d):])
	d = slices.Clone(d)
	return NewOp(y, []*Var{w}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.KronGather(g, k, d)}
	})
}
