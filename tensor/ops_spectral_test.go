package tensor_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/dash-go/dash/tensor"
)

// specNear checks got against want with tolerance tol·(1 + max|want|).
func specNear(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	mx := 0.0
	for _, w := range want {
		mx = math.Max(mx, math.Abs(w))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); d > tol*(1+mx) || math.IsNaN(float64(got[i])) {
			t.Fatalf("%s: element %d = %v, want %v (max |want| %v)", what, i, got[i], want[i], mx)
		}
	}
}

func specF64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func specPanics(t *testing.T, name, want string, f func()) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Errorf("%s: no panic", name)
			return
		}
		if msg := fmt.Sprint(r); !strings.Contains(msg, want) {
			t.Errorf("%s: panic %q does not mention %q", name, msg, want)
		}
	}()
	f()
}

// dft1 is the rfft of one real row in float64.
func dft1(x []float32) []float64 {
	n := len(x)
	out := make([]float64, 0, 2*(n/2+1))
	for k := 0; k <= n/2; k++ {
		var re, im float64
		for j, v := range x {
			s, c := math.Sincos(-2 * math.Pi * float64((k*j)%n) / float64(n))
			re += float64(v) * c
			im += float64(v) * s
		}
		out = append(out, re, im)
	}
	return out
}

func TestRFFTOp(t *testing.T) {
	for _, n := range []int{1, 2, 5, 16, 17, 100} {
		// a non-contiguous view: [n, 2, 3] permuted to [2, 3, n]
		base := tensor.FromFloat32(be, randSlice(uint64(n), n*6), n, 2, 3)
		x := base.Permute(1, 2, 0)
		y := tensor.RFFT(x)
		if want := []int{2, 3, n/2 + 1, 2}; !tensor.SameShape(y.Shape(), want) {
			t.Fatalf("RFFT shape %v, want %v", y.Shape(), want)
		}
		xs := x.Float32s()
		var want []float64
		for r := range 6 {
			want = append(want, dft1(xs[r*n:(r+1)*n])...)
		}
		specNear(t, fmt.Sprintf("rfft n=%d", n), y.Float32s(), want, 1e-5)
		back := tensor.IRFFT(y, n)
		if !tensor.SameShape(back.Shape(), []int{2, 3, n}) {
			t.Fatalf("IRFFT shape %v", back.Shape())
		}
		specNear(t, fmt.Sprintf("irfft n=%d", n), back.Float32s(), specF64(xs), 1e-5)
		// an offset view (Slice) goes through the copy path
		sl := y.Slice(0, 1, 2)
		b2 := tensor.IRFFT(sl, n)
		specNear(t, "irfft of slice", b2.Float32s(), specF64(xs[3*n:]), 1e-5)
	}
	x1 := tensor.FromFloat32(be, []float32{1, 2, 3}, 3)
	if s := tensor.RFFT(x1).Shape(); !tensor.SameShape(s, []int{2, 2}) {
		t.Errorf("rank-1 RFFT shape %v", s)
	}
	specPanics(t, "rfft scalar", "RFFT", func() { tensor.RFFT(tensor.Scalar(be, 1)) })
	specPanics(t, "irfft wrong n", "IRFFT", func() { tensor.IRFFT(tensor.Zeros(be, 3, 4, 2), 8) })
	specPanics(t, "irfft not complex", "IRFFT", func() { tensor.IRFFT(tensor.Zeros(be, 3, 4, 3), 6) })
}

func TestRFFT2Op(t *testing.T) {
	for _, hw := range [][2]int{{1, 1}, {3, 5}, {4, 4}, {7, 12}, {85, 85}} {
		h, w := hw[0], hw[1]
		x := tensor.FromFloat32(be, randSlice(uint64(h*w), 2*h*w), 2, h, w)
		y := tensor.RFFT2(x)
		if want := []int{2, h, w/2 + 1, 2}; !tensor.SameShape(y.Shape(), want) {
			t.Fatalf("RFFT2 shape %v, want %v", y.Shape(), want)
		}
		// DC bin = sum of the plane
		var sum float64
		xs := x.Float32s()
		for _, v := range xs[:h*w] {
			sum += float64(v)
		}
		if got := y.Float32s()[0]; math.Abs(float64(got)-sum) > 1e-4*(1+math.Abs(sum)) {
			t.Errorf("%dx%d: DC %v, want %v", h, w, got, sum)
		}
		back := tensor.IRFFT2(y, h, w)
		specNear(t, fmt.Sprintf("irfft2 %dx%d", h, w), back.Float32s(), specF64(xs), 1e-5)
	}
	specPanics(t, "rfft2 rank1", "RFFT2", func() { tensor.RFFT2(tensor.Zeros(be, 4)) })
	specPanics(t, "irfft2 wrong w", "IRFFT2", func() { tensor.IRFFT2(tensor.Zeros(be, 4, 4, 2), 4, 4) })
}

func TestComplexContractOp(t *testing.T) {
	B, I, O, F1, F2 := 2, 3, 5, 4, 3
	x := tensor.FromFloat32(be, randSlice(1, B*I*F1*F2*2), B, I, F1, F2, 2)
	w := tensor.FromFloat32(be, randSlice(2, O*I*F1*F2*2), O, I, F1, F2, 2)
	y := tensor.ComplexContract(tensor.ContractForward, x, w)
	if want := []int{B, O, F1, F2, 2}; !tensor.SameShape(y.Shape(), want) {
		t.Fatalf("shape %v, want %v", y.Shape(), want)
	}
	xs, ws := x.Float32s(), w.Float32s()
	F := F1 * F2
	want := make([]float64, B*O*F*2)
	for b := range B {
		for o := range O {
			for f := range F {
				var re, im float64
				for i := range I {
					xo, wo := ((b*I+i)*F+f)*2, ((o*I+i)*F+f)*2
					xr, xi := float64(xs[xo]), float64(xs[xo+1])
					wr, wi := float64(ws[wo]), float64(ws[wo+1])
					re += xr*wr - xi*wi
					im += xr*wi + xi*wr
				}
				want[((b*O+o)*F+f)*2], want[((b*O+o)*F+f)*2+1] = re, im
			}
		}
	}
	specNear(t, "contract", y.Float32s(), want, 1e-5)
	gx := tensor.ComplexContract(tensor.ContractGradX, y, w)
	if !tensor.SameShape(gx.Shape(), x.Shape()) {
		t.Errorf("GradX shape %v", gx.Shape())
	}
	gw := tensor.ComplexContract(tensor.ContractGradW, y, x)
	if !tensor.SameShape(gw.Shape(), w.Shape()) {
		t.Errorf("GradW shape %v", gw.Shape())
	}
	// a transposed view of w gives the same result
	wt := w.Permute(1, 0, 2, 3, 4).Clone().Permute(1, 0, 2, 3, 4)
	specNear(t, "contract of a view", tensor.ComplexContract(tensor.ContractForward, x, wt).Float32s(), want, 1e-5)
	specPanics(t, "channel mismatch", "ComplexContract", func() {
		tensor.ComplexContract(tensor.ContractForward, x, tensor.Zeros(be, O, I+1, F1, F2, 2))
	})
	specPanics(t, "freq mismatch", "ComplexContract", func() {
		tensor.ComplexContract(tensor.ContractForward, x, tensor.Zeros(be, O, I, F1, F2+1, 2))
	})
	specPanics(t, "not complex", "ComplexContract", func() {
		tensor.ComplexContract(tensor.ContractForward, tensor.Zeros(be, 2, 3, 4), tensor.Zeros(be, 2, 3, 4))
	})
}

func TestComplexMulOp(t *testing.T) {
	type tc struct{ a, b []int }
	for _, c := range []tc{
		{[]int{2, 1, 4, 2}, []int{3, 1, 2}},
		{[]int{5, 2}, []int{5, 2}},
		{[]int{2}, []int{3, 4, 2}},
		{[]int{1, 7, 2}, []int{6, 1, 2}},
	} {
		a := tensor.FromFloat32(be, randSlice(3, tensor.Numel(c.a)), c.a...)
		b := tensor.FromFloat32(be, randSlice(4, tensor.Numel(c.b)), c.b...)
		for _, conj := range []bool{false, true} {
			y := tensor.ComplexMul(a, b, conj)
			shape := tensor.BroadcastShapes("test", c.a, c.b)
			if !tensor.SameShape(y.Shape(), shape) {
				t.Fatalf("shape %v, want %v", y.Shape(), shape)
			}
			ab := a.BroadcastTo(shape...).Float32s()
			bb := b.BroadcastTo(shape...).Float32s()
			want := make([]float64, len(ab))
			for i := 0; i < len(ab); i += 2 {
				x := complex(float64(ab[i]), float64(ab[i+1]))
				z := complex(float64(bb[i]), float64(bb[i+1]))
				if conj {
					z = complex(real(z), -imag(z))
				}
				p := x * z
				want[i], want[i+1] = real(p), imag(p)
			}
			specNear(t, fmt.Sprintf("cmul %v·%v conj=%v", c.a, c.b, conj), y.Float32s(), want, 1e-6)
		}
	}
	// views with offsets and permuted complex axes
	base := tensor.FromFloat32(be, randSlice(5, 4*3*2), 4, 3, 2)
	av := base.Slice(0, 1, 3).Permute(1, 0, 2) // [3, 2, 2], offset 6
	bv := base.Index(0, 3)                     // [3, 2]
	y := tensor.ComplexMul(av, bv.Unsqueeze(1), false)
	ref := tensor.ComplexMul(av.Clone(), bv.Clone().Unsqueeze(1), false)
	specNear(t, "cmul views", y.Float32s(), specF64(ref.Float32s()), 0)
	specPanics(t, "broadcast", "ComplexMul", func() { tensor.ComplexMul(tensor.Zeros(be, 3, 2), tensor.Zeros(be, 4, 2), false) })
	specPanics(t, "not complex", "ComplexMul", func() { tensor.ComplexMul(tensor.Zeros(be, 3, 3), tensor.Zeros(be, 3, 2), false) })
}

func TestKronOps(t *testing.T) {
	w := tensor.FromFloat32(be, []float32{1, 2, 3, 4, 5, 6}, 2, 3)
	d := tensor.KronDilate(w, 2)
	if !tensor.SameShape(d.Shape(), []int{2, 5}) {
		t.Fatalf("shape %v", d.Shape())
	}
	specNear(t, "dilate 1-D", d.Float32s(), []float64{1, 0, 2, 0, 3, 4, 0, 5, 0, 6}, 0)
	specNear(t, "gather 1-D", tensor.KronGather(d, []int{3}, []int{2}).Float32s(), []float64{1, 2, 3, 4, 5, 6}, 0)
	w2 := tensor.FromFloat32(be, []float32{1, 2, 3, 4}, 1, 2, 2)
	d2 := tensor.KronDilate(w2, 2, 3)
	if !tensor.SameShape(d2.Shape(), []int{1, 3, 4}) {
		t.Fatalf("shape %v", d2.Shape())
	}
	specNear(t, "dilate 2-D", d2.Float32s(), []float64{1, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0, 4}, 0)
	specNear(t, "gather 2-D", tensor.KronGather(d2, []int{2, 2}, []int{2, 3}).Float32s(), []float64{1, 2, 3, 4}, 0)
	// a transposed view
	wt := tensor.FromFloat32(be, []float32{1, 4, 2, 5, 3, 6}, 3, 2).Transpose(0, 1)
	specNear(t, "dilate view", tensor.KronDilate(wt, 2).Float32s(), specF64(d.Float32s()), 0)
	specPanics(t, "3 axes", "KronDilate", func() { tensor.KronDilate(w2, 1, 1, 1) })
	specPanics(t, "zero dilation", "KronDilate", func() { tensor.KronDilate(w, 0) })
	specPanics(t, "gather size", "KronGather", func() { tensor.KronGather(d, []int{3}, []int{3}) })
}

// flipLast reverses the last axis (1-D) or last two axes (2-D) of a host
// array of kernels [rows][kh][kw].
func flipKernels(w []float32, rows, kh, kw int) []float32 {
	out := make([]float32, len(w))
	for r := range rows {
		for i := range kh {
			for j := range kw {
				out[(r*kh+i)*kw+j] = w[(r*kh+(kh-1-i))*kw+(kw-1-j)]
			}
		}
	}
	return out
}

// TestFourierConv1d checks DASH's Fourier convolution: pad → RFFT →
// ComplexContract → IRFFT → crop equals the direct 'same' cross-correlation
// y[b,o,t] = Σ_c Σ_j w[o,c,j]·x[b,c,t+j-P], for dilated kernels built with
// KronDilate.
func TestFourierConv1d(t *testing.T) {
	for _, c := range []struct{ B, C, O, L, k, d int }{
		{2, 3, 4, 1000, 3, 7}, {1, 1, 1, 17, 1, 1}, {2, 5, 3, 97, 11, 1}, {3, 2, 2, 30, 2, 1}, {1, 17, 16, 85, 5, 3}, {2, 3, 2, 8, 3, 5},
	} {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			x := tensor.FromFloat32(be, randSlice(7, c.B*c.C*c.L), c.B, c.C, c.L)
			w := tensor.FromFloat32(be, randSlice(8, c.O*c.C*c.k), c.O, c.C, c.k)
			wd := tensor.KronDilate(w, c.d)
			S := wd.Dim(-1)
			P := S / 2
			m := c.L + S - 1
			xp := tensor.Pad(x, []int{0, 0, P}, []int{0, 0, S - 1 - P})
			X := tensor.RFFT(xp)
			wf := tensor.FromFloat32(be, flipKernels(wd.Float32s(), c.O*c.C, 1, S), c.O, c.C, S)
			W := tensor.RFFT(tensor.Pad(wf, []int{0, 0, 0}, []int{0, 0, m - S}))
			Y := tensor.ComplexContract(tensor.ContractForward, X, W)
			y := tensor.Crop(tensor.IRFFT(Y, m), []int{0, 0, S - 1}, []int{c.B, c.O, c.L})

			xs, ws := x.Float32s(), wd.Float32s()
			want := make([]float64, c.B*c.O*c.L)
			for b := range c.B {
				for o := range c.O {
					for tt := range c.L {
						var s float64
						for ch := range c.C {
							for j := range S {
								if p := tt + j - P; p >= 0 && p < c.L {
									s += float64(ws[(o*c.C+ch)*S+j]) * float64(xs[(b*c.C+ch)*c.L+p])
								}
							}
						}
						want[(b*c.O+o)*c.L+tt] = s
					}
				}
			}
			specNear(t, "fft conv1d", y.Float32s(), want, 1e-5*math.Sqrt(float64(m)))
		})
	}
}

// TestFourierConv2d is the 2-D analogue with RFFT2/IRFFT2 and the
// contraction over a flattened frequency grid.
func TestFourierConv2d(t *testing.T) {
	for _, c := range []struct{ B, C, O, H, W, kh, kw, dh, dw int }{
		{1, 3, 2, 85, 85, 3, 3, 2, 2}, {2, 2, 3, 9, 12, 3, 5, 1, 3}, {1, 1, 1, 5, 5, 2, 2, 1, 1}, {2, 4, 4, 16, 16, 7, 7, 1, 1},
	} {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			x := tensor.FromFloat32(be, randSlice(9, c.B*c.C*c.H*c.W), c.B, c.C, c.H, c.W)
			w := tensor.FromFloat32(be, randSlice(10, c.O*c.C*c.kh*c.kw), c.O, c.C, c.kh, c.kw)
			wd := tensor.KronDilate(w, c.dh, c.dw)
			SH, SW := wd.Dim(-2), wd.Dim(-1)
			PH, PW := SH/2, SW/2
			mh, mw := c.H+SH-1, c.W+SW-1
			xp := tensor.Pad(x, []int{0, 0, PH, PW}, []int{0, 0, SH - 1 - PH, SW - 1 - PW})
			X := tensor.RFFT2(xp)
			wf := tensor.FromFloat32(be, flipKernels(wd.Float32s(), c.O*c.C, SH, SW), c.O, c.C, SH, SW)
			W := tensor.RFFT2(tensor.Pad(wf, []int{0, 0, 0, 0}, []int{0, 0, mh - SH, mw - SW}))
			Y := tensor.ComplexContract(tensor.ContractForward, X, W)
			y := tensor.Crop(tensor.IRFFT2(Y, mh, mw), []int{0, 0, SH - 1, SW - 1}, []int{c.B, c.O, c.H, c.W})

			xs, ws := x.Float32s(), wd.Float32s()
			want := make([]float64, c.B*c.O*c.H*c.W)
			for b := range c.B {
				for o := range c.O {
					for i := range c.H {
						for j := range c.W {
							var s float64
							for ch := range c.C {
								for u := range SH {
									p := i + u - PH
									if p < 0 || p >= c.H {
										continue
									}
									for v := range SW {
										if q := j + v - PW; q >= 0 && q < c.W {
											s += float64(ws[((o*c.C+ch)*SH+u)*SW+v]) * float64(xs[((b*c.C+ch)*c.H+p)*c.W+q])
										}
									}
								}
							}
							want[((b*c.O+o)*c.H+i)*c.W+j] = s
						}
					}
				}
			}
			specNear(t, "fft conv2d", y.Float32s(), want, 1e-5*math.Sqrt(float64(mh*mw)))
		})
	}
}
