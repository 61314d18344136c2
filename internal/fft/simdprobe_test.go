//go:build goexperiment.simd && amd64

package fft

import "testing"

func TestSIMDProbe(t *testing.T) {
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8}
	out := make([]float32, 8)
	st(swapRI(ld(x, 0)), out, 0)
	t.Logf("swap %v", out)
	st(cmulV(ld(x, 0), bc(2), bc(3)), out, 0)
	t.Logf("cmul by 2+3i %v", out)
	st(ld(x, 0).MulAdd(bc(2), bc(1)), out, 0)
	t.Logf("x*2+1 %v", out)
}
