//go:build amd64 && !purego

package cpu

// AVX-512 transforms of the Winograd convolution (winograd_amd64.s); see
// winoInGo, winoOutGo and winoGradGo for the contracts.

//go:noescape
func winoInAVX512(n int, src *float32, offs *int, srcStep int, dst *float32, dstStep, dstXi int)

//go:noescape
func winoOutAVX512(n int, src *float32, srcXi, srcStep int, dst *float32, offs *int, dstStep int)

//go:noescape
func winoGradAVX512(n int, src *float32, offs *int, srcStep int, dst *float32, dstStep, dstXi, half int)

// asmWinoKernels are the assembly transforms, nil without AVX-512.
var asmWinoKernels = func() *winoKernelSet {
	if _, avx512 := cpuFeatures(); !avx512 {
		return nil
	}
	return &winoKernelSet{name: "avx512", in: winoInAVX512, out: winoOutAVX512, grad: winoGradAVX512}
}()

//go:noescape
func winoIn4AVX512(n int, src *float32, offs *int, srcStep int, dst *float32, dstStep, dstXi int)

//go:noescape
func winoOut4AVX512(n int, src *float32, srcXi, srcStep int, dst *float32, offs *int, dstStep int)

//go:noescape
func winoGrad4AVX512(n int, src *float32, offs *int, srcStep int, dst *float32, dstStep, dstXi, half int)

// asmWino4Kernels are the assembly F(4×4, 3×3) transforms, nil without
// AVX-512.
var asmWino4Kernels = func() *winoKernelSet {
	if asmWinoKernels == nil {
		return nil
	}
	return &winoKernelSet{name: "avx512", in: winoIn4AVX512, out: winoOut4AVX512, grad: winoGrad4AVX512}
}()
