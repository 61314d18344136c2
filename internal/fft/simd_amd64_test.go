//go:build goexperiment.simd && amd64

package fft

import (
	"testing"

	"github.com/dash-go/dash/internal/testenv"
)

// TestSIMDHelpers pins the semantics of the archsimd operations the vector
// kernels rely on (the experimental API's fused add/sub naming is easy to
// get backwards).
func TestSIMDHelpers(t *testing.T) {
	if !useSIMD {
		testenv.Skip(t, "no AVX2/FMA on this CPU: the SIMD kernels are not used")
	}
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8}
	out := make([]float32, 8)
	check := func(name string, want []float32) {
		t.Helper()
		for i := range want {
			if out[i] != want[i] {
				t.Fatalf("%s = %v, want %v", name, out, want)
			}
		}
	}
	st(swapRI(ld(x, 0)), out, 0)
	check("swapRI", []float32{2, 1, 4, 3, 6, 5, 8, 7})
	st(cmulV(ld(x, 0), bc(2), bc(3)), out, 0) // (a+bi)(2+3i)
	check("cmulV", []float32{-4, 7, -6, 17, -8, 27, -10, 37})
	st(ld(x, 0).MulAdd(bc(2), bc(1)), out, 0)
	check("MulAdd", []float32{3, 5, 7, 9, 11, 13, 15, 17})
}
