package dash

import "github.com/dash-go/dash/tensor"

// fusedDepthwise is implemented by backends with fused kernels for the
// depthwise 1-D Fourier convolution (the Vulkan backend): the multiply by
// the kernel spectrum in the real FFT's post-processing pass, storing the
// plain spectrum in the same pass, and the batch sum of X·conj(G) without
// the [N][C][F] product in memory.
type fusedDepthwise interface {
	// RFFTMulSpec: dst = RFFT(src)·w (w [chans][n/2+1], conjugated when
	// conjW) and spec = RFFT(src), src [batch][chans][n].
	RFFTMulSpec(dst, spec, src, w tensor.Buffer, batch, chans, n int, conjW bool)
	// ComplexMulSum: dst[j] = Σ_b a[b][j]·c[b][j] (c conjugated when conjC).
	ComplexMulSum(dst, a, c tensor.Buffer, batch, n int, conjC bool)
}

// noFusedFourier switches the fused kernels off (tests compare the fused
// and the unfused paths, and their dispatch counts).
var noFusedFourier = false

// fused returns the backend's fused depthwise kernels when this plan can
// use them (depthwise, 1-D), else nil.
func (p *fourierPlan) fused() fusedDepthwise {
	if !p.dw || p.dims != 1 || noFusedFourier {
		return nil
	}
	f, _ := p.be.(fusedDepthwise)
	return f
}
