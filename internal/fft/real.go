package fft

import (
	"fmt"
	"runtime"
	"sync"
)

// realPlan is a real FFT of length n: a half-length complex plan plus the
// post-processing twiddles for even n, or a full complex plan for odd n.
type realPlan struct {
	n    int
	half *Plan     // even n: plan of length n/2
	full *Plan     // odd n: plan of length n
	tw   []float32 // even n: exp(-2πik/n), k ≤ n/4, interleaved
}

var realCache sync.Map

func realPlanFor(n int) *realPlan {
	if p, ok := realCache.Load(n); ok {
		return p.(*realPlan)
	}
	rp := &realPlan{n: n}
	if n%2 == 0 {
		h := n / 2
		rp.half = PlanFor(h)
		rp.tw = make([]float32, 2*(h/2+1))
		for k := 0; k <= h/2; k++ {
			c, s := cisNeg(k, n)
			rp.tw[2*k], rp.tw[2*k+1] = float32(c), float32(s)
		}
	} else {
		rp.full = PlanFor(n)
	}
	act, _ := realCache.LoadOrStore(n, rp)
	return act.(*realPlan)
}

// forward computes one real transform: src has n floats, dst n/2+1 complex.
func (rp *realPlan) forward(dst, src []float32, w *work) {
	n := rp.n
	if rp.full != nil {
		buf := w.get(1, 2*n)
		for i := 0; i < n; i++ {
			buf[2*i], buf[2*i+1] = src[i], 0
		}
		out := w.get(2, 2*n)
		rp.full.exec(out, buf, 1, 0, 1, false, w.child())
		copy(dst[:2*(n/2+1)], out)
		return
	}
	h := n / 2
	rp.half.exec(dst[:n], src[:n], 1, 0, 1, false, w)
	dst = dst[:n+2]
	zr, zi := dst[0], dst[1]
	dst[0], dst[1] = zr+zi, 0
	dst[2*h], dst[2*h+1] = zr-zi, 0
	tw := rp.tw
	for k := 1; 2*k <= h; k++ {
		j := h - k
		ar, ai := dst[2*k], dst[2*k+1]
		br, bi := dst[2*j], -dst[2*j+1] // conj Z[h-k]
		er, ei := 0.5*(ar+br), 0.5*(ai+bi)
		// O = -i/2 (A - B)
		or, oi := 0.5*(ai-bi), -0.5*(ar-br)
		wr, wi := tw[2*k], tw[2*k+1]
		tr, ti := wr*or-wi*oi, wr*oi+wi*or
		dst[2*k], dst[2*k+1] = er+tr, ei+ti
		dst[2*j], dst[2*j+1] = er-tr, -(ei - ti)
	}
}

// inverse computes one inverse real transform scaled by f (f = 1/n gives
// numpy irfft): src has n/2+1 complex, dst n floats. src is not modified.
func (rp *realPlan) inverse(dst, src []float32, f float32, w *work) {
	n := rp.n
	if rp.full != nil {
		buf := w.get(1, 2*n)
		buf[0], buf[1] = src[0], 0
		for k := 1; k <= n/2; k++ {
			re, im := src[2*k], src[2*k+1]
			buf[2*k], buf[2*k+1] = re, im
			buf[2*(n-k)], buf[2*(n-k)+1] = re, -im
		}
		out := w.get(2, 2*n)
		rp.full.exec(out, buf, 1, 0, 1, true, w.child())
		for i := 0; i < n; i++ {
			dst[i] = out[2*i] * f
		}
		return
	}
	h := n / 2
	src = src[:n+2]
	z := dst[:n]
	x0, xh := src[0], src[2*h]
	z[0], z[1] = f*(x0+xh), f*(x0-xh)
	tw := rp.tw
	for k := 1; 2*k <= h; k++ {
		j := h - k
		ar, ai := src[2*k], src[2*k+1]
		br, bi := src[2*j], -src[2*j+1] // conj X[h-k]
		er, ei := f*(ar+br), f*(ai+bi)
		dr, di := f*(ar-br), f*(ai-bi)
		// O = D * conj(w)
		wr, wi := tw[2*k], -tw[2*k+1]
		or, oi := dr*wr-di*wi, dr*wi+di*wr
		// Z[k] = E + iO ; Z[j] = conj(E) + i conj(O)
		z[2*k], z[2*k+1] = er-oi, ei+or
		z[2*j], z[2*j+1] = er+oi, -ei+or
	}
	rp.half.exec(z, z, 1, 0, 1, true, w)
}

// RFFT computes batch real-to-complex transforms of length n: src is
// [batch][n] real, dst is [batch][n/2+1][2] interleaved complex. The
// transform is unnormalised (sign -1). dst must not overlap src.
func RFFT(dst, src []float32, batch, n int) {
	checkDims("RFFT", batch, n)
	if n < 1 && batch > 0 {
		panic(fmt.Sprintf("fft.RFFT: n=%d, want n >= 1", n))
	}
	checkLen("RFFT", "src", len(src), batch*n, "batch*n")
	nc := n/2 + 1
	checkLen("RFFT", "dst", len(dst), batch*nc*2, "batch*(n/2+1)*2")
	if batch == 0 {
		return
	}
	rp := realPlanFor(n)
	parFor(batch, batch*n/2, func(lo, hi int, w *work) {
		rp.forwardMany(dst[2*nc*lo:2*nc*hi], src[n*lo:n*hi], hi-lo, w)
	})
}

// IRFFT computes batch complex-to-real inverse transforms of length n:
// src is [batch][n/2+1][2], dst is [batch][n] real, normalised by 1/n
// (numpy irfft semantics: the imaginary parts of the DC term and, for even
// n, of the Nyquist term are ignored). src is not modified; dst must not
// overlap src.
func IRFFT(dst, src []float32, batch, n int) {
	checkDims("IRFFT", batch, n)
	if n < 1 && batch > 0 {
		panic(fmt.Sprintf("fft.IRFFT: n=%d, want n >= 1", n))
	}
	nc := n/2 + 1
	checkLen("IRFFT", "src", len(src), batch*nc*2, "batch*(n/2+1)*2")
	checkLen("IRFFT", "dst", len(dst), batch*n, "batch*n")
	if batch == 0 {
		return
	}
	rp := realPlanFor(n)
	f := 1 / float32(n)
	parFor(batch, batch*n/2, func(lo, hi int, w *work) {
		rp.inverseMany(dst[n*lo:n*hi], src[2*nc*lo:2*nc*hi], hi-lo, f, w)
	})
}

// RFFT2 computes batch 2D real-to-complex transforms over the last two
// dims: src is [batch][h][w] real, dst is [batch][h][w/2+1][2]
// (numpy rfft2). Unnormalised. dst must not overlap src.
func RFFT2(dst, src []float32, batch, h, w int) {
	checkDims("RFFT2", batch, h, w)
	if (h < 1 || w < 1) && batch > 0 {
		panic(fmt.Sprintf("fft.RFFT2: h=%d w=%d, want h, w >= 1", h, w))
	}
	wc := w/2 + 1
	checkLen("RFFT2", "src", len(src), batch*h*w, "batch*h*w")
	checkLen("RFFT2", "dst", len(dst), batch*h*wc*2, "batch*h*(w/2+1)*2")
	if batch == 0 {
		return
	}
	rp := realPlanFor(w)
	cp := PlanFor(h)
	img, cimg := h*w, 2*h*wc
	if batch >= 2*maxProcs() || batch*img < minParallelWork {
		parFor(batch, batch*img, func(lo, hi int, wk *work) {
			for b := lo; b < hi; b++ {
				d := dst[cimg*b : cimg*(b+1)]
				rp.forwardMany(d, src[img*b:img*(b+1)], h, wk)
				cp.exec(d, d, wc, 0, wc, false, wk)
			}
		})
		return
	}
	for b := 0; b < batch; b++ {
		d := dst[cimg*b : cimg*(b+1)]
		RFFT(d, src[img*b:img*(b+1)], h, w)
		FFTAxis(d, 1, h, wc, false)
	}
}

// IRFFT2 computes batch 2D complex-to-real inverse transforms over the last
// two dims: src is [batch][h][w/2+1][2], dst is [batch][h][w] real,
// normalised by 1/(h*w) (numpy irfft2 with s=(h, w)). src is not modified;
// dst must not overlap src.
func IRFFT2(dst, src []float32, batch, h, w int) {
	checkDims("IRFFT2", batch, h, w)
	if (h < 1 || w < 1) && batch > 0 {
		panic(fmt.Sprintf("fft.IRFFT2: h=%d w=%d, want h, w >= 1", h, w))
	}
	wc := w/2 + 1
	checkLen("IRFFT2", "src", len(src), batch*h*wc*2, "batch*h*(w/2+1)*2")
	checkLen("IRFFT2", "dst", len(dst), batch*h*w, "batch*h*w")
	if batch == 0 {
		return
	}
	rp := realPlanFor(w)
	cp := PlanFor(h)
	img, cimg := h*w, 2*h*wc
	f := 1 / float32(h*w)
	if batch >= 2*maxProcs() || batch*img < minParallelWork {
		parFor(batch, batch*img, func(lo, hi int, wk *work) {
			tmp := wk.get(1, cimg)
			for b := lo; b < hi; b++ {
				cp.exec(tmp, src[cimg*b:cimg*(b+1)], wc, 0, wc, true, wk.child())
				rp.inverseMany(dst[img*b:img*(b+1)], tmp, h, f, wk.child())
			}
		})
		return
	}
	wk := getWork()
	defer putWork(wk)
	tmp := wk.get(1, cimg)
	for b := 0; b < batch; b++ {
		copy(tmp, src[cimg*b:cimg*(b+1)])
		FFTAxis(tmp, 1, h, wc, true)
		// FFTAxis normalised by 1/h; IRFFT normalises by 1/w.
		IRFFT(dst[img*b:img*(b+1)], tmp, h, w)
	}
}

func maxProcs() int { return runtime.GOMAXPROCS(0) }
