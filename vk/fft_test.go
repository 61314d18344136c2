//go:build cgo

package vk

import (
	"fmt"
	"math"
	"math/cmplx"
	"math/rand"
	"testing"
)

// relErr is ‖got − want‖₂ / ‖want‖₂ (0 when both are zero).
func relErr(got, want []float32) float64 {
	var num, den float64
	for i := range got {
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

// worstRel is the largest relative error checkRel has seen (logged by the
// tests with -v).
var worstRel struct {
	e    float64
	what string
}

func checkRel(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: length %d, want %d", what, len(got), len(want))
	}
	e := relErr(got, want)
	if !(e <= tol) {
		t.Errorf("%s: relative error %.3g > %.3g", what, e, tol)
	}
	if e > worstRel.e {
		worstRel.e, worstRel.what = e, what
	}
}

func logWorst(t *testing.T) {
	t.Logf("largest relative error so far: %.3g (%s)", worstRel.e, worstRel.what)
}

// fftCase runs rfft → irfft of batch rows of length n on the device and on
// the CPU backend and checks both directions and the round trip.
func fftCase(t *testing.T, be *Backend, r *rand.Rand, batch, n int) {
	t.Helper()
	nf := n/2 + 1
	x := mkpair(be, randSlice(r, batch*n, -1, 1))
	X := mkpair(be, make([]float32, batch*nf*2))
	y := mkpair(be, make([]float32, batch*n))
	defer func() {
		for _, p := range []pair{x, X, y} {
			p.free(be)
		}
	}()
	be.RFFT(X.g, x.g, batch, n)
	ref.RFFT(X.c, x.c, batch, n)
	checkRel(t, fmt.Sprintf("rfft n=%d batch=%d", n, batch), readG(be, X.g), readC(X.c), 1e-5)
	// The inverse from the CPU's spectrum, so that both see the same input.
	be.WriteFloat32(X.g, 0, readC(X.c))
	be.IRFFT(y.g, X.g, batch, n)
	ref.IRFFT(y.c, X.c, batch, n)
	checkRel(t, fmt.Sprintf("irfft n=%d batch=%d", n, batch), readG(be, y.g), readC(y.c), 1e-5)
	checkRel(t, fmt.Sprintf("round trip n=%d batch=%d", n, batch), readG(be, y.g), readC(x.c), 1e-5)
}

func fft2Case(t *testing.T, be *Backend, r *rand.Rand, batch, h, w int) {
	t.Helper()
	nf := w/2 + 1
	x := mkpair(be, randSlice(r, batch*h*w, -1, 1))
	X := mkpair(be, make([]float32, batch*h*nf*2))
	y := mkpair(be, make([]float32, batch*h*w))
	defer func() {
		for _, p := range []pair{x, X, y} {
			p.free(be)
		}
	}()
	be.RFFT2(X.g, x.g, batch, h, w)
	ref.RFFT2(X.c, x.c, batch, h, w)
	checkRel(t, fmt.Sprintf("rfft2 %dx%d batch=%d", h, w, batch), readG(be, X.g), readC(X.c), 1e-5)
	be.WriteFloat32(X.g, 0, readC(X.c))
	be.IRFFT2(y.g, X.g, batch, h, w)
	ref.IRFFT2(y.c, X.c, batch, h, w)
	checkRel(t, fmt.Sprintf("irfft2 %dx%d batch=%d", h, w, batch), readG(be, y.g), readC(y.c), 1e-5)
	checkRel(t, fmt.Sprintf("round trip 2d %dx%d batch=%d", h, w, batch), readG(be, y.g), readC(x.c), 1e-5)
}

func fftLengths() []int {
	var ls []int
	for n := 1; n <= 64; n++ {
		ls = append(ls, n)
	}
	return append(ls, 97, 128, 1000, 1270, 4096, 8192)
}

// TestFFTLengths: every length 1..64 and 97, 128, 1000, 1270, 4096, 8192,
// batch 1 and a small batch, through both the shared-memory kernel and the
// global-memory passes (lengths over 4096, and Bluestein's, use the global
// passes in the "shared" run too).
func TestFFTLengths(t *testing.T) {
	be := shared(t)
	defer logWorst(t)
	r := rand.New(rand.NewSource(41))
	for _, path := range []string{"shared", "global"} {
		t.Run(path, func(t *testing.T) {
			defer func(v int) { fftSharedMax = v }(fftSharedMax)
			fftSharedMax = 0
			if path == "shared" {
				fftSharedMax = 4096
			}
			for _, n := range fftLengths() {
				// Every shared-memory (length, lines per workgroup) pair is
				// its own pipeline: batch 1 there only for a few lengths
				// (pipeline creation dominates on lavapipe).
				batches := []int{1, max(2, min(5, 4096/n))}
				if path == "shared" && n%16 != 1 && n != 64 && n != 4096 {
					batches = batches[1:]
				}
				for _, batch := range batches {
					fftCase(t, be, r, batch, n)
				}
			}
		})
	}
}

// TestFFTPlans: the radix plans multiply out and use 7-smooth radices; the
// Bluestein length covers the linear convolution.
func TestFFTPlans(t *testing.T) {
	for n := 1; n <= 5000; n++ {
		if !smooth7(n) {
			continue
		}
		p := 1
		for _, r := range fftRadices(n) {
			if r != 2 && r != 3 && r != 4 && r != 5 && r != 7 && r != 8 {
				t.Fatalf("n=%d: radix %d", n, r)
			}
			p *= r
		}
		if p != n {
			t.Fatalf("n=%d: radices %v", n, fftRadices(n))
		}
		if n <= 4096 && len(fftRadices(n)) > 8 {
			t.Fatalf("n=%d: %d passes exceed fft_shared.comp's 8", n, len(fftRadices(n)))
		}
	}
}

// TestFFTManyRows: more than 65535 rows, even and odd lengths; with one line
// per shared-memory workgroup the grid exceeds 65535 workgroups and is folded.
func TestFFTManyRows(t *testing.T) {
	be := shared(t)
	r := rand.New(rand.NewSource(42))
	fftCase(t, be, r, 70001, 8)
	fftCase(t, be, r, 70001, 3)
	func() {
		defer func(v, w int) { fftLinesPerGroup, fftSharedMax = v, w }(fftLinesPerGroup, fftSharedMax)
		fftLinesPerGroup, fftSharedMax = 1, 4096
		fftCase(t, be, r, 70001, 8)  // h = 4: 70001 workgroups
		fftCase(t, be, r, 70001, 13) // Bluestein, m = 32
	}()
	defer func(v int) { fftSharedMax = v }(fftSharedMax)
	fftSharedMax = 0
	fftCase(t, be, r, 70001, 8)
}

func TestFFT2Shapes(t *testing.T) {
	be := shared(t)
	defer logWorst(t)
	r := rand.New(rand.NewSource(43))
	for _, path := range []int{0, 4096} {
		t.Run(fmt.Sprintf("sharedMax=%d", path), func(t *testing.T) {
			defer func(v int) { fftSharedMax = v }(fftSharedMax)
			fftSharedMax = path
			for _, hw := range [][2]int{{28, 28}, {85, 85}, {152, 152}, {205, 205}, {1, 7}, {6, 1}, {3, 10}} {
				for _, batch := range []int{1, 2} {
					fft2Case(t, be, r, batch, hw[0], hw[1])
				}
			}
		})
	}
}

// TestIRFFTIgnoresImag: the imaginary parts of the DC and Nyquist bins do not
// change the inverse (numpy semantics), 1-D and 2-D.
func TestIRFFTIgnoresImag(t *testing.T) {
	be := shared(t)
	r := rand.New(rand.NewSource(44))
	for _, n := range []int{8, 9, 1270, 97} {
		nf := n/2 + 1
		spec := randSlice(r, 2*nf, -1, 1)
		a := mkpair(be, spec)
		y := mkpair(be, make([]float32, n))
		be.IRFFT(y.g, a.g, 1, n)
		ref.IRFFT(y.c, a.c, 1, n)
		checkRel(t, fmt.Sprintf("irfft imag n=%d", n), readG(be, y.g), readC(y.c), 1e-5)
		a.free(be)
		y.free(be)
	}
	h, w := 6, 10
	spec := randSlice(r, 2*h*(w/2+1), -1, 1)
	a := mkpair(be, spec)
	y := mkpair(be, make([]float32, h*w))
	be.IRFFT2(y.g, a.g, 1, h, w)
	ref.IRFFT2(y.c, a.c, 1, h, w)
	checkRel(t, "irfft2 imag", readG(be, y.g), readC(y.c), 1e-5)
	a.free(be)
	y.free(be)
}

// TestFFTBluesteinChunks: Bluestein over several row chunks (1-D rows and
// 2-D columns with inner > 1), with its stages fused into the global passes
// and separate.
func TestFFTBluesteinChunks(t *testing.T) {
	be := shared(t)
	r := rand.New(rand.NewSource(45))
	defer func(v int, f bool, sm int) { fftBlueChunk, fftFuseBlue, fftSharedMax = v, f, sm }(fftBlueChunk, fftFuseBlue, fftSharedMax)
	fftSharedMax = 0
	for _, fuse := range []bool{true, false} {
		fftFuseBlue, fftBlueChunk = fuse, 8<<20
		fftCase(t, be, r, 3000, 97) // several default-size chunks
		fftCase(t, be, r, 2, 1270)
		fftBlueChunk = 3000
		fftCase(t, be, r, 7, 97)
		fft2Case(t, be, r, 3, 22, 11)
	}
}

// TestFFT128: the host float64 FFT behind the Bluestein tables.
func TestFFT128(t *testing.T) {
	r := rand.New(rand.NewSource(46))
	for _, n := range []int{1, 2, 3, 7, 12, 35, 160, 1280} {
		a := make([]complex128, n)
		for i := range a {
			a[i] = complex(r.Float64(), r.Float64())
		}
		got := append([]complex128(nil), a...)
		fft128(got)
		for k := 0; k < n; k++ {
			var s complex128
			for j := range a {
				s += a[j] * cmplx.Exp(complex(0, -2*math.Pi*float64(j*k%n)/float64(n)))
			}
			if cmplx.Abs(s-got[k]) > 1e-9*float64(n) {
				t.Fatalf("n=%d k=%d: %v, want %v", n, k, got[k], s)
			}
		}
	}
}

// TestRFFTMul: the fused rfft·w equals RFFT then ComplexMul on the CPU.
func TestRFFTMul(t *testing.T) {
	be := shared(t)
	r := rand.New(rand.NewSource(47))
	for _, n := range []int{16, 15, 1000, 97} {
		for _, conj := range []bool{false, true} {
			B, C, nf := 3, 5, n/2+1
			x := mkpair(be, randSlice(r, B*C*n, -1, 1))
			w := mkpair(be, randSlice(r, C*nf*2, -1, 1))
			X := mkpair(be, make([]float32, B*C*nf*2))
			Y := mkpair(be, make([]float32, B*C*nf*2))
			be.RFFTMul(Y.g, x.g, w.g, B, C, n, conj)
			ref.RFFT(X.c, x.c, B*C, n)
			ref.ComplexMul(Y.c, []int{B, C, nf}, X.c, 0, []int{C * nf, nf, 1}, w.c, 0, []int{0, nf, 1}, conj)
			checkRel(t, fmt.Sprintf("rfftmul n=%d conj=%v", n, conj), readG(be, Y.g), readC(Y.c), 1e-5)
			for _, p := range []pair{x, w, X, Y} {
				p.free(be)
			}
		}
	}
}

// TestFFTChunks: transforms split into many row chunks (chunk-local scratch,
// line offsets in every stage), both paths, 1-D and 2-D.
func TestFFTChunks(t *testing.T) {
	be := shared(t)
	r := rand.New(rand.NewSource(48))
	defer func(a, b int) { fftChunk, fftSharedMax = a, b }(fftChunk, fftSharedMax)
	fftChunk = 2048
	for _, sm := range []int{0, 4096} {
		fftSharedMax = sm
		for _, n := range []int{8, 9, 64, 97, 130, 1000, 1270} {
			fftCase(t, be, r, 13, n)
		}
		fft2Case(t, be, r, 3, 20, 30)
		fft2Case(t, be, r, 2, 17, 22)
	}
	fftChunk = 0
	fftCase(t, be, r, 3000, 130) // several default-size chunks on lavapipe
}
