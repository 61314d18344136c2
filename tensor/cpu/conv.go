package cpu

import (
	"fmt"
	"sync"

	"github.com/dash-go/dash/tensor"
)

// Convolutions on the CPU.
//
// General convolutions are GEMMs over the im2col matrix col [Cg·KH·KW][OH·OW]
// of each (sample, group):
//
//	forward:         y_g  = W_g · col                 (W_g [Kg][Cg·KH·KW])
//	backward data:   dcol = W_gᵀ · dy_g, dx = col2im(dcol)
//	backward filter: dW_g += dy_g · colᵀ  (summed over the batch)
//
// With at least as many (sample, group) tasks as threads, the tasks run in
// parallel as implicit GEMMs (see implicitConv below): col is never
// materialised, its blocks are written straight into the micro-kernel's
// packed panels, and stride-1 backward data is a forward convolution with
// the flipped kernel (no col2im). With fewer tasks (batch 1), col is
// materialised in a pooled scratch buffer and the GEMM (gemm, matmul.go)
// is split over the threads. 1×1 stride-1 unpadded convolutions use the
// input as col directly. Depthwise convolutions (Groups == C == K) use
// direct loops, which avoid the tiny GEMMs im2col would produce. 2-D
// convolutions with batch and channels in multiples of 16 take the direct,
// batch-innermost path of convdirect.go when the CPU has AVX-512 (kernel by
// kernel, see directConvOK).

// scratch pools float32 buffers for column matrices and accumulators.
var scratch sync.Pool

func getScratch(n int) *[]float32 {
	if v := scratch.Get(); v != nil {
		s := v.(*[]float32)
		if cap(*s) >= n {
			*s = (*s)[:n]
			return s
		}
	}
	s := make([]float32, n)
	adviseHuge(s)
	return &s
}

func putScratch(s *[]float32) { scratch.Put(s) }

func checkConv(op string, p tensor.ConvParams, bufs ...int) {
	bad := p.N < 0 || p.C <= 0 || p.H <= 0 || p.W <= 0 || p.K <= 0 || p.Groups <= 0 ||
		p.KH <= 0 || p.KW <= 0 || p.SH <= 0 || p.SW <= 0 || p.DH <= 0 || p.DW <= 0 ||
		p.PH < 0 || p.PW < 0 || p.OH <= 0 || p.OW <= 0 ||
		p.C%p.Groups != 0 || p.K%p.Groups != 0
	if bad {
		panic(fmt.Sprintf("cpu.%s: bad parameters %+v", op, p))
	}
	want := []int{p.N * p.C * p.H * p.W, p.N * p.K * p.OH * p.OW, p.K * (p.C / p.Groups) * p.KH * p.KW}
	names := []string{"x", "y", "w"}
	for i, n := range bufs {
		if n < want[i] {
			panic(fmt.Sprintf("cpu.%s: %s buffer has %d elements, need %d for %+v", op, names[i], n, want[i], p))
		}
	}
}

// validRange returns the output positions o in [lo, hi) ⊂ [0, out) whose
// input position o·s + off lies in [0, in).
func validRange(off, s, in, out int) (lo, hi int) {
	if off < 0 {
		lo = (-off + s - 1) / s
	}
	if in-1-off >= 0 {
		hi = (in-1-off)/s + 1
	}
	lo = min(lo, out)
	hi = min(hi, out)
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

func isDepthwise(p tensor.ConvParams) bool { return p.Groups == p.C && p.K == p.C && p.Groups > 1 }

func isPointwise(p tensor.ConvParams) bool {
	return p.KH == 1 && p.KW == 1 && p.SH == 1 && p.SW == 1 && p.PH == 0 && p.PW == 0 &&
		p.OH == p.H && p.OW == p.W
}

// im2col unrolls x [cg][H][W] into col [cg·KH·KW][OH·OW].
func im2col(p *tensor.ConvParams, x []float32, cg int, col []float32) {
	H, W, OH, OW := p.H, p.W, p.OH, p.OW
	ohw := OH * OW
	r := 0
	for c := 0; c < cg; c++ {
		xc := x[c*H*W : (c+1)*H*W]
		for kh := 0; kh < p.KH; kh++ {
			for kw := 0; kw < p.KW; kw++ {
				row := col[r*ohw : (r+1)*ohw]
				r++
				off := kw*p.DW - p.PW
				lo, hi := validRange(off, p.SW, W, OW)
				for oh := 0; oh < OH; oh++ {
					dst := row[oh*OW : (oh+1)*OW]
					ih := oh*p.SH + kh*p.DH - p.PH
					if ih < 0 || ih >= H {
						clear(dst)
						continue
					}
					src := xc[ih*W : (ih+1)*W]
					clear(dst[:lo])
					clear(dst[hi:])
					if lo >= hi {
						continue
					}
					if p.SW == 1 {
						copy(dst[lo:hi], src[lo+off:hi+off])
					} else {
						iw := lo*p.SW + off
						for ow := lo; ow < hi; ow++ {
							dst[ow] = src[iw]
							iw += p.SW
						}
					}
				}
			}
		}
	}
}

// col2im adds col [cg·KH·KW][OH·OW] back into x [cg][H][W] (the adjoint of
// im2col); x must be zeroed by the caller.
func col2im(p *tensor.ConvParams, col []float32, cg int, x []float32) {
	H, W, OH, OW := p.H, p.W, p.OH, p.OW
	ohw := OH * OW
	r := 0
	for c := 0; c < cg; c++ {
		xc := x[c*H*W : (c+1)*H*W]
		for kh := 0; kh < p.KH; kh++ {
			for kw := 0; kw < p.KW; kw++ {
				row := col[r*ohw : (r+1)*ohw]
				r++
				off := kw*p.DW - p.PW
				lo, hi := validRange(off, p.SW, W, OW)
				if lo >= hi {
					continue
				}
				for oh := 0; oh < OH; oh++ {
					ih := oh*p.SH + kh*p.DH - p.PH
					if ih < 0 || ih >= H {
						continue
					}
					src := row[oh*OW+lo : oh*OW+hi]
					if p.SW == 1 {
						dst := xc[ih*W+lo+off : ih*W+hi+off]
						dst = dst[:len(src)]
						for i, v := range src {
							dst[i] += v
						}
					} else {
						dst := xc[ih*W : (ih+1)*W]
						iw := lo*p.SW + off
						for _, v := range src {
							dst[iw] += v
							iw += p.SW
						}
					}
				}
			}
		}
	}
}

// ConvForward computes y = conv(x, w); see tensor.Kernels.
func (be *Backend) ConvForward(p tensor.ConvParams, y, x, w tensor.Buffer) {
	ys, xs, ws := buf(y), buf(x), buf(w)
	checkConv("ConvForward", p, len(xs), len(ys), len(ws))
	if p.N == 0 {
		return
	}
	if isDepthwise(p) {
		be.dwForward(&p, ys, xs, ws)
		return
	}
	if winogradOK(&p, opForward) {
		be.winogradForward(&p, ys, xs, ws)
		return
	}
	if directConvOK(&p, opForward) {
		be.directForward(&p, ys, xs, ws)
		return
	}
	G := p.Groups
	cg, kg := p.C/G, p.K/G
	ckk := cg * p.KH * p.KW
	ohw := p.OH * p.OW
	hw := p.H * p.W
	direct := isPointwise(p)
	tasks := p.N * G
	if !direct && tasks >= be.threads {
		be.implicitConv(&p, ys, xs, ws)
		return
	}
	gt := 1
	if tasks < be.threads {
		gt = be.threads
	}
	be.parallel(tasks, 1, func(lo, hi int) {
		var col *[]float32
		if !direct {
			col = getScratch(ckk * ohw)
			defer putScratch(col)
		}
		for t := lo; t < hi; t++ {
			n, g := t/G, t%G
			xo := (n*p.C + g*cg) * hw
			b, bo := xs, xo
			if !direct {
				im2col(&p, xs[xo:xo+cg*hw], cg, *col)
				b, bo = *col, 0
			}
			gemm(false, false, 1, kg, ohw, ckk, 1, ws, g*kg*ckk, 0, b, bo, 0, 0, ys, (n*p.K+g*kg)*ohw, 0, gt)
		}
	})
}

// ConvBackwardData computes dx from dy and w; see tensor.Kernels.
func (be *Backend) ConvBackwardData(p tensor.ConvParams, dx, dy, w tensor.Buffer) {
	dxs, dys, ws := buf(dx), buf(dy), buf(w)
	checkConv("ConvBackwardData", p, len(dxs), len(dys), len(ws))
	if p.N == 0 {
		return
	}
	if isDepthwise(p) {
		be.dwBackwardData(&p, dxs, dys, ws)
		return
	}
	if winogradOK(&p, opData) {
		be.winogradBackwardData(&p, dxs, dys, ws)
		return
	}
	if directConvOK(&p, opData) {
		be.directBackwardData(&p, dxs, dys, ws)
		return
	}
	G := p.Groups
	cg, kg := p.C/G, p.K/G
	ckk := cg * p.KH * p.KW
	ohw := p.OH * p.OW
	hw := p.H * p.W
	direct := isPointwise(p)
	tasks := p.N * G
	if !direct && tasks >= be.threads && p.SH == 1 && p.SW == 1 {
		be.implicitBackwardData(&p, dxs, dys, ws)
		return
	}
	gt := 1
	if tasks < be.threads {
		gt = be.threads
	}
	be.parallel(tasks, 1, func(lo, hi int) {
		var col *[]float32
		if !direct {
			col = getScratch(ckk * ohw)
			defer putScratch(col)
		}
		for t := lo; t < hi; t++ {
			n, g := t/G, t%G
			xo := (n*p.C + g*cg) * hw
			dyo := (n*p.K + g*kg) * ohw
			if direct {
				gemm(true, false, 1, ckk, ohw, kg, 1, ws, g*kg*ckk, 0, dys, dyo, 0, 0, dxs, xo, 0, gt)
				continue
			}
			gemm(true, false, 1, ckk, ohw, kg, 1, ws, g*kg*ckk, 0, dys, dyo, 0, 0, *col, 0, 0, gt)
			d := dxs[xo : xo+cg*hw]
			clear(d)
			col2im(&p, *col, cg, d)
		}
	})
}

// ConvBackwardFilter computes dw from x and dy, summed over the batch; see
// tensor.Kernels.
func (be *Backend) ConvBackwardFilter(p tensor.ConvParams, dw, x, dy tensor.Buffer) {
	dws, xs, dys := buf(dw), buf(x), buf(dy)
	checkConv("ConvBackwardFilter", p, len(xs), len(dys), len(dws))
	G := p.Groups
	cg, kg := p.C/G, p.K/G
	ckk := cg * p.KH * p.KW
	nw := p.K * ckk
	out := dws[:nw]
	if p.N == 0 {
		clear(out)
		return
	}
	if isDepthwise(p) {
		be.dwBackwardFilter(&p, out, xs, dys)
		return
	}
	if winogradOK(&p, opFilter) {
		be.winogradBackwardFilter(&p, out, xs, dys)
		return
	}
	if directConvOK(&p, opFilter) {
		be.directBackwardFilter(&p, out, xs, dys)
		return
	}
	ohw := p.OH * p.OW
	hw := p.H * p.W
	direct := isPointwise(p)
	tasks := p.N * G
	if !direct && tasks >= be.threads {
		be.implicitBackwardFilter(&p, out, xs, dys)
		return
	}
	gt := 1
	if tasks < be.threads {
		gt = be.threads
	}
	workers := min(be.threads, tasks)
	chunk := (tasks + workers - 1) / workers
	nchunks := (tasks + chunk - 1) / chunk
	accs := make([]*[]float32, nchunks)
	var wg sync.WaitGroup
	for ci := 0; ci < nchunks; ci++ {
		lo, hi := ci*chunk, min((ci+1)*chunk, tasks)
		run := func() {
			var acc []float32
			if ci == 0 {
				acc = out
			} else {
				accs[ci] = getScratch(nw)
				acc = *accs[ci]
			}
			clear(acc)
			var col *[]float32
			if !direct {
				col = getScratch(ckk * ohw)
				defer putScratch(col)
			}
			for t := lo; t < hi; t++ {
				n, g := t/G, t%G
				xo := (n*p.C + g*cg) * hw
				dyo := (n*p.K + g*kg) * ohw
				b, bo := xs, xo
				if !direct {
					im2col(&p, xs[xo:xo+cg*hw], cg, *col)
					b, bo = *col, 0
				}
				gemm(false, true, 1, kg, ckk, ohw, 1, dys, dyo, 0, b, bo, 0, 1, acc, g*kg*ckk, 0, gt)
			}
		}
		if nchunks == 1 {
			run()
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			run()
		}()
	}
	wg.Wait()
	for ci := 1; ci < nchunks; ci++ {
		a := (*accs[ci])[:nw]
		for i, v := range a {
			out[i] += v
		}
		putScratch(accs[ci])
	}
}

// Depthwise convolutions (Groups == C == K): direct loops per (n, c) plane.

func (be *Backend) dwForward(p *tensor.ConvParams, ys, xs, ws []float32) {
	hw, ohw, kk := p.H*p.W, p.OH*p.OW, p.KH*p.KW
	be.parallel(p.N*p.C, 1, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			c := t % p.C
			x := xs[t*hw : (t+1)*hw]
			y := ys[t*ohw : (t+1)*ohw]
			w := ws[c*kk : (c+1)*kk]
			clear(y)
			for oh := 0; oh < p.OH; oh++ {
				yr := y[oh*p.OW : (oh+1)*p.OW]
				for kh := 0; kh < p.KH; kh++ {
					ih := oh*p.SH + kh*p.DH - p.PH
					if ih < 0 || ih >= p.H {
						continue
					}
					xr := x[ih*p.W : (ih+1)*p.W]
					for kw := 0; kw < p.KW; kw++ {
						wv := w[kh*p.KW+kw]
						off := kw*p.DW - p.PW
						l, h := validRange(off, p.SW, p.W, p.OW)
						if l >= h {
							continue
						}
						if p.SW == 1 {
							src := xr[l+off : h+off]
							dst := yr[l:h]
							dst = dst[:len(src)]
							for i, v := range src {
								dst[i] += wv * v
							}
						} else {
							iw := l*p.SW + off
							for ow := l; ow < h; ow++ {
								yr[ow] += wv * xr[iw]
								iw += p.SW
							}
						}
					}
				}
			}
		}
	})
}

func (be *Backend) dwBackwardData(p *tensor.ConvParams, dxs, dys, ws []float32) {
	hw, ohw, kk := p.H*p.W, p.OH*p.OW, p.KH*p.KW
	be.parallel(p.N*p.C, 1, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			c := t % p.C
			dx := dxs[t*hw : (t+1)*hw]
			dy := dys[t*ohw : (t+1)*ohw]
			w := ws[c*kk : (c+1)*kk]
			clear(dx)
			for oh := 0; oh < p.OH; oh++ {
				gr := dy[oh*p.OW : (oh+1)*p.OW]
				for kh := 0; kh < p.KH; kh++ {
					ih := oh*p.SH + kh*p.DH - p.PH
					if ih < 0 || ih >= p.H {
						continue
					}
					xr := dx[ih*p.W : (ih+1)*p.W]
					for kw := 0; kw < p.KW; kw++ {
						wv := w[kh*p.KW+kw]
						off := kw*p.DW - p.PW
						l, h := validRange(off, p.SW, p.W, p.OW)
						if l >= h {
							continue
						}
						if p.SW == 1 {
							src := gr[l:h]
							dst := xr[l+off : h+off]
							dst = dst[:len(src)]
							for i, v := range src {
								dst[i] += wv * v
							}
						} else {
							iw := l*p.SW + off
							for ow := l; ow < h; ow++ {
								xr[iw] += wv * gr[ow]
								iw += p.SW
							}
						}
					}
				}
			}
		}
	})
}

func (be *Backend) dwBackwardFilter(p *tensor.ConvParams, dws, xs, dys []float32) {
	hw, ohw, kk := p.H*p.W, p.OH*p.OW, p.KH*p.KW
	be.parallel(p.C, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			dw := dws[c*kk : (c+1)*kk]
			for k := range dw {
				kh, kw := k/p.KW, k%p.KW
				off := kw*p.DW - p.PW
				l, h := validRange(off, p.SW, p.W, p.OW)
				var acc float64
				if l < h {
					for n := 0; n < p.N; n++ {
						t := n*p.C + c
						x := xs[t*hw : (t+1)*hw]
						dy := dys[t*ohw : (t+1)*ohw]
						var s float32
						for oh := 0; oh < p.OH; oh++ {
							ih := oh*p.SH + kh*p.DH - p.PH
							if ih < 0 || ih >= p.H {
								continue
							}
							xr := x[ih*p.W : (ih+1)*p.W]
							gr := dy[oh*p.OW : (oh+1)*p.OW]
							if p.SW == 1 {
								g := gr[l:h]
								xv := xr[l+off : h+off]
								xv = xv[:len(g)]
								for i, v := range g {
									s += v * xv[i]
								}
							} else {
								iw := l*p.SW + off
								for ow := l; ow < h; ow++ {
									s += gr[ow] * xr[iw]
									iw += p.SW
								}
							}
						}
						acc += float64(s)
					}
				}
				dw[k] = float32(acc)
			}
		}
	})
}

// Implicit GEMM. The im2col matrix is never materialised: its blocks are
// written straight into the packed panel layout of the SGEMM micro-kernel
// (see sgemm.go), so each element of x is expanded once, into cache, and
// the micro-kernel consumes it from there.
//
//	forward:         y_g[Kg × OHW] = W_g[Kg × Cg·KH·KW] · col
//	backward data:   for stride 1, a forward convolution of dy with the
//	                 flipped, transposed kernel (no col2im)
//	backward filter: dW_g[Kg × KH·KW·Cg] += dy_g · colᵀ, with colᵀ packed
//	                 from a channels-last copy of x (contiguous channel runs)

// convNB is the number of GEMM columns packed per block (a multiple of every
// micro-kernel's nr): kc·convNB floats stay in L2.
const convNB = 384

// packWeights packs W_g [m × k] (row-major, rows of length k at w[wOff:])
// into micro-panels: for each kc block starting at pc, panel ir holds
// element (p, i) at out[pc·mPad + ir·kb + p·mr + i], zero-padded to mPad
// rows.
func packWeights(kn *sgemmKernel, w []float32, wOff, m, k int, out []float32) {
	mr := kn.mr
	mPad := (m + mr - 1) / mr * mr
	for pc := 0; pc < k; pc += convKC {
		kb := min(convKC, k-pc)
		for ir := 0; ir < mPad; ir += mr {
			d := out[pc*mPad+ir*kb : pc*mPad+ir*kb+kb*mr]
			for i := 0; i < mr; i++ {
				if ir+i >= m {
					for p := 0; p < kb; p++ {
						d[p*mr+i] = 0
					}
					continue
				}
				src := w[wOff+(ir+i)*k+pc : wOff+(ir+i)*k+pc+kb]
				for p, v := range src {
					d[p*mr+i] = v
				}
			}
		}
	}
}

// panelRow writes one row of a packed block of nr-column panels (kb rows
// per panel) left to right, splitting runs at panel boundaries.
type panelRow struct {
	dst    []float32
	kb, nr int
	at     int // index in dst of the next column
	left   int // columns left in the current panel
}

func newPanelRow(dst []float32, p, kb, nr int) panelRow {
	return panelRow{dst: dst, kb: kb, nr: nr, at: p * nr, left: nr}
}

// put appends src.
func (w *panelRow) put(src []float32) {
	for len(src) > 0 {
		n := min(w.left, len(src))
		copy(w.dst[w.at:w.at+n], src[:n])
		src = src[n:]
		w.advance(n)
	}
}

// zero appends n zeros.
func (w *panelRow) zero(n int) {
	for n > 0 {
		m := min(w.left, n)
		clear(w.dst[w.at : w.at+m])
		n -= m
		w.advance(m)
	}
}

func (w *panelRow) advance(n int) {
	w.at += n
	w.left -= n
	if w.left == 0 {
		w.at += (w.kb - 1) * w.nr
		w.left = w.nr
	}
}

// finish zero-pads the last panel.
func (w *panelRow) finish() {
	if w.left != w.nr {
		w.zero(w.left)
	}
}

// microTile runs the micro-kernel for one mr×nr tile of C at c[co] (row
// stride ldc) with mm×nn valid entries, through the scratch tile at edges.
func microTile(kn *sgemmKernel, kb int, a, b []float32, c []float32, co, ldc, mm, nn int, beta float32, tile []float32) {
	if mm == kn.mr && nn == kn.nr {
		_ = c[co+(mm-1)*ldc+nn-1]
		kn.fn(kb, &a[0], &b[0], &c[co], ldc, beta)
		return
	}
	nr := kn.nr
	kn.fn(kb, &a[0], &b[0], &tile[0], nr, 0)
	for i := 0; i < mm; i++ {
		crow := c[co+i*ldc : co+i*ldc+nn]
		trow := tile[i*nr : i*nr+nn]
		if beta == 0 {
			copy(crow, trow)
		} else {
			for j, t := range trow {
				crow[j] = t + beta*crow[j]
			}
		}
	}
}

// padPlanes copies the cg planes of x [cg][H][W] into xp [cg][hp][wp] with
// ph rows and pw columns of zeros before (negative: cropped) and zeros
// after, so that every receptive field lies inside xp.
func padPlanes(x []float32, cg, H, W int, xp []float32, hp, wp, ph, pw int) {
	lo, hi := max(0, pw), min(wp, W+pw) // destination columns holding x
	for c := 0; c < cg; c++ {
		xc := x[c*H*W : (c+1)*H*W]
		for r := 0; r < hp; r++ {
			d := xp[(c*hp+r)*wp : (c*hp+r+1)*wp]
			ih := r - ph
			if ih < 0 || ih >= H || lo >= hi {
				clear(d)
				continue
			}
			clear(d[:lo])
			copy(d[lo:hi], xc[ih*W+lo-pw:ih*W+hi-pw])
			clear(d[hi:])
		}
	}
}

// convScratch holds one worker's buffers for the implicit GEMM.
type convScratch struct {
	b, row, tile, xt, a []float32
}

func newConvScratch(kn *sgemmKernel, xt, a int) *convScratch {
	return &convScratch{
		b:    alignedFloats(convKC * convNB),
		row:  make([]float32, convNB),
		tile: alignedFloats(kn.mr * kn.nr),
		xt:   make([]float32, xt),
		a:    alignedFloats(a),
	}
}

// implicitForward computes y [kg × OH·OW] (at y[yOff:], row stride OH·OW)
// = W_g · im2col(x) for one (sample, group), x holding its cg planes and
// apack the packed W_g (packWeights).
func implicitForward(kn *sgemmKernel, p *tensor.ConvParams, apack, x []float32, cg, kg int, y []float32, yOff int, s *convScratch) {
	mr, nr := kn.mr, kn.nr
	mPad := (kg + mr - 1) / mr * mr
	kk := p.KH * p.KW
	ckk := cg * kk
	OW, ohw := p.OW, p.OH*p.OW
	// zero-padded copy of x: every row segment of col is then one
	// contiguous (stride 1) or strided run, without bounds logic.
	hp := (p.OH-1)*p.SH + (p.KH-1)*p.DH + 1
	wp := (p.OW-1)*p.SW + (p.KW-1)*p.DW + 1
	if len(s.xt) < cg*hp*wp {
		s.xt = make([]float32, cg*hp*wp)
	}
	xp := s.xt[:cg*hp*wp]
	padPlanes(x, cg, p.H, p.W, xp, hp, wp, p.PH, p.PW)
	// pc outer: the A block (kg × kb) stays in cache while the output
	// (kg × OH·OW of one sample) is swept block by block.
	for pc := 0; pc < ckk; pc += convKC {
		kb := min(convKC, ckk-pc)
		for jc := 0; jc < ohw; jc += convNB {
			nb := min(convNB, ohw-jc)
			for pp := 0; pp < kb; pp++ {
				r := pc + pp
				c, rem := r/kk, r%kk
				kh, kw := rem/p.KW, rem%p.KW
				w := newPanelRow(s.b, pp, kb, nr)
				base := (c*hp+kh*p.DH)*wp + kw*p.DW
				oh := jc / OW
				ow0 := jc - oh*OW
				for n := nb; n > 0; {
					ow1 := min(OW, ow0+n)
					n -= ow1 - ow0
					at := base + oh*p.SH*wp + ow0*p.SW
					if p.SW == 1 {
						w.put(xp[at : at+ow1-ow0])
					} else {
						d := s.row[:ow1-ow0]
						for i := range d {
							d[i] = xp[at]
							at += p.SW
						}
						w.put(d)
					}
					ow0 = 0
					oh++
				}
				w.finish()
			}
			beta := float32(0)
			if pc > 0 {
				beta = 1
			}
			ab := apack[pc*mPad:]
			for jr := 0; jr < nb; jr += nr {
				bp := s.b[jr*kb:]
				for ir := 0; ir < kg; ir += mr {
					microTile(kn, kb, ab[ir*kb:], bp, y, yOff+ir*ohw+jc+jr, ohw, min(mr, kg-ir), min(nr, nb-jr), beta, s.tile)
				}
			}
		}
	}
}

// implicitFilter adds dy_g · colᵀ into acc [kg × KH·KW·cg] (columns ordered
// (kh, kw, c)) for one (sample, group): xt is x's cg planes channels-last
// [H][W][cg], dy the group's kg rows of OH·OW.
func implicitFilter(kn *sgemmKernel, p *tensor.ConvParams, xt []float32, cg, kg int, dy []float32, dyOff int, acc []float32, s *convScratch) {
	mr, nr := kn.mr, kn.nr
	mPad := (kg + mr - 1) / mr * mr
	ncol := p.KH * p.KW * cg
	ohw := p.OH * p.OW
	for pc := 0; pc < ohw; pc += convKC {
		kb := min(convKC, ohw-pc)
		// pack dy_g[:, pc:pc+kb] as the A panels.
		for ir := 0; ir < mPad; ir += mr {
			d := s.a[ir*kb : ir*kb+kb*mr]
			for i := 0; i < mr; i++ {
				if ir+i >= kg {
					for q := 0; q < kb; q++ {
						d[q*mr+i] = 0
					}
					continue
				}
				src := dy[dyOff+(ir+i)*ohw+pc : dyOff+(ir+i)*ohw+pc+kb]
				for q, v := range src {
					d[q*mr+i] = v
				}
			}
		}
		for jc := 0; jc < ncol; jc += convNB {
			nb := min(convNB, ncol-jc)
			for pp := 0; pp < kb; pp++ {
				o := pc + pp
				oh, ow := o/p.OW, o%p.OW
				ih0, iw0 := oh*p.SH-p.PH, ow*p.SW-p.PW
				w := newPanelRow(s.b, pp, kb, nr)
				khkw, c0 := jc/cg, jc%cg
				kh, kw := khkw/p.KW, khkw%p.KW
				for t := jc; t < jc+nb; {
					run := min(cg-c0, jc+nb-t)
					t += run
					ih, iw := ih0+kh*p.DH, iw0+kw*p.DW
					if ih < 0 || ih >= p.H || iw < 0 || iw >= p.W {
						w.zero(run)
					} else {
						at := (ih*p.W+iw)*cg + c0
						w.put(xt[at : at+run])
					}
					c0 = 0
					if kw++; kw == p.KW {
						kw = 0
						kh++
					}
				}
				w.finish()
			}
			for jr := 0; jr < nb; jr += nr {
				bp := s.b[jr*kb:]
				for ir := 0; ir < kg; ir += mr {
					microTile(kn, kb, s.a[ir*kb:], bp, acc, ir*ncol+jc+jr, ncol, min(mr, kg-ir), min(nr, nb-jr), 1, s.tile)
				}
			}
		}
	}
}

// toChannelsLast writes x [cg][hw] as xt [hw][cg].
func toChannelsLast(x []float32, cg, hw int, xt []float32) {
	const blk = 64
	for c0 := 0; c0 < cg; c0 += blk {
		c1 := min(c0+blk, cg)
		for i0 := 0; i0 < hw; i0 += blk {
			i1 := min(i0+blk, hw)
			for c := c0; c < c1; c++ {
				src := x[c*hw+i0 : c*hw+i1]
				for i, v := range src {
					xt[(i0+i)*cg+c] = v
				}
			}
		}
	}
}

var convScratchPool sync.Pool

// getConvScratch returns worker buffers with room for xt and a floats.
func getConvScratch(kn *sgemmKernel, xt, a int) *convScratch {
	if v := convScratchPool.Get(); v != nil {
		s := v.(*convScratch)
		if len(s.b) == convKC*convNB && len(s.tile) == kn.mr*kn.nr {
			if len(s.xt) < xt {
				s.xt = make([]float32, xt)
			}
			if len(s.a) < a {
				s.a = alignedFloats(a)
			}
			return s
		}
	}
	return newConvScratch(kn, xt, a)
}

// implicitConv runs the forward convolution as an implicit GEMM, parallel
// over (sample, group).
func (be *Backend) implicitConv(p *tensor.ConvParams, ys, xs, ws []float32) {
	kn := bestKernel
	G := p.Groups
	cg, kg := p.C/G, p.K/G
	ckk := cg * p.KH * p.KW
	mPad := (kg + kn.mr - 1) / kn.mr * kn.mr
	apack := getScratch(G * mPad * ckk)
	defer putScratch(apack)
	for g := 0; g < G; g++ {
		packWeights(kn, ws, g*kg*ckk, kg, ckk, (*apack)[g*mPad*ckk:])
	}
	hw, ohw := p.H*p.W, p.OH*p.OW
	be.parallel(p.N*G, 1, func(lo, hi int) {
		s := getConvScratch(kn, 0, 0)
		defer convScratchPool.Put(s)
		for t := lo; t < hi; t++ {
			n, g := t/G, t%G
			xo := (n*p.C + g*cg) * hw
			implicitForward(kn, p, (*apack)[g*mPad*ckk:], xs[xo:xo+cg*hw], cg, kg, ys, (n*p.K+g*kg)*ohw, s)
		}
	})
}

// implicitBackwardData computes dx for a stride-1 convolution as the forward
// convolution of dy with the kernel flipped in space and transposed in
// channels: padding d(k-1)-p before each axis, output size H×W.
func (be *Backend) implicitBackwardData(p *tensor.ConvParams, dxs, dys, ws []float32) {
	G := p.Groups
	cg, kg := p.C/G, p.K/G
	kk := p.KH * p.KW
	wf := getScratch(len(ws[:p.K*cg*kk]))
	defer putScratch(wf)
	for g := 0; g < G; g++ {
		for k := 0; k < kg; k++ {
			for c := 0; c < cg; c++ {
				src := ws[((g*kg+k)*cg+c)*kk : ((g*kg+k)*cg+c+1)*kk]
				dst := (*wf)[((g*cg+c)*kg+k)*kk : ((g*cg+c)*kg+k+1)*kk]
				for i, v := range src {
					dst[kk-1-i] = v
				}
			}
		}
	}
	q := tensor.ConvParams{N: p.N, C: p.K, H: p.OH, W: p.OW, K: p.C, Groups: G,
		KH: p.KH, KW: p.KW, SH: 1, SW: 1, DH: p.DH, DW: p.DW,
		PH: p.DH*(p.KH-1) - p.PH, PW: p.DW*(p.KW-1) - p.PW, OH: p.H, OW: p.W}
	be.implicitConv(&q, dxs, dys, *wf)
}

// implicitBackwardFilter computes dw as an implicit GEMM over a
// channels-last copy of x, each worker accumulating its samples into a
// private [K × KH·KW·Cg] buffer; the buffers are then summed and permuted
// into dw's [K][Cg][KH][KW] layout.
func (be *Backend) implicitBackwardFilter(p *tensor.ConvParams, dw, xs, dys []float32) {
	kn := bestKernel
	G := p.Groups
	cg, kg := p.C/G, p.K/G
	kk := p.KH * p.KW
	ncol := kk * cg
	hw, ohw := p.H*p.W, p.OH*p.OW
	mPad := (kg + kn.mr - 1) / kn.mr * kn.mr
	tasks := p.N * G
	workers := min(be.threads, tasks)
	chunk := (tasks + workers - 1) / workers
	nchunks := (tasks + chunk - 1) / chunk
	accs := make([]*[]float32, nchunks)
	var wg sync.WaitGroup
	for ci := 0; ci < nchunks; ci++ {
		wg.Add(1)
		go func(ci int) {
			defer wg.Done()
			acc := getScratch(p.K * ncol)
			clear(*acc)
			accs[ci] = acc
			s := getConvScratch(kn, cg*hw, mPad*convKC)
			defer convScratchPool.Put(s)
			for t := ci * chunk; t < min((ci+1)*chunk, tasks); t++ {
				n, g := t/G, t%G
				xo := (n*p.C + g*cg) * hw
				toChannelsLast(xs[xo:xo+cg*hw], cg, hw, s.xt)
				implicitFilter(kn, p, s.xt[:cg*hw], cg, kg, dys, (n*p.K+g*kg)*ohw, (*acc)[g*kg*ncol:], s)
			}
		}(ci)
	}
	wg.Wait()
	for ci := 1; ci < nchunks; ci++ {
		a, b := *accs[0], *accs[ci]
		for i := range a[:p.K*ncol] {
			a[i] += b[i]
		}
		putScratch(accs[ci])
	}
	a := *accs[0]
	for k := 0; k < p.K; k++ {
		for r := 0; r < kk; r++ {
			src := a[k*ncol+r*cg : k*ncol+(r+1)*cg]
			for c, v := range src {
				dw[(k*cg+c)*kk+r] = v
			}
		}
	}
	putScratch(accs[0])
}

// convKC is the depth (GEMM k) of the packed blocks of the implicit GEMM;
// kc·nr of B plus kc·mr of A fit the micro-kernel's L1 working set.
const convKC = 256
