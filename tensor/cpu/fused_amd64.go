//go:build amd64 && !purego

package cpu

// AVX2+FMA loops of the fused kernels (fused_amd64.s); n must be a multiple
// of 16.

//go:noescape
func bnStatsAVX2(x *float32, n int, k float32) (s, ss float32)

//go:noescape
func bnApplyAVX2(dst, src *float32, n int, scale, off float32, relu bool)

//go:noescape
func bnBwdSumsAVX2(dy, x *float32, n int, mean, scale, off float32, relu bool) (sg, sgx float32)

//go:noescape
func bnBwdDxAVX2(out, dy, x *float32, n int, a, b, k, scale, off float32, relu bool) (sum float32)

//go:noescape
func addReLUAVX2(dst, a, b *float32, n int)

//go:noescape
func reluGradAVX2(dst, dy, y *float32, n int)

//go:noescape
func addAVX2(dst, a, b *float32, n int)

var haveAVX2 = func() bool { a, _ := cpuFeatures(); return a }()
