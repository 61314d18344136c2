package dash

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

// spectralReady reports whether the backend implements the FFT kernels
// (they are being written concurrently; the Fourier checks skip until then).
func spectralReady(be tensor.Backend) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	a := be.Alloc(8)
	b := be.Alloc(10)
	be.RFFT(b, a, 1, 8)
	c := be.Alloc(10)
	be.ComplexContract(tensor.ContractForward, c, b, b, 1, 1, 1, 5)
	be.ComplexMul(c, []int{5}, b, 0, []int{1}, b, 0, []int{1}, true)
	return true
}

// testBackend is the CPU backend, or, while its FFT kernels are missing,
// the CPU backend with the naive reference spectral kernels.
func testBackend(t *testing.T) tensor.Backend {
	if spectralReady(cpu.Default()) {
		return cpu.Default()
	}
	t.Log("CPU backend has no FFT kernels yet: Fourier checked with naive DFT kernels")
	return refSpectral{cpu.Default()}
}

// testBackends are the backends the agreement tests run on: the CPU
// backend with naive float64 DFT kernels (checks the Fourier algebra on its
// own) and the CPU backend itself when its FFT kernels exist.
func testBackends(t *testing.T) map[string]tensor.Backend {
	m := map[string]tensor.Backend{"naive-dft": refSpectral{cpu.Default()}}
	if spectralReady(cpu.Default()) {
		m["cpu"] = cpu.Default()
	} else {
		t.Log("CPU backend has no FFT kernels yet: Fourier checked with naive DFT kernels only")
	}
	return m
}

type aggCase struct {
	name      string
	dims      int
	n, in, o  int
	sp        []int
	ks, ds    []int
	stride    int
	depthwise bool
}

func (c aggCase) cfg(be tensor.Backend, mix Mixing) AggConvConfig {
	return AggConvConfig{Name: c.name, Backend: be, Dims: c.dims, In: c.in, Out: c.o, Kernels: c.ks, Dilations: c.ds,
		Stride: c.stride, Depthwise: c.depthwise, Mixing: mix, Seed: 7}
}

var aggCases = []aggCase{
	{name: "1d-full", dims: 1, n: 2, in: 3, o: 4, sp: []int{37}, ks: []int{3, 5}, ds: []int{1, 2, 3}, stride: 1},
	{name: "1d-full-s2", dims: 1, n: 2, in: 3, o: 4, sp: []int{37}, ks: []int{3, 5}, ds: []int{1, 2, 3}, stride: 2},
	{name: "1d-dw-s2", dims: 1, n: 3, in: 4, o: 4, sp: []int{37}, ks: []int{3, 7}, ds: []int{1, 4}, stride: 2, depthwise: true},
	{name: "1d-even-k", dims: 1, n: 2, in: 2, o: 3, sp: []int{19}, ks: []int{2, 3, 4}, ds: []int{1, 3}, stride: 1},
	{name: "1d-short", dims: 1, n: 1, in: 2, o: 2, sp: []int{5}, ks: []int{3, 9}, ds: []int{1, 2}, stride: 3},
	{name: "2d-full", dims: 2, n: 2, in: 2, o: 3, sp: []int{11, 13}, ks: []int{3, 5}, ds: []int{1, 2}, stride: 1},
	{name: "2d-full-s2", dims: 2, n: 2, in: 2, o: 3, sp: []int{11, 13}, ks: []int{3, 5}, ds: []int{1, 2}, stride: 2},
	{name: "2d-dw-s2", dims: 2, n: 2, in: 3, o: 3, sp: []int{11, 13}, ks: []int{1, 3}, ds: []int{1, 3}, stride: 2, depthwise: true},
	{name: "2d-even-k", dims: 2, n: 1, in: 2, o: 2, sp: []int{9, 8}, ks: []int{2, 3}, ds: []int{1, 2}, stride: 1},
	// kernels wider than the input: the summed kernel is cropped
	{name: "2d-crop", dims: 2, n: 2, in: 2, o: 3, sp: []int{4, 6}, ks: []int{2, 3, 5}, ds: []int{1, 3}, stride: 1},
	{name: "2d-crop-dw-s2", dims: 2, n: 2, in: 2, o: 2, sp: []int{5, 3}, ks: []int{3, 5}, ds: []int{2, 3}, stride: 2, depthwise: true},
	{name: "2d-thin", dims: 2, n: 2, in: 2, o: 2, sp: []int{1, 7}, ks: []int{2, 3}, ds: []int{1, 2}, stride: 1},
}

type aggRun struct {
	y, dx, dalpha []float32
	dw            [][]float32
}

// runStep does forward + backward of Σ y·r with the given strategy, from
// noise step 0, and returns the output and every gradient.
func runStep(t *testing.T, a *AggConv, s Strategy, x, r *tensor.Tensor) aggRun {
	t.Helper()
	a.SetStrategy(s)
	a.SetStep(0)
	xv := autograd.Leaf(x, true)
	y := a.Forward(xv)
	loss := autograd.Sum(autograd.Mul(y, autograd.Const(r)), false)
	autograd.Backward(loss)
	out := aggRun{y: y.Value.Float32s(), dx: xv.Grad.Float32s(), dalpha: a.alpha.Grad.Float32s()}
	for _, w := range a.Params() {
		out.dw = append(out.dw, w.Grad.Float32s())
		w.ZeroGrad()
	}
	a.alpha.ZeroGrad()
	autograd.Release(loss)
	return out
}

func maxAbs(v []float32) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(float64(x)))
	}
	return m
}

func closeTo(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	scale := math.Max(maxAbs(want), 1e-6)
	worst, at := 0.0, 0
	for i := range got {
		if d := math.Abs(float64(got[i]) - float64(want[i])); d > worst || math.IsNaN(d) {
			worst, at = d, i
			if math.IsNaN(d) {
				worst = math.Inf(1)
			}
		}
	}
	if worst > tol*scale {
		t.Errorf("%s: max |diff| %.3g at %d (got %g, want %g), scale %.3g", what, worst, at, got[at], want[at], scale)
	}
}

// naiveAgg is the definition in float64: Σ_c a_c · same-correlation of x
// with candidate c dilated by d (left padding (s−1)/2), subsampled.
func naiveAgg(c aggCase, a *AggConv, x []float32) []float64 {
	coef := a.Alpha()
	ws := make([][]float32, len(a.weights))
	for i, w := range a.weights {
		ws[i] = w.Value.Float32s()
	}
	H, W := 1, c.sp[0]
	if c.dims == 2 {
		H, W = c.sp[0], c.sp[1]
	}
	OH, OW := (H-1)/c.stride+1, (W-1)/c.stride+1
	if c.dims == 1 {
		OH = 1
	}
	cg := c.in
	if c.depthwise {
		cg = 1
	}
	y := make([]float64, c.n*c.o*OH*OW)
	for ci, cd := range a.cands {
		k, d := cd.k, cd.d
		kh := k
		if c.dims == 1 {
			kh = 1
		}
		pad := d * (k - 1) / 2
		padH := pad
		if c.dims == 1 {
			padH = 0
		}
		wk := ws[cd.ki][cd.di*c.o*cg*kh*k:]
		for n := 0; n < c.n; n++ {
			for o := 0; o < c.o; o++ {
				for oh := 0; oh < OH; oh++ {
					for ow := 0; ow < OW; ow++ {
						var s float64
						for ii := 0; ii < cg; ii++ {
							i := ii
							if c.depthwise {
								i = o
							}
							for a := 0; a < kh; a++ {
								for b := 0; b < k; b++ {
									hh := oh*c.stride + a*d - padH
									ww := ow*c.stride + b*d - pad
									if hh < 0 || hh >= H || ww < 0 || ww >= W {
										continue
									}
									s += float64(wk[((o*cg+ii)*kh+a)*k+b]) * float64(x[((n*c.in+i)*H+hh)*W+ww])
								}
							}
						}
						y[((n*c.o+o)*OH+oh)*OW+ow] += float64(coef[ci]) * s
					}
				}
			}
		}
	}
	return y
}

func TestAggConvMatchesDefinition(t *testing.T) {
	for bn, be := range testBackends(t) {
		testAggMatchesDefinition(t, bn, be)
	}
	// 1-D kernels short enough for the DFT-matrix spectrum, checked again
	// through the FFT path
	defer func(v int) { dftMaxSpan = v }(dftMaxSpan)
	dftMaxSpan = 0
	for bn, be := range testBackends(t) {
		testAggMatchesDefinition(t, bn+"-fftkernel", be)
	}
}

func testAggMatchesDefinition(t *testing.T, bn string, be tensor.Backend) {
	strats := Strategies()
	for _, c := range aggCases {
		t.Run(bn+"/"+c.name, func(t *testing.T) {
			a, err := NewAggConv(c.cfg(be, Softmax))
			if err != nil {
				t.Fatal(err)
			}
			// make α far from uniform so that a misplaced candidate shows
			al := tensor.RandNormal(be, 3, 0, 1, len(a.cands))
			a.alpha.Value.CopyFrom(al)
			xshape := append([]int{c.n, c.in}, c.sp...)
			x := tensor.RandNormal(be, 11, 0, 1, xshape...)
			want := naiveAgg(c, a, x.Float32s())
			w32 := make([]float32, len(want))
			for i, v := range want {
				w32[i] = float32(v)
			}
			for _, s := range strats {
				a.SetStrategy(s)
				var got []float32
				autograd.NoGrad(func() {
					y := a.Forward(autograd.Const(x))
					if !tensor.SameShape(y.Value.Shape(), a.OutputShape(xshape)) {
						t.Fatalf("%v: output shape %v, want %v", s, y.Value.Shape(), a.OutputShape(xshape))
					}
					got = y.Value.Float32s()
					autograd.Release(y)
				})
				closeTo(t, s.String()+" forward vs definition", got, w32, 1e-4)
			}
		})
	}
}

func TestAggConvStrategiesAgree(t *testing.T) {
	for bn, be := range testBackends(t) {
		testAggStrategiesAgree(t, bn, be)
	}
	// 1-D kernels short enough for the DFT-matrix spectrum, checked again
	// through the FFT path
	defer func(v int) { dftMaxSpan = v }(dftMaxSpan)
	dftMaxSpan = 0
	for bn, be := range testBackends(t) {
		testAggStrategiesAgree(t, bn+"-fftkernel", be)
	}
}

func testAggStrategiesAgree(t *testing.T, bn string, be tensor.Backend) {
	strats := Strategies()
	for _, c := range aggCases {
		t.Run(bn+"/"+c.name, func(t *testing.T) {
			a, err := NewAggConv(c.cfg(be, GumbelSoftmax))
			if err != nil {
				t.Fatal(err)
			}
			al := tensor.RandNormal(be, 5, 0, 0.5, len(a.cands))
			a.alpha.Value.CopyFrom(al)
			xshape := append([]int{c.n, c.in}, c.sp...)
			x := tensor.RandNormal(be, 13, 0, 1, xshape...)
			r := tensor.RandNormal(be, 17, 0, 1, a.OutputShape(xshape)...)
			ref := runStep(t, a, MixedResults, x, r)
			if maxAbs(ref.dalpha) == 0 || maxAbs(ref.dx) == 0 {
				t.Fatalf("degenerate reference gradients")
			}
			for _, s := range strats[1:] {
				got := runStep(t, a, s, x, r)
				closeTo(t, s.String()+" y", got.y, ref.y, 1e-4)
				closeTo(t, s.String()+" dx", got.dx, ref.dx, 1e-4)
				closeTo(t, s.String()+" dα", got.dalpha, ref.dalpha, 1e-3)
				for i := range ref.dw {
					closeTo(t, fmt.Sprintf("%v dW[k=%d]", s, c.ks[i]), got.dw[i], ref.dw[i], 1e-4)
				}
			}
		})
	}
}

func TestAggConvGradCheck(t *testing.T) {
	for bn, be := range testBackends(t) {
		testAggGradCheck(t, bn, be)
	}
	// 1-D kernels short enough for the DFT-matrix spectrum, checked again
	// through the FFT path
	defer func(v int) { dftMaxSpan = v }(dftMaxSpan)
	dftMaxSpan = 0
	for bn, be := range testBackends(t) {
		testAggGradCheck(t, bn+"-fftkernel", be)
	}
}

func testAggGradCheck(t *testing.T, bn string, be tensor.Backend) {
	strats := Strategies()
	cases := []aggCase{
		{name: "1d", dims: 1, n: 2, in: 2, o: 2, sp: []int{7}, ks: []int{1, 3}, ds: []int{1, 2}, stride: 2},
		{name: "1d-dw", dims: 1, n: 2, in: 2, o: 2, sp: []int{6}, ks: []int{2, 3}, ds: []int{1, 2}, stride: 1, depthwise: true},
		{name: "2d", dims: 2, n: 1, in: 2, o: 2, sp: []int{5, 4}, ks: []int{1, 3}, ds: []int{1, 2}, stride: 2},
		{name: "2d-dw", dims: 2, n: 2, in: 2, o: 2, sp: []int{4, 5}, ks: []int{3}, ds: []int{1, 2}, stride: 1, depthwise: true},
		{name: "2d-crop", dims: 2, n: 1, in: 2, o: 2, sp: []int{3, 4}, ks: []int{2, 5}, ds: []int{1, 2}, stride: 1},
	}
	for _, c := range cases {
		for _, s := range strats {
			t.Run(bn+"/"+c.name+"/"+s.String(), func(t *testing.T) {
				a, err := NewAggConv(c.cfg(be, GumbelSoftmax))
				if err != nil {
					t.Fatal(err)
				}
				xshape := append([]int{c.n, c.in}, c.sp...)
				inputs := []*tensor.Tensor{
					tensor.RandNormal(be, 21, 0, 1, xshape...),
					tensor.RandNormal(be, 22, 0, 1, len(a.cands)),
				}
				for _, w := range a.weights {
					inputs = append(inputs, tensor.RandNormal(be, 23, 0, 1, w.Value.Shape()...))
				}
				f := func(in []*autograd.Var) *autograd.Var {
					return a.apply(in[0], in[1], in[2:], 4, s)
				}
				if err := autograd.GradCheck(f, inputs, autograd.GradCheckOptions{Seed: 1, MaxPerVar: 24}); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

func TestAggConvConfigErrors(t *testing.T) {
	ok := AggConvConfig{Dims: 1, In: 2, Out: 2, Kernels: []int{3}, Dilations: []int{1}}
	bad := map[string]func(c *AggConvConfig){
		"Dims":         func(c *AggConvConfig) { c.Dims = 3 },
		"channels":     func(c *AggConvConfig) { c.Out = 0 },
		"no kernel":    func(c *AggConvConfig) { c.Kernels = nil },
		"not positive": func(c *AggConvConfig) { c.Dilations = []int{1, 0} },
		"repeated":     func(c *AggConvConfig) { c.Kernels = []int{3, 3} },
		"Stride":       func(c *AggConvConfig) { c.Stride = -1 },
		"Depthwise":    func(c *AggConvConfig) { c.Depthwise = true; c.Out = 4 },
		"strategy":     func(c *AggConvConfig) { c.Strategy = 9 },
		"Temperature":  func(c *AggConvConfig) { c.Temperature = -1 },
	}
	for want, mod := range bad {
		c := ok
		mod(&c)
		_, err := NewAggConv(c)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v", want, err)
		}
	}
	if _, err := NewAggConv(ok); err != nil {
		t.Fatal(err)
	}
}

func TestAggConvParamsAndArgmax(t *testing.T) {
	be := cpu.Default()
	a, err := NewAggConv(AggConvConfig{Name: "l3", Dims: 2, In: 4, Out: 6, Kernels: []int{3, 5, 7}, Dilations: []int{1, 2}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if a.Span() != 13 {
		t.Errorf("span %d, want 13", a.Span())
	}
	ps := a.Params()
	if len(ps) != 3 || ps[1].Name != "l3.weight_k5" || !tensor.SameShape(ps[1].Value.Shape(), []int{2, 6, 4, 5, 5}) {
		t.Errorf("params %v %v", ps[1].Name, ps[1].Value.Shape())
	}
	ap := a.ArchParams()
	if len(ap) != 1 || ap[0].Name != "l3.alpha" || ap[0].Value.Numel() != 6 {
		t.Errorf("arch params %v", ap[0].Name)
	}
	if v := maxAbs(ap[0].Value.Float32s()); v == 0 || v > 0.01 {
		t.Errorf("α init max |α| = %g, want ~1e-3", v)
	}
	vals := []float32{0, 0, 0, 3, 1, 0} // (k=5, d=2) is index 3
	ap[0].Value.CopyFrom(tensor.FromFloat32(be, vals, 6))
	if k, d := a.Best(); k != 5 || d != 2 {
		t.Errorf("Best = (%d, %d), want (5, 2)", k, d)
	}
	al := a.Alpha()
	var s float32
	for _, v := range al {
		s += v
	}
	if math.Abs(float64(s)-1) > 1e-5 || al[3] < al[4] {
		t.Errorf("Alpha %v", al)
	}
	if c := a.Candidates()[3]; c.K != 5 || c.D != 2 || c.ReceptiveField() != 9 {
		t.Errorf("candidate 3 = %+v", c)
	}
	w, err := a.CandidateWeight(7, 1)
	if err != nil || !tensor.SameShape(w.Shape(), []int{6, 4, 7, 7}) {
		t.Errorf("CandidateWeight: %v %v", w, err)
	}
	if _, err := a.CandidateWeight(4, 1); err == nil {
		t.Error("CandidateWeight(4, 1) should fail")
	}
}

func TestAggConvGumbelNoise(t *testing.T) {
	be := cpu.Default()
	mk := func() *AggConv {
		a, err := NewAggConv(AggConvConfig{Dims: 1, In: 2, Out: 2, Kernels: []int{3, 5}, Dilations: []int{1, 2}, Seed: 9, Strategy: MixedWeights})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	x := tensor.RandNormal(be, 1, 0, 1, 1, 2, 16)
	fwd := func(a *AggConv) []float32 {
		var out []float32
		autograd.NoGrad(func() {
			y := a.Forward(autograd.Const(x))
			out = y.Value.Float32s()
			autograd.Release(y)
		})
		return out
	}
	a, b := mk(), mk()
	y1, y2 := fwd(a), fwd(a)
	z1 := fwd(b)
	closeTo(t, "same seed, same step", z1, y1, 0)
	if a.Step() != 2 {
		t.Errorf("step %d after two training passes", a.Step())
	}
	diff := 0.0
	for i := range y1 {
		diff = math.Max(diff, math.Abs(float64(y1[i]-y2[i])))
	}
	if diff == 0 {
		t.Error("Gumbel noise did not change between steps")
	}
	a.SetTraining(false)
	e1, e2 := fwd(a), fwd(a)
	closeTo(t, "eval is deterministic", e1, e2, 0)
	if a.Step() != 2 {
		t.Errorf("eval advanced the noise counter")
	}
}

func TestAggConvCropWindow(t *testing.T) {
	a, err := NewAggConv(AggConvConfig{Dims: 2, In: 1, Out: 1, Kernels: []int{3, 5}, Dilations: []int{1, 3}})
	if err != nil {
		t.Fatal(err)
	}
	// S = 13, centre 6: an axis of 4 keeps taps 3..9, an axis of 6 keeps 1..11,
	// an axis of 40 keeps everything
	got := a.windows([]int{4, 6})
	want := []window{{lo: 3, n: 7, c: 3}, {lo: 1, n: 11, c: 5}}
	if got[0] != want[0] || got[1] != want[1] {
		t.Errorf("windows %+v, want %+v", got, want)
	}
	if w := a.windows([]int{40})[0]; w != (window{lo: 0, n: 13, c: 6}) {
		t.Errorf("uncropped window %+v", w)
	}
}

// refSpectral is the CPU backend with naive float64 DFT and complex kernels,
// used to check the Fourier strategy's algebra independently of the
// engine's FFT (and while the engine's kernels are not there yet).
type refSpectral struct{ *cpu.Backend }

func f32(b tensor.Buffer) []float32 { return b.(*cpu.Buf).F }

func dft(x []complex128, inv bool) []complex128 {
	n := len(x)
	out := make([]complex128, n)
	sg := -1.0
	if inv {
		sg = 1
	}
	for f := range n {
		var s complex128
		for t, v := range x {
			th := sg * 2 * math.Pi * float64(f*t%n) / float64(n)
			s += v * complex(math.Cos(th), math.Sin(th))
		}
		out[f] = s
	}
	return out
}

func (refSpectral) RFFT(dst, src tensor.Buffer, batch, n int) {
	d, s := f32(dst), f32(src)
	nf := n/2 + 1
	for b := range batch {
		x := make([]complex128, n)
		for t := range n {
			x[t] = complex(float64(s[b*n+t]), 0)
		}
		X := dft(x, false)
		for f := range nf {
			d[(b*nf+f)*2] = float32(real(X[f]))
			d[(b*nf+f)*2+1] = float32(imag(X[f]))
		}
	}
}

// hermitian rebuilds the full spectrum of a real signal from its half.
func hermitian(half []complex128, n int) []complex128 {
	full := make([]complex128, n)
	for f := range n {
		if f <= n/2 {
			full[f] = half[f]
		} else {
			c := half[n-f]
			full[f] = complex(real(c), -imag(c))
		}
	}
	full[0] = complex(real(full[0]), 0)
	if n%2 == 0 {
		full[n/2] = complex(real(full[n/2]), 0)
	}
	return full
}

func (refSpectral) IRFFT(dst, src tensor.Buffer, batch, n int) {
	d, s := f32(dst), f32(src)
	nf := n/2 + 1
	for b := range batch {
		half := make([]complex128, nf)
		for f := range nf {
			half[f] = complex(float64(s[(b*nf+f)*2]), float64(s[(b*nf+f)*2+1]))
		}
		x := dft(hermitian(half, n), true)
		for t := range n {
			d[b*n+t] = float32(real(x[t]) / float64(n))
		}
	}
}

func (refSpectral) RFFT2(dst, src tensor.Buffer, batch, h, w int) {
	d, s := f32(dst), f32(src)
	wf := w/2 + 1
	for b := range batch {
		rows := make([][]complex128, h)
		for i := range h {
			x := make([]complex128, w)
			for j := range w {
				x[j] = complex(float64(s[(b*h+i)*w+j]), 0)
			}
			rows[i] = dft(x, false)
		}
		for j := range wf {
			col := make([]complex128, h)
			for i := range h {
				col[i] = rows[i][j]
			}
			C := dft(col, false)
			for i := range h {
				o := ((b*h+i)*wf + j) * 2
				d[o], d[o+1] = float32(real(C[i])), float32(imag(C[i]))
			}
		}
	}
}

func (refSpectral) IRFFT2(dst, src tensor.Buffer, batch, h, w int) {
	d, s := f32(dst), f32(src)
	wf := w/2 + 1
	for b := range batch {
		tmp := make([][]complex128, h)
		for i := range h {
			tmp[i] = make([]complex128, wf)
		}
		for j := range wf {
			col := make([]complex128, h)
			for i := range h {
				o := ((b*h+i)*wf + j) * 2
				col[i] = complex(float64(s[o]), float64(s[o+1]))
			}
			c := dft(col, true)
			for i := range h {
				tmp[i][j] = c[i]
			}
		}
		for i := range h {
			x := dft(hermitian(tmp[i], w), true)
			for j := range w {
				d[(b*h+i)*w+j] = float32(real(x[j]) / float64(h*w))
			}
		}
	}
}

func cx(s []float32, i int) complex128 { return complex(float64(s[2*i]), float64(s[2*i+1])) }

func conjc(c complex128) complex128 { return complex(real(c), -imag(c)) }

func (refSpectral) ComplexContract(mode tensor.ContractMode, dst, a, b tensor.Buffer, B, I, O, F int) {
	d, x, y := f32(dst), f32(a), f32(b)
	put := func(i int, c complex128) { d[2*i], d[2*i+1] = float32(real(c)), float32(imag(c)) }
	for f := range F {
		switch mode {
		case tensor.ContractForward:
			for bb := range B {
				for o := range O {
					var s complex128
					for i := range I {
						s += cx(x, (bb*I+i)*F+f) * cx(y, (o*I+i)*F+f)
					}
					put((bb*O+o)*F+f, s)
				}
			}
		case tensor.ContractGradX:
			for bb := range B {
				for i := range I {
					var s complex128
					for o := range O {
						s += cx(x, (bb*O+o)*F+f) * conjc(cx(y, (o*I+i)*F+f))
					}
					put((bb*I+i)*F+f, s)
				}
			}
		case tensor.ContractGradW:
			for o := range O {
				for i := range I {
					var s complex128
					for bb := range B {
						s += cx(x, (bb*O+o)*F+f) * conjc(cx(y, (bb*I+i)*F+f))
					}
					put((o*I+i)*F+f, s)
				}
			}
		}
	}
}

func (refSpectral) ComplexMul(dst tensor.Buffer, shape []int, a tensor.Buffer, aOff int, aStrides []int, b tensor.Buffer, bOff int, bStrides []int, conjB bool) {
	d, x, y := f32(dst), f32(a), f32(b)
	n := tensor.Numel(shape)
	idx := make([]int, len(shape))
	for e := range n {
		rem := e
		ao, bo := aOff, bOff
		for ax := len(shape) - 1; ax >= 0; ax-- {
			idx[ax] = rem % shape[ax]
			rem /= shape[ax]
			ao += idx[ax] * aStrides[ax]
			bo += idx[ax] * bStrides[ax]
		}
		p, q := cx(x, ao), cx(y, bo)
		if conjB {
			q = conjc(q)
		}
		r := p * q
		d[2*e], d[2*e+1] = float32(real(r)), float32(imag(r))
	}
}
