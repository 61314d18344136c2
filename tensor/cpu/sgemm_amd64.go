//go:build amd64 && !purego

package cpu

// Assembly micro-kernels (sgemm_amd64.s); see sgemmMicro for the contract.

//go:noescape
func sgemmKernel6x16AVX2(k int, a, b, c *float32, ldc int, beta float32)

//go:noescape
func sgemmKernel8x48AVX512(k int, a, b, c *float32, ldc int, beta float32)

// transpose8x8AVX sets dst[r*ldd+c] = src[c*lds+r] for r, c < 8.
//
//go:noescape
func transpose8x8AVX(dst *float32, ldd int, src *float32, lds int)

// cpuid executes CPUID with the given leaf and sub-leaf.
func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

// xgetbv reads extended control register 0 (XCR0).
func xgetbv() (eax, edx uint32)

// cpuFeatures reports whether the CPU and OS support AVX2+FMA and AVX-512F.
func cpuFeatures() (avx2fma, avx512 bool) {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false, false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const (
		fmaBit     = 1 << 12
		osxsaveBit = 1 << 27
		avxBit     = 1 << 28
	)
	if ecx1&(fmaBit|osxsaveBit|avxBit) != fmaBit|osxsaveBit|avxBit {
		return false, false
	}
	xcr0, _ := xgetbv()
	if xcr0&0x6 != 0x6 { // XMM and YMM state
		return false, false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	avx2fma = ebx7&(1<<5) != 0
	avx512 = avx2fma && ebx7&(1<<16) != 0 && xcr0&0xe6 == 0xe6 // AVX512F, opmask+ZMM state
	return avx2fma, avx512
}

var (
	// avx2Kernel: 12 ymm accumulators. A 6×256 A panel (6 KiB) stays in
	// L1 while 256×16 B panels stream from a 256×2048 block in L2.
	avx2Kernel = &sgemmKernel{
		name: "avx2-6x16",
		mr:   6, nr: 16,
		kc: 256, mc: 144, nc: 2048,
		aInL1: true,
		tr:    transpose8x8AVX,
		fn:    sgemmKernel6x16AVX2,
	}
	// avx512Kernel: 24 zmm accumulators. An 8×256 A panel (8 KiB) stays
	// in L1 while 256×48 B panels stream from a 256×1536 block (1.5 MiB)
	// in L2.
	avx512Kernel = &sgemmKernel{
		name: "avx512-8x48",
		mr:   8, nr: 48,
		kc: 256, mc: 128, nc: 1536,
		aInL1: true,
		tr:    transpose8x8AVX,
		fn:    sgemmKernel8x48AVX512,
	}
)

// supportedKernels lists the kernels this CPU can run, fastest last.
func supportedKernels() []*sgemmKernel {
	ks := []*sgemmKernel{genericKernel}
	avx2fma, avx512 := cpuFeatures()
	if avx2fma {
		ks = append(ks, avx2Kernel)
	}
	if avx512 {
		ks = append(ks, avx512Kernel)
	}
	return ks
}
