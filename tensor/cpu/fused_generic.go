//go:build !amd64 || purego

package cpu

// Portable builds have no vector loops: the fused kernels run in Go.

var haveAVX2 = false

func bnStatsAVX2(x *float32, n int, k float32) (s, ss float32)            { panic("unreachable") }
func bnApplyAVX2(dst, src *float32, n int, scale, off float32, relu bool) { panic("unreachable") }
func bnBwdSumsAVX2(dy, x *float32, n int, mean, scale, off float32, relu bool) (sg, sgx float32) {
	panic("unreachable")
}
func bnBwdDxAVX2(out, dy, x *float32, n int, a, b, k, scale, off float32, relu bool) (sum float32) {
	panic("unreachable")
}
func addReLUAVX2(dst, a, b *float32, n int)   { panic("unreachable") }
func reluGradAVX2(dst, dy, y *float32, n int) { panic("unreachable") }
func addAVX2(dst, a, b *float32, n int)       { panic("unreachable") }
