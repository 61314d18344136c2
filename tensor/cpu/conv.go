package cpu

import (
	"fmt"
	"sync"

	"github.com/dash-go/dash/tensor"
)

// Convolutions on the CPU.
//
// General convolutions use im2col + GEMM: for every (sample, group) the
// receptive fields are unrolled into a column matrix col [Cg·KH·KW][OH·OW]
// and
//
//	forward:         y_g  = W_g · col                 (W_g [Kg][Cg·KH·KW])
//	backward data:   dcol = W_gᵀ · dy_g, dx = col2im(dcol)
//	backward filter: dW_g += dy_g · colᵀ  (summed over the batch)
//
// The (sample, group) tasks run in parallel, each worker reusing a scratch
// column buffer from a sync.Pool; the GEMM itself then runs single-threaded.
// 1×1 stride-1 unpadded convolutions use the input as col directly.
// Depthwise convolutions (Groups == C == K) use direct loops, which avoid the
// tiny GEMMs im2col would produce.

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
	G := p.Groups
	cg, kg := p.C/G, p.K/G
	ckk := cg * p.KH * p.KW
	ohw := p.OH * p.OW
	hw := p.H * p.W
	direct := isPointwise(p)
	tasks := p.N * G
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
	G := p.Groups
	cg, kg := p.C/G, p.K/G
	ckk := cg * p.KH * p.KW
	ohw := p.OH * p.OW
	hw := p.H * p.W
	direct := isPointwise(p)
	tasks := p.N * G
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
	ohw := p.OH * p.OW
	hw := p.H * p.W
	direct := isPointwise(p)
	tasks := p.N * G
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
