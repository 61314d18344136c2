//go:build cgo

package vk

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

func TestRFFTConformance(t *testing.T) {
	be := shared(t)
	r := rand.New(rand.NewSource(15))
	lengths := []int{1, 2, 3, 4, 5, 7, 8, 12, 16, 31, 64, 97, 128, 1000, 1270}
	for _, n := range lengths {
		for _, batch := range []int{1, 3} {
			nf := n/2 + 1
			x := mkpair(be, randSlice(r, batch*n, -1, 1))
			X := mkpair(be, make([]float32, batch*nf*2))
			be.RFFT(X.g, x.g, batch, n)
			ref.RFFT(X.c, x.c, batch, n)
			tol := 1e-5 * math.Sqrt(float64(n))
			X.check(t, be, fmt.Sprintf("rfft n=%d batch=%d", n, batch), tol, 1e-5)
			y := mkpair(be, make([]float32, batch*n))
			be.IRFFT(y.g, X.g, batch, n)
			ref.IRFFT(y.c, X.c, batch, n)
			y.check(t, be, fmt.Sprintf("irfft n=%d batch=%d", n, batch), 1e-5, 1e-5)
			compare(t, fmt.Sprintf("round trip n=%d", n), readG(be, y.g), readC(x.c), 1e-5, 1e-5)
			for _, p := range []pair{x, X, y} {
				p.free(be)
			}
		}
	}
}

func TestRFFT2Conformance(t *testing.T) {
	be := shared(t)
	r := rand.New(rand.NewSource(16))
	for _, hw := range [][2]int{{1, 1}, {2, 3}, {5, 4}, {28, 28}, {17, 33}} {
		h, w := hw[0], hw[1]
		batch := 2
		nf := w/2 + 1
		x := mkpair(be, randSlice(r, batch*h*w, -1, 1))
		X := mkpair(be, make([]float32, batch*h*nf*2))
		be.RFFT2(X.g, x.g, batch, h, w)
		ref.RFFT2(X.c, x.c, batch, h, w)
		X.check(t, be, fmt.Sprintf("rfft2 %v", hw), 1e-5*math.Sqrt(float64(h*w)), 1e-5)
		y := mkpair(be, make([]float32, batch*h*w))
		be.IRFFT2(y.g, X.g, batch, h, w)
		ref.IRFFT2(y.c, X.c, batch, h, w)
		y.check(t, be, fmt.Sprintf("irfft2 %v", hw), 1e-5, 1e-5)
		compare(t, fmt.Sprintf("round trip 2d %v", hw), readG(be, y.g), readC(x.c), 1e-5, 1e-5)
		for _, p := range []pair{x, X, y} {
			p.free(be)
		}
	}
}
