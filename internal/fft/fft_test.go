package fft

import (
	"fmt"
	"math"
	"math/cmplx"
	"math/rand"
	"os"
	"strings"
	"testing"

	"gonum.org/v1/gonum/dsp/fourier"
)

// refFFT is the float64 reference: gonum's complex FFT, with the inverse
// built as conj(FFT(conj x))/n.
func refFFT(x []complex128, inverse bool) []complex128 {
	n := len(x)
	t := fourier.NewCmplxFFT(n)
	in := make([]complex128, n)
	for i, v := range x {
		if inverse {
			v = cmplx.Conj(v)
		}
		in[i] = v
	}
	out := t.Coefficients(nil, in)
	if inverse {
		for i := range out {
			out[i] = cmplx.Conj(out[i]) / complex(float64(n), 0)
		}
	}
	return out
}

func relErr(got []float32, want []float64) float64 {
	var num, den float64
	for i := range want {
		d := float64(got[i]) - want[i]
		num += d * d
		den += want[i] * want[i]
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

func randF32(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

func toC128(x []float32) []complex128 {
	c := make([]complex128, len(x)/2)
	for i := range c {
		c[i] = complex(float64(x[2*i]), float64(x[2*i+1]))
	}
	return c
}

func fromC128(c []complex128) []float64 {
	x := make([]float64, 2*len(c))
	for i, v := range c {
		x[2*i], x[2*i+1] = real(v), imag(v)
	}
	return x
}

func testLengths() []int {
	var ns []int
	for n := 1; n <= 64; n++ {
		ns = append(ns, n)
	}
	return append(ns, 97, 121, 127, 128, 152, 205, 254, 361, 1000, 1270, 2027, 4096, 8192)
}

const tol = 1e-5

var maxSeen = map[string]float64{}

func track(kind string, e float64) {
	if e > maxSeen[kind] {
		maxSeen[kind] = e
	}
}

func TestFFT(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, n := range testLengths() {
		for _, batch := range []int{1, 3, 37} {
			for _, inv := range []bool{false, true} {
				src := randF32(rng, batch*n*2)
				orig := append([]float32(nil), src...)
				dst := make([]float32, len(src))
				FFT(dst, src, batch, n, inv)
				for i := range src {
					if src[i] != orig[i] {
						t.Fatalf("n=%d: src modified", n)
					}
				}
				var want []float64
				for b := 0; b < batch; b++ {
					want = append(want, fromC128(refFFT(toC128(src[2*n*b:2*n*(b+1)]), inv))...)
				}
				e := relErr(dst, want)
				track("FFT", e)
				if e > tol {
					t.Errorf("FFT n=%d batch=%d inv=%v: rel err %.3g", n, batch, inv, e)
				}
				// in place
				FFT(src, src, batch, n, inv)
				if e := relErr(src, want); e > tol {
					t.Errorf("FFT in place n=%d batch=%d inv=%v: rel err %.3g", n, batch, inv, e)
				}
			}
		}
	}
}

func TestFFTRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for _, n := range testLengths() {
		src := randF32(rng, 4*n*2)
		tmp := make([]float32, len(src))
		out := make([]float32, len(src))
		FFT(tmp, src, 4, n, false)
		FFT(out, tmp, 4, n, true)
		want := make([]float64, len(src))
		for i, v := range src {
			want[i] = float64(v)
		}
		if e := relErr(out, want); e > tol {
			t.Errorf("round trip n=%d: rel err %.3g", n, e)
		}
	}
}

func refRFFT(x []float32) []complex128 {
	c := make([]complex128, len(x))
	for i, v := range x {
		c[i] = complex(float64(v), 0)
	}
	return refFFT(c, false)[:len(x)/2+1]
}

func TestRFFT(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, n := range testLengths() {
		for _, batch := range []int{1, 5, 37} {
			src := randF32(rng, batch*n)
			nc := n/2 + 1
			dst := make([]float32, batch*nc*2)
			RFFT(dst, src, batch, n)
			var want []float64
			for b := 0; b < batch; b++ {
				want = append(want, fromC128(refRFFT(src[n*b:n*(b+1)]))...)
			}
			e := relErr(dst, want)
			track("RFFT", e)
			if e > tol {
				t.Errorf("RFFT n=%d batch=%d: rel err %.3g", n, batch, e)
			}
			// round trip
			back := make([]float32, batch*n)
			IRFFT(back, dst, batch, n)
			w64 := make([]float64, len(src))
			for i, v := range src {
				w64[i] = float64(v)
			}
			if e := relErr(back, w64); e > tol {
				t.Errorf("RFFT round trip n=%d batch=%d: rel err %.3g", n, batch, e)
			}
		}
	}
}

// refIRFFT follows numpy: build the Hermitian spectrum from the first
// n/2+1 bins, ignoring imag of DC and (even n) Nyquist.
func refIRFFT(x []complex128, n int) []float64 {
	full := make([]complex128, n)
	for k := 0; k <= n/2; k++ {
		v := x[k]
		if k == 0 || (n%2 == 0 && k == n/2) {
			v = complex(real(v), 0)
		}
		full[k] = v
		if k > 0 {
			full[n-k] = cmplx.Conj(v)
		}
	}
	out := refFFT(full, true)
	r := make([]float64, n)
	for i := range r {
		r[i] = real(out[i])
	}
	return r
}

func TestIRFFT(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	for _, n := range testLengths() {
		for _, batch := range []int{1, 4, 37} {
			nc := n/2 + 1
			src := randF32(rng, batch*nc*2) // arbitrary, non-Hermitian DC/Nyquist imag
			orig := append([]float32(nil), src...)
			dst := make([]float32, batch*n)
			IRFFT(dst, src, batch, n)
			for i := range src {
				if src[i] != orig[i] {
					t.Fatalf("IRFFT n=%d: src modified", n)
				}
			}
			var want []float64
			for b := 0; b < batch; b++ {
				want = append(want, refIRFFT(toC128(src[2*nc*b:2*nc*(b+1)]), n)...)
			}
			e := relErr(dst, want)
			track("IRFFT", e)
			if e > tol {
				t.Errorf("IRFFT n=%d batch=%d: rel err %.3g", n, batch, e)
			}
		}
	}
}

// ref2D computes the full complex 2D DFT of a [h][w] complex image.
func ref2D(x []complex128, h, w int, inverse bool) []complex128 {
	out := make([]complex128, h*w)
	for r := 0; r < h; r++ {
		copy(out[r*w:(r+1)*w], refFFT(x[r*w:(r+1)*w], inverse))
	}
	col := make([]complex128, h)
	for c := 0; c < w; c++ {
		for r := 0; r < h; r++ {
			col[r] = out[r*w+c]
		}
		res := refFFT(col, inverse)
		for r := 0; r < h; r++ {
			out[r*w+c] = res[r]
		}
	}
	return out
}

var sizes2D = [][2]int{{28, 28}, {85, 85}, {152, 152}, {205, 205}, {7, 13}, {1, 5}, {5, 1}, {13, 8}, {1, 1}}

func TestRFFT2(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for _, s := range sizes2D {
		h, w := s[0], s[1]
		wc := w/2 + 1
		for _, batch := range []int{1, 3} {
			src := randF32(rng, batch*h*w)
			dst := make([]float32, batch*h*wc*2)
			RFFT2(dst, src, batch, h, w)
			var want []float64
			for b := 0; b < batch; b++ {
				c := make([]complex128, h*w)
				for i := range c {
					c[i] = complex(float64(src[b*h*w+i]), 0)
				}
				full := ref2D(c, h, w, false)
				for r := 0; r < h; r++ {
					want = append(want, fromC128(full[r*w:r*w+wc])...)
				}
			}
			e := relErr(dst, want)
			track("RFFT2", e)
			if e > tol {
				t.Errorf("RFFT2 %dx%d batch=%d: rel err %.3g", h, w, batch, e)
			}
			back := make([]float32, batch*h*w)
			IRFFT2(back, dst, batch, h, w)
			w64 := make([]float64, len(src))
			for i, v := range src {
				w64[i] = float64(v)
			}
			e = relErr(back, w64)
			track("IRFFT2 round trip", e)
			if e > tol {
				t.Errorf("IRFFT2(RFFT2) %dx%d batch=%d: rel err %.3g", h, w, batch, e)
			}
		}
	}
}

func TestIRFFT2(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	for _, s := range sizes2D {
		h, w := s[0], s[1]
		wc := w/2 + 1
		// a Hermitian-consistent spectrum: rfft2 of random real data, in float64
		x := make([]complex128, h*w)
		for i := range x {
			x[i] = complex(rng.NormFloat64(), 0)
		}
		full := ref2D(x, h, w, false)
		src := make([]float32, h*wc*2)
		for r := 0; r < h; r++ {
			for c := 0; c < wc; c++ {
				v := full[r*w+c]
				src[2*(r*wc+c)], src[2*(r*wc+c)+1] = float32(real(v)), float32(imag(v))
			}
		}
		dst := make([]float32, h*w)
		IRFFT2(dst, src, 1, h, w)
		want := make([]float64, h*w)
		for i := range want {
			want[i] = real(x[i])
		}
		e := relErr(dst, want)
		track("IRFFT2", e)
		if e > tol {
			t.Errorf("IRFFT2 %dx%d: rel err %.3g", h, w, e)
		}
	}
}

func TestFFTAxis(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for _, c := range [][3]int{{1, 8, 1}, {1, 152, 77}, {3, 19, 5}, {2, 127, 3}, {1, 97, 4}, {4, 30, 1}, {1, 1, 6}, {5, 12, 2}} {
		outer, n, inner := c[0], c[1], c[2]
		for _, inv := range []bool{false, true} {
			data := randF32(rng, outer*n*inner*2)
			want := make([]float64, len(data))
			for o := 0; o < outer; o++ {
				for e := 0; e < inner; e++ {
					seq := make([]complex128, n)
					for j := 0; j < n; j++ {
						i := 2 * ((o*n+j)*inner + e)
						seq[j] = complex(float64(data[i]), float64(data[i+1]))
					}
					res := refFFT(seq, inv)
					for j := 0; j < n; j++ {
						i := 2 * ((o*n+j)*inner + e)
						want[i], want[i+1] = real(res[j]), imag(res[j])
					}
				}
			}
			FFTAxis(data, outer, n, inner, inv)
			e := relErr(data, want)
			track("FFTAxis", e)
			if e > tol {
				t.Errorf("FFTAxis %v inv=%v: rel err %.3g", c, inv, e)
			}
		}
	}
}

// TestFFTAxisLanes checks the lane-split path (outer < GOMAXPROCS with a
// large inner dimension) directly through exec.
func TestFFTAxisLanes(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	for _, n := range []int{12, 19, 127, 97} {
		inner := 9
		data := randF32(rng, n*inner*2)
		want := append([]float32(nil), data...)
		FFTAxis(want, 1, n, inner, false)
		w := getWork()
		for _, sp := range [][2]int{{0, 4}, {4, 3}, {7, 2}} {
			PlanFor(n).exec(data, data, inner, sp[0], sp[1], false, w)
		}
		w64 := make([]float64, len(want))
		for i, v := range want {
			w64[i] = float64(v)
		}
		if e := relErr(data, w64); e > 1e-6 {
			t.Errorf("lanes n=%d: rel err %.3g", n, e)
		}
	}
}

func TestNextSmooth(t *testing.T) {
	for _, c := range [][2]int{{0, 1}, {1, 1}, {2, 2}, {11, 12}, {13, 14}, {17, 18}, {97, 98}, {121, 125}, {127, 128}, {1000, 1000}, {1270, 1280}, {1021, 1024}, {2027, 2048}, {211, 216}} {
		if got := NextSmooth(c[0]); got != c[1] {
			t.Errorf("NextSmooth(%d)=%d want %d", c[0], got, c[1])
		}
	}
}

func TestPanics(t *testing.T) {
	cases := []struct {
		name string
		f    func()
	}{
		{"fft.RFFT: len(src)=5 want batch*n=8", func() { RFFT(make([]float32, 10), make([]float32, 5), 2, 4) }},
		{"fft.FFT: len(dst)", func() { FFT(make([]float32, 3), make([]float32, 8), 1, 4, false) }},
		{"fft.IRFFT: len(src)", func() { IRFFT(make([]float32, 4), make([]float32, 4), 1, 4) }},
		{"fft.RFFT2: len(dst)", func() { RFFT2(make([]float32, 4), make([]float32, 16), 1, 4, 4) }},
		{"fft.IRFFT2: len(src)", func() { IRFFT2(make([]float32, 16), make([]float32, 4), 1, 4, 4) }},
		{"fft.FFTAxis: len(data)", func() { FFTAxis(make([]float32, 4), 1, 4, 2, false) }},
		{"fft.PlanFor: n=0", func() { PlanFor(0) }},
	}
	for _, c := range cases {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), c.name) {
					t.Errorf("panic %v, want containing %q", r, c.name)
				}
			}()
			c.f()
		}()
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	for k, v := range maxSeen {
		fmt.Printf("max rel err %-18s %.3g\n", k, v)
	}
	os.Exit(code)
}

// TestBluestein forces Bluestein plans (normally chosen only for lengths
// with a large prime factor) and checks them, including the lane paths.
func TestBluestein(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	for _, n := range []int{2, 5, 97, 127, 1270} {
		pl := &Plan{n: n, blue: newBluestein(n, NextSmooth(2*n-1))}
		for _, inv := range []bool{false, true} {
			v := 3
			src := randF32(rng, n*v*2)
			dst := make([]float32, len(src))
			w := getWork()
			pl.exec(dst, src, v, 0, 2, inv, w)
			pl.exec(dst, src, v, 2, 1, inv, w)
			want := make([]float64, len(src))
			for e := 0; e < v; e++ {
				seq := make([]complex128, n)
				for j := range seq {
					seq[j] = complex(float64(src[2*(j*v+e)]), float64(src[2*(j*v+e)+1]))
				}
				res := refFFT(seq, inv)
				for j, c := range res {
					if inv {
						c *= complex(float64(n), 0) // exec is unnormalised
					}
					want[2*(j*v+e)], want[2*(j*v+e)+1] = real(c), imag(c)
				}
			}
			e := relErr(dst, want)
			track("Bluestein", e)
			if e > tol {
				t.Errorf("Bluestein n=%d inv=%v: rel err %.3g", n, inv, e)
			}
		}
	}
}

// TestLargePrimes covers lengths whose plans use Bluestein or nested Rader.
func TestLargePrimes(t *testing.T) {
	rng := rand.New(rand.NewSource(10))
	for _, n := range []int{2027, 4049, 2 * 2027, 10007} {
		src := randF32(rng, 2*n*2)
		dst := make([]float32, len(src))
		FFT(dst, src, 2, n, false)
		var want []float64
		for b := 0; b < 2; b++ {
			want = append(want, fromC128(refFFT(toC128(src[2*n*b:2*n*(b+1)]), false))...)
		}
		e := relErr(dst, want)
		track("FFT large prime", e)
		if e > tol {
			t.Errorf("FFT n=%d (blue=%v): rel err %.3g", n, PlanFor(n).blue != nil, e)
		}
		back := make([]float32, len(src))
		FFT(back, dst, 2, n, true)
		w64 := make([]float64, len(src))
		for i, v := range src {
			w64[i] = float64(v)
		}
		if e := relErr(back, w64); e > tol {
			t.Errorf("FFT round trip n=%d: rel err %.3g", n, e)
		}
	}
	// strided axis transform with a Bluestein plan
	data := randF32(rng, 2027*3*2)
	want := append([]float32(nil), data...)
	FFTAxis(data, 1, 2027, 3, false)
	for e := 0; e < 3; e++ {
		seq := make([]complex128, 2027)
		for j := range seq {
			seq[j] = complex(float64(want[2*(j*3+e)]), float64(want[2*(j*3+e)+1]))
		}
		res := refFFT(seq, false)
		got := make([]float32, 2*2027)
		for j := range res {
			got[2*j], got[2*j+1] = data[2*(j*3+e)], data[2*(j*3+e)+1]
		}
		if err := relErr(got, fromC128(res)); err > tol {
			t.Errorf("FFTAxis Bluestein lane %d: rel err %.3g", e, err)
		}
	}
}

func TestPlanTransform(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	for _, n := range []int{1, 7, 30, 127, 1270} {
		src := randF32(rng, 2*n)
		want := fromC128(refFFT(toC128(src), false))
		pl := PlanFor(n)
		if pl.Len() != n {
			t.Fatalf("Len=%d want %d", pl.Len(), n)
		}
		dst := make([]float32, 2*n)
		pl.Transform(dst, src, false)
		if e := relErr(dst, want); e > tol {
			t.Errorf("Transform n=%d: rel err %.3g", n, e)
		}
		pl.Transform(dst, dst, true)
		w64 := make([]float64, len(src))
		for i, v := range src {
			w64[i] = float64(v)
		}
		if e := relErr(dst, w64); e > tol {
			t.Errorf("Transform round trip n=%d: rel err %.3g", n, e)
		}
	}
}

// TestLongRows covers rows longer than maxLaneLen (one-at-a-time path).
func TestLongRows(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	n := 2*maxLaneLen + 6 // even, > 2*maxLaneLen: RFFT half length exceeds the lane limit
	src := randF32(rng, 2*n)
	spec := make([]float32, 2*(n/2+1)*2)
	RFFT(spec, src, 2, n)
	want := fromC128(refRFFT(src[n:]))
	if e := relErr(spec[2*(n/2+1):], want); e > tol {
		t.Errorf("RFFT long n=%d: rel err %.3g", n, e)
	}
	back := make([]float32, 2*n)
	IRFFT(back, spec, 2, n)
	w64 := make([]float64, len(src))
	for i, v := range src {
		w64[i] = float64(v)
	}
	if e := relErr(back, w64); e > tol {
		t.Errorf("IRFFT long n=%d: rel err %.3g", n, e)
	}
	m := maxLaneLen + 2
	c := randF32(rng, 2*m*2)
	out := make([]float32, len(c))
	FFT(out, c, 2, m, false)
	if e := relErr(out[2*m:], fromC128(refFFT(toC128(c[2*m:]), false))); e > tol {
		t.Errorf("FFT long n=%d: rel err %.3g", m, e)
	}
}
