package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/dash-go/dash/tensor"
)

// specCompare checks got against a float64 reference with an absolute
// tolerance of tol·(1 + max|want|).
func specCompare(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	mx := 0.0
	for _, w := range want {
		mx = math.Max(mx, math.Abs(w))
	}
	lim := tol * (1 + mx)
	bad := 0
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); d > lim || math.IsNaN(float64(got[i])) {
			if bad < 5 {
				t.Errorf("%s[%d] = %v, want %v (tol %.3g)", what, i, got[i], want[i], lim)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values wrong", what, bad, len(want))
	}
}

// garbage returns n NaNs: kernels must overwrite every output element.
func garbage(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(math.NaN())
	}
	return s
}

// naiveDFT computes the full complex DFT (sign -1) of a complex sequence.
func naiveDFT(re, im []float64, inverse bool) ([]float64, []float64) {
	n := len(re)
	or, oi := make([]float64, n), make([]float64, n)
	sign := -1.0
	if inverse {
		sign = 1
	}
	for k := range n {
		var sr, si float64
		for j := range n {
			s, c := math.Sincos(sign * 2 * math.Pi * float64((k*j)%n) / float64(n))
			sr += re[j]*c - im[j]*s
			si += re[j]*s + im[j]*c
		}
		or[k], oi[k] = sr, si
	}
	return or, oi
}

// naiveIRFFT evaluates (1/n) Σ_k w_k Re(Y_k e^{+2πikn/N}) from a half
// spectrum (the imaginary parts of DC and Nyquist do not contribute).
func naiveIRFFT(spec []float32, n int) []float64 {
	nf := n/2 + 1
	out := make([]float64, n)
	for t := range n {
		var s float64
		for k := range nf {
			w := 2.0
			if k == 0 || (n%2 == 0 && k == n/2) {
				w = 1
			}
			sn, cs := math.Sincos(2 * math.Pi * float64((k*t)%n) / float64(n))
			s += w * (float64(spec[2*k])*cs - float64(spec[2*k+1])*sn)
		}
		out[t] = s / float64(n)
	}
	return out
}

var fftSizes = []int{1, 2, 3, 4, 5, 7, 8, 12, 16, 17, 31, 97, 100, 128, 210, 1010, 1270}

func TestRFFTKernelsAgainstDFT(t *testing.T) {
	be := New()
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range fftSizes {
		for _, batch := range []int{1, 3} {
			t.Run(fmt.Sprintf("n%d_b%d", n, batch), func(t *testing.T) {
				nf := n/2 + 1
				x := randSlice(r, batch*n)
				dst := &Buf{F: garbage(batch * nf * 2)}
				be.RFFT(dst, &Buf{F: x}, batch, n)
				want := make([]float64, 0, batch*nf*2)
				for b := range batch {
					re := make([]float64, n)
					for j := range n {
						re[j] = float64(x[b*n+j])
					}
					or, oi := naiveDFT(re, make([]float64, n), false)
					for k := range nf {
						want = append(want, or[k], oi[k])
					}
				}
				specCompare(t, "rfft", dst.F, want, 1e-5*math.Sqrt(float64(n)))

				// inverse from a random half spectrum (garbage imaginary
				// parts at DC/Nyquist must be ignored)
				spec := randSlice(r, batch*nf*2)
				out := &Buf{F: garbage(batch * n)}
				be.IRFFT(out, &Buf{F: spec}, batch, n)
				var iw []float64
				for b := range batch {
					iw = append(iw, naiveIRFFT(spec[b*nf*2:(b+1)*nf*2], n)...)
				}
				specCompare(t, "irfft", out.F, iw, 1e-5*math.Sqrt(float64(n)))

				// round trip
				back := &Buf{F: garbage(batch * n)}
				be.IRFFT(back, dst, batch, n)
				xw := make([]float64, len(x))
				for i, v := range x {
					xw[i] = float64(v)
				}
				specCompare(t, "roundtrip", back.F, xw, 1e-5)
			})
		}
	}
}

// naiveRFFT2 computes numpy's rfft2 of one h×w plane in float64.
func naiveRFFT2(x []float32, h, w int) []float64 {
	wf := w/2 + 1
	// rows first (full DFT, keep half), then columns
	re := make([]float64, h*wf)
	im := make([]float64, h*wf)
	for i := range h {
		row := make([]float64, w)
		for j := range w {
			row[j] = float64(x[i*w+j])
		}
		or, oi := naiveDFT(row, make([]float64, w), false)
		copy(re[i*wf:], or[:wf])
		copy(im[i*wf:], oi[:wf])
	}
	out := make([]float64, h*wf*2)
	for j := range wf {
		cr, ci := make([]float64, h), make([]float64, h)
		for i := range h {
			cr[i], ci[i] = re[i*wf+j], im[i*wf+j]
		}
		or, oi := naiveDFT(cr, ci, false)
		for i := range h {
			out[(i*wf+j)*2] = or[i]
			out[(i*wf+j)*2+1] = oi[i]
		}
	}
	return out
}

// naiveIRFFT2 computes numpy's irfft2(s=(h, w)) of one half spectrum: an
// inverse complex DFT over the first axis, then an inverse real DFT.
func naiveIRFFT2(spec []float32, h, w int) []float64 {
	wf := w/2 + 1
	z := make([]float32, h*wf*2)
	for j := range wf {
		cr, ci := make([]float64, h), make([]float64, h)
		for i := range h {
			cr[i], ci[i] = float64(spec[(i*wf+j)*2]), float64(spec[(i*wf+j)*2+1])
		}
		or, oi := naiveDFT(cr, ci, true)
		for i := range h {
			z[(i*wf+j)*2] = float32(or[i] / float64(h))
			z[(i*wf+j)*2+1] = float32(oi[i] / float64(h))
		}
	}
	out := make([]float64, 0, h*w)
	for i := range h {
		out = append(out, naiveIRFFT(z[i*wf*2:(i+1)*wf*2], w)...)
	}
	return out
}

func TestRFFT2KernelsAgainstDFT(t *testing.T) {
	be := New()
	r := rand.New(rand.NewPCG(3, 4))
	for _, hw := range [][2]int{{1, 1}, {1, 7}, {5, 1}, {2, 2}, {3, 5}, {4, 6}, {7, 8}, {16, 16}, {9, 12}, {32, 32}, {85, 85}} {
		h, w := hw[0], hw[1]
		batch := 2
		if h*w > 1000 {
			batch = 1
		}
		t.Run(fmt.Sprintf("%dx%d", h, w), func(t *testing.T) {
			wf := w/2 + 1
			x := randSlice(r, batch*h*w)
			dst := &Buf{F: garbage(batch * h * wf * 2)}
			be.RFFT2(dst, &Buf{F: x}, batch, h, w)
			var want []float64
			for b := range batch {
				want = append(want, naiveRFFT2(x[b*h*w:(b+1)*h*w], h, w)...)
			}
			tol := 1e-5 * math.Sqrt(float64(h*w))
			specCompare(t, "rfft2", dst.F, want, tol)

			spec := randSlice(r, batch*h*wf*2)
			out := &Buf{F: garbage(batch * h * w)}
			be.IRFFT2(out, &Buf{F: spec}, batch, h, w)
			var iw []float64
			for b := range batch {
				iw = append(iw, naiveIRFFT2(spec[b*h*wf*2:(b+1)*h*wf*2], h, w)...)
			}
			specCompare(t, "irfft2", out.F, iw, tol)

			back := &Buf{F: garbage(batch * h * w)}
			be.IRFFT2(back, dst, batch, h, w)
			xw := make([]float64, len(x))
			for i, v := range x {
				xw[i] = float64(v)
			}
			specCompare(t, "roundtrip", back.F, xw, 1e-5)
		})
	}
}

// naiveContract evaluates the three ContractMode forms with einsum loops in
// float64.
func naiveContract(mode tensor.ContractMode, a, b []float32, B, I, O, F int) []float64 {
	c := func(s []float32, i int) complex128 { return complex(float64(s[2*i]), float64(s[2*i+1])) }
	var out []complex128
	switch mode {
	case tensor.ContractForward:
		out = make([]complex128, B*O*F)
		for bb := range B {
			for o := range O {
				for i := range I {
					for f := range F {
						out[(bb*O+o)*F+f] += c(a, (bb*I+i)*F+f) * c(b, (o*I+i)*F+f)
					}
				}
			}
		}
	case tensor.ContractGradX:
		out = make([]complex128, B*I*F)
		for bb := range B {
			for i := range I {
				for o := range O {
					for f := range F {
						w := c(b, (o*I+i)*F+f)
						out[(bb*I+i)*F+f] += c(a, (bb*O+o)*F+f) * complex(real(w), -imag(w))
					}
				}
			}
		}
	case tensor.ContractGradW:
		out = make([]complex128, O*I*F)
		for o := range O {
			for i := range I {
				for bb := range B {
					for f := range F {
						x := c(b, (bb*I+i)*F+f)
						out[(o*I+i)*F+f] += c(a, (bb*O+o)*F+f) * complex(real(x), -imag(x))
					}
				}
			}
		}
	}
	res := make([]float64, 2*len(out))
	for i, v := range out {
		res[2*i], res[2*i+1] = real(v), imag(v)
	}
	return res
}

func TestComplexContractAgainstEinsum(t *testing.T) {
	be := New()
	r := rand.New(rand.NewPCG(5, 6))
	defer func(v int) { contractGEMMMin = v }(contractGEMMMin)
	shapes := [][4]int{ // B, I, O, F
		{1, 1, 1, 1}, {2, 3, 5, 7}, {3, 17, 4, 13}, {1, 3, 17, 85}, {2, 16, 32, 37},
		{4, 64, 64, 9}, {3, 1, 1, 636}, {5, 17, 3, 1}, {2, 33, 31, 70}, {1, 40, 24, 3},
		{0, 3, 4, 5}, {2, 0, 4, 5}, {2, 3, 4, 0},
	}
	for _, path := range []string{"direct", "gemm", "auto"} {
		switch path {
		case "direct":
			contractGEMMMin = math.MaxInt
		case "gemm":
			contractGEMMMin = 0
		case "auto":
			contractGEMMMin = 1024
		}
		for _, s := range shapes {
			B, I, O, F := s[0], s[1], s[2], s[3]
			for _, mode := range []tensor.ContractMode{tensor.ContractForward, tensor.ContractGradX, tensor.ContractGradW} {
				var na, nb, nc int
				switch mode {
				case tensor.ContractForward:
					na, nb, nc = B*I, O*I, B*O
				case tensor.ContractGradX:
					na, nb, nc = B*O, O*I, B*I
				case tensor.ContractGradW:
					na, nb, nc = B*O, B*I, O*I
				}
				name := fmt.Sprintf("%s/mode%d/B%d_I%d_O%d_F%d", path, mode, B, I, O, F)
				t.Run(name, func(t *testing.T) {
					a := randSlice(r, na*F*2)
					b := randSlice(r, nb*F*2)
					dst := &Buf{F: randSlice(r, nc*F*2)} // garbage must be overwritten
					be.ComplexContract(mode, dst, &Buf{F: a}, &Buf{F: b}, B, I, O, F)
					specCompare(t, "contract", dst.F, naiveContract(mode, a, b, B, I, O, F), 1e-5*math.Sqrt(float64(max(I, O, B, 1))))
				})
			}
		}
	}
}

func TestComplexMulKernel(t *testing.T) {
	be := New()
	r := rand.New(rand.NewPCG(7, 8))
	// a [2,3,4] complex, b broadcast [1,3,1] read with stride 0, both with
	// offsets; a is read transposed (strides permuted).
	shape := []int{2, 3, 4}
	a := randSlice(r, 1+2*24)
	b := randSlice(r, 3+2*3)
	aStr := []int{1, 8, 2} // a stored as [4][3][2]: idx (i,j,k) at i + 2k + 8j
	bStr := []int{0, 1, 0}
	for _, conj := range []bool{false, true} {
		dst := &Buf{F: make([]float32, 48)}
		be.ComplexMul(dst, shape, &Buf{F: a}, 1, aStr, &Buf{F: b}, 3, bStr, conj)
		want := make([]float64, 48)
		for i := range 2 {
			for j := range 3 {
				for k := range 4 {
					ao := 1 + 2*(i*aStr[0]+j*aStr[1]+k*aStr[2])
					bo := 3 + 2*(j*bStr[1])
					x := complex(float64(a[ao]), float64(a[ao+1]))
					y := complex(float64(b[bo]), float64(b[bo+1]))
					if conj {
						y = complex(real(y), -imag(y))
					}
					z := x * y
					o := ((i*3+j)*4 + k) * 2
					want[o], want[o+1] = real(z), imag(z)
				}
			}
		}
		specCompare(t, fmt.Sprintf("cmul conj=%v", conj), dst.F, want, 1e-6)
	}
	// long rows split into segments, strided and broadcast b
	{
		rows, last := 3, 20011
		a := randSlice(r, 2+2*rows*last)
		b := randSlice(r, 2*2*last)
		dst := &Buf{F: make([]float32, 2*rows*last)}
		be.ComplexMul(dst, []int{rows, last}, &Buf{F: a}, 2, []int{last, 1}, &Buf{F: b}, 0, []int{0, 2}, true)
		want := make([]float64, 2*rows*last)
		for i := range rows {
			for j := range last {
				x := complex(float64(a[2+2*(i*last+j)]), float64(a[3+2*(i*last+j)]))
				y := complex(float64(b[4*j]), -float64(b[4*j+1]))
				z := x * y
				want[2*(i*last+j)], want[2*(i*last+j)+1] = real(z), imag(z)
			}
		}
		specCompare(t, "cmul long rows", dst.F, want, 1e-6)
	}
	// rank 0
	dst := &Buf{F: make([]float32, 2)}
	be.ComplexMul(dst, nil, &Buf{F: []float32{1, 2}}, 0, nil, &Buf{F: []float32{3, 4}}, 0, nil, true)
	specCompare(t, "cmul rank0", dst.F, []float64{11, 2}, 0) // (1+2i)(3-4i) = 11+2i
}

func TestKronDilateGather(t *testing.T) {
	be := New()
	r := rand.New(rand.NewPCG(9, 10))
	cases := []struct{ rows, kh, kw, dh, dw int }{
		{1, 1, 1, 1, 1}, {3, 1, 3, 1, 1}, {4, 1, 5, 1, 3}, {2, 1, 1, 1, 7}, {5, 1, 19, 1, 15},
		{1, 3, 3, 1, 1}, {3, 3, 5, 2, 3}, {2, 7, 7, 15, 15}, {6, 1, 4, 5, 2}, {2, 4, 1, 3, 5},
	}
	for _, c := range cases {
		for _, twoD := range []bool{false, true} {
			if !twoD && c.kh != 1 {
				continue
			}
			k, d := []int{c.kw}, []int{c.dw}
			if twoD {
				k, d = []int{c.kh, c.kw}, []int{c.dh, c.dw}
			}
			sh, sw := c.dh*(c.kh-1)+1, c.dw*(c.kw-1)+1
			if !twoD {
				sh = 1
			}
			t.Run(fmt.Sprintf("rows%d_k%v_d%v", c.rows, k, d), func(t *testing.T) {
				src := randSlice(r, c.rows*c.kh*c.kw)
				dst := &Buf{F: randSlice(r, c.rows*sh*sw)} // must be overwritten
				be.KronDilate(dst, &Buf{F: src}, c.rows, k, d)
				want := make([]float64, c.rows*sh*sw)
				for row := range c.rows {
					for i := range c.kh {
						for j := range c.kw {
							di := i * c.dh
							if !twoD {
								di = 0
							}
							want[(row*sh+di)*sw+j*c.dw] = float64(src[(row*c.kh+i)*c.kw+j])
						}
					}
				}
				specCompare(t, "dilate", dst.F, want, 0)
				// gather of a random dilated kernel: adjoint identity
				// <dilate(u), v> = <u, gather(v)>
				v := randSlice(r, c.rows*sh*sw)
				g := &Buf{F: make([]float32, c.rows*c.kh*c.kw)}
				be.KronGather(g, &Buf{F: v}, c.rows, k, d)
				var lhs, rhs float64
				for i := range v {
					lhs += float64(dst.F[i]) * float64(v[i])
				}
				for i := range src {
					rhs += float64(src[i]) * float64(g.F[i])
				}
				if math.Abs(lhs-rhs) > 1e-4*(1+math.Abs(lhs)) {
					t.Errorf("adjoint: <dilate u, v> = %v, <u, gather v> = %v", lhs, rhs)
				}
				// gather(dilate(u)) = u
				be.KronGather(g, dst, c.rows, k, d)
				uw := make([]float64, len(src))
				for i, x := range src {
					uw[i] = float64(x)
				}
				specCompare(t, "gather∘dilate", g.F, uw, 0)
			})
		}
	}
}

func TestSpectralKernelBadArgs(t *testing.T) {
	be := New()
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	small := &Buf{F: make([]float32, 3)}
	big := &Buf{F: make([]float32, 1000)}
	mustPanic("rfft short dst", func() { be.RFFT(small, big, 1, 8) })
	mustPanic("irfft short src", func() { be.IRFFT(big, small, 1, 8) })
	mustPanic("rfft2 short dst", func() { be.RFFT2(small, big, 1, 4, 4) })
	mustPanic("contract short", func() { be.ComplexContract(tensor.ContractForward, small, big, big, 2, 2, 2, 2) })
	mustPanic("contract mode", func() { be.ComplexContract(7, big, big, big, 1, 1, 1, 1) })
	mustPanic("kron dims", func() { be.KronDilate(big, big, 1, []int{3}, []int{1, 2}) })
	mustPanic("kron zero d", func() { be.KronDilate(big, big, 1, []int{3}, []int{0}) })
	mustPanic("kron short", func() { be.KronDilate(small, big, 1, []int{3}, []int{2}) })
	mustPanic("cmul strides", func() { be.ComplexMul(big, []int{2}, big, 0, nil, big, 0, []int{1}, false) })
}

// raceEnabled reports whether the test binary was built with -race (whose
// sync.Pool drops buffers on purpose).
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" && s.Value == "true" {
			return true
		}
	}
	return false
}

func TestSpectralNoAllocInHotPath(t *testing.T) {
	if raceEnabled() {
		t.Skip("allocation counts are not meaningful under -race")
	}
	be := New()
	r := rand.New(rand.NewPCG(11, 12))
	B, I, O, F := 4, 32, 32, 64
	a := &Buf{F: randSlice(r, B*I*F*2)}
	w := &Buf{F: randSlice(r, O*I*F*2)}
	y := &Buf{F: make([]float32, B*O*F*2)}
	run := func() { be.ComplexContract(tensor.ContractForward, y, a, w, B, I, O, F) }
	for range 3 {
		run() // warm the scratch caches
	}
	// Goroutine start-up and closures allocate a little per call; nothing
	// may scale with the problem size (the operands alone are ~650 KB). The
	// GEMM's sync.Pool of packing buffers can miss now and then when a
	// worker lands on another P, so a few outliers are tolerated.
	const reps = 20
	big := 0
	for range reps {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		run()
		runtime.ReadMemStats(&m1)
		if m1.TotalAlloc-m0.TotalAlloc > 16<<10 {
			big++
		}
	}
	if big > reps/4 {
		t.Errorf("ComplexContract: %d of %d calls allocated more than 16 KiB", big, reps)
	}
}

// TestComplexContractFused checks the fused GEMM path of ComplexContract in
// every orientation, with every micro-kernel this machine supports and with
// several frequency block sizes (partial last blocks included), and the
// frequency-major path it falls back to.
func TestComplexContractFused(t *testing.T) {
	be := New()
	r := rand.New(rand.NewPCG(9, 10))
	defer func(k *sgemmKernel, o, mb, bud int, on bool, g int) {
		contractKernel, contractOrient, fusedMaxBlock, fusedBudget, contractFused, contractGEMMMin = k, o, mb, bud, on, g
	}(contractKernel, contractOrient, fusedMaxBlock, fusedBudget, contractFused, contractGEMMMin)
	contractGEMMMin = 0
	shapes := [][4]int{ // B, I, O, F
		{3, 5, 7, 13}, {32, 17, 9, 70}, {4, 64, 64, 9}, {9, 3, 50, 37}, {2, 33, 31, 130},
	}
	for _, kn := range supportedKernels() {
		for _, o := range []int{-1, 0, 1, 2, 3, 4} {
			for _, mb := range []int{8, 16, 64} {
				contractKernel, fusedMaxBlock, contractFused, fusedBudget = kn, mb, o < 4, 8<<20
				contractOrient = min(o, 3)
				for _, s := range shapes {
					B, I, O, F := s[0], s[1], s[2], s[3]
					for _, mode := range []tensor.ContractMode{tensor.ContractForward, tensor.ContractGradX, tensor.ContractGradW} {
						var na, nb, nc int
						switch mode {
						case tensor.ContractForward:
							na, nb, nc = B*I, O*I, B*O
						case tensor.ContractGradX:
							na, nb, nc = B*O, O*I, B*I
						case tensor.ContractGradW:
							na, nb, nc = B*O, B*I, O*I
						}
						a := randSlice(r, na*F*2)
						b := randSlice(r, nb*F*2)
						dst := &Buf{F: randSlice(r, nc*F*2)}
						for i := 0; i < len(dst.F); i += 7 {
							dst.F[i] = float32(math.NaN()) // garbage must be overwritten
						}
						be.ComplexContract(mode, dst, &Buf{F: a}, &Buf{F: b}, B, I, O, F)
						name := fmt.Sprintf("%s/orient%d/block%d/mode%d/B%d_I%d_O%d_F%d", kn.name, o, mb, mode, B, I, O, F)
						specCompare(t, name, dst.F, naiveContract(mode, a, b, B, I, O, F), 1e-5*math.Sqrt(float64(max(I, O, B, 1))))
					}
				}
			}
		}
	}
}

// BenchmarkContractFused times ComplexContract at B32 C64 F636 (DASH's 1-D
// L1000 search step) on the fused path in each orientation and block size,
// and on the frequency-major path ("freqmajor").
func BenchmarkContractFused(b *testing.B) {
	defer func(o, mb int, on bool) {
		contractOrient, fusedMaxBlock, contractFused = o, mb, on
	}(contractOrient, fusedMaxBlock, contractFused)
	be := New()
	r := rand.New(rand.NewPCG(1, 2))
	const B, C, F = 32, 64, 636
	x := &Buf{F: randSlice(r, B*C*F*2)}
	w := &Buf{F: randSlice(r, C*C*F*2)}
	y := &Buf{F: randSlice(r, B*C*F*2)}
	type variant struct {
		name   string
		orient int
		block  int
		fused  bool
	}
	var vs []variant
	for o := -1; o < 4; o++ {
		vs = append(vs, variant{fmt.Sprintf("orient%d_block64", o), o, 64, true})
	}
	for _, mb := range []int{8, 16, 32} {
		vs = append(vs, variant{fmt.Sprintf("orient-1_block%d", mb), -1, mb, true})
	}
	vs = append(vs, variant{"freqmajor", -1, 64, false})
	for _, m := range []struct {
		name string
		mode tensor.ContractMode
		dst  tensor.Buffer
		a, b tensor.Buffer
	}{
		{"Forward", tensor.ContractForward, y, x, w},
		{"GradX", tensor.ContractGradX, x, y, w},
		{"GradW", tensor.ContractGradW, w, y, x},
	} {
		for _, v := range vs {
			b.Run(m.name+"/"+v.name, func(b *testing.B) {
				contractOrient, fusedMaxBlock, contractFused = v.orient, v.block, v.fused
				be.ComplexContract(m.mode, m.dst, m.a, m.b, B, C, C, F)
				for b.Loop() {
					be.ComplexContract(m.mode, m.dst, m.a, m.b, B, C, C, F)
				}
			})
		}
	}
}
